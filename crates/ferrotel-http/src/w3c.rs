//! Strict W3C parsing of incoming propagation headers, before the propagator sees them.
//!
//! The upstream `TraceContextPropagator` pads short ids (a 30-hex-digit trace id is accepted as
//! a parent), so the middleware checks each header against W3C Trace Context level 2 and W3C
//! Baggage first and hides one that fails: the request then starts a new trace (an invalid
//! `traceparent`) or carries no vendor state or baggage, as the specifications require.
//!
//! [`extract_context`] applies the same checks to a header map from a transport the middleware
//! does not cover (a WebSocket upgrade handled by hand, a message whose metadata is kept as
//! HTTP headers); the validators are public for other carriers.
//!
//! ```
//! use ferrotel_http::w3c;
//! use opentelemetry::trace::TraceContextExt as _;
//!
//! opentelemetry::global::set_text_map_propagator(
//!     opentelemetry_sdk::propagation::TraceContextPropagator::new(),
//! );
//! let mut headers = http::HeaderMap::new();
//! // A 30-hex-digit trace id: the upstream propagator would pad it and accept it.
//! headers.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01".parse().unwrap(),
//! );
//! assert!(!w3c::extract_context(&headers).span().span_context().is_valid());
//! assert!(!w3c::valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01"));
//! ```

use crate::headers::HeaderExtractor;

/// The remote context in `headers`, extracted with the global propagator after the strict
/// checks of this module: a `traceparent`, `tracestate` or `baggage` header that fails them is
/// hidden from the propagator, as in the middleware.
pub fn extract_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// `traceparent`: `version-traceid-parentid-flags`, lowercase hex. Version `ff` is invalid;
/// version `00` is exactly 55 characters; a later version may append `-...` fields, which are
/// ignored. All-zero trace or parent ids are invalid.
pub fn valid_traceparent(value: &str) -> bool {
    ferrotel_tracing::propagation::parse_traceparent(value).is_some()
}

/// `tracestate`: at most 32 list members, each `key=value` of the level-2 grammar, no duplicate
/// keys. Empty members (`a=1,,b=2`) are allowed and ignored.
pub fn valid_tracestate(value: &str) -> bool {
    let mut keys: Vec<&str> = Vec::new();
    for member in value.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let Some((key, val)) = member.split_once('=') else {
            return false;
        };
        if !valid_tracestate_key(key) || !valid_tracestate_value(val) || keys.contains(&key) {
            return false;
        }
        keys.push(key);
        if keys.len() > 32 {
            return false;
        }
    }
    true
}

fn key_char(c: u8) -> bool {
    matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
}

fn valid_tracestate_key(key: &str) -> bool {
    let b = key.as_bytes();
    match key.split_once('@') {
        None => {
            // simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
            !b.is_empty()
                && b.len() <= 256
                && b[0].is_ascii_lowercase()
                && b.iter().all(|&c| key_char(c))
        }
        Some((tenant, system)) => {
            // tenant-id "@" system-id: 1-241 and 1-14 characters
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            !t.is_empty()
                && t.len() <= 241
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && t.iter().all(|&c| key_char(c))
                && !s.is_empty()
                && s.len() <= 14
                && s[0].is_ascii_lowercase()
                && s.iter().all(|&c| key_char(c))
        }
    }
}

fn valid_tracestate_value(value: &str) -> bool {
    // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
    let b = value.as_bytes();
    let nblk = |c: u8| matches!(c, 0x21..=0x2B | 0x2D..=0x3C | 0x3E..=0x7E);
    match b.last() {
        Some(&last) => b.len() <= 256 && nblk(last) && b.iter().all(|&c| c == b' ' || nblk(c)),
        None => false,
    }
}

/// `baggage`: within the W3C Baggage limits, at most 64 list members and 8192 bytes. A header
/// over them is ignored whole (the specification lets a receiver drop it), so a hostile client
/// cannot make every request carry kilobytes of entries.
pub fn baggage_within_limits(value: &str) -> bool {
    value.len() <= 8192 && value.split(',').filter(|m| !m.trim().is_empty()).count() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparent_follows_trace_context_level_2() {
        assert!(valid_traceparent(VALID));
        assert!(valid_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        ));
        // A future version with an extra field is accepted (its known fields are used).
        assert!(valid_traceparent(
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
        ));
        for bad in [
            // the cases the hostile test found: short ids the upstream parser pads
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            // uppercase hex, non-hex, wrong separators
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            // all-zero ids, the forbidden version, a version-00 suffix, short and empty values
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
            "",
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(!valid_traceparent(bad), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn tracestate_follows_the_level_2_grammar_and_limits() {
        assert!(valid_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
        assert!(valid_tracestate("fw529a3039@dt=1,a=b c"));
        assert!(valid_tracestate("a=1,, b=2 ,\tc=3"));
        assert!(valid_tracestate(""));
        let thirty_two: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert!(valid_tracestate(&thirty_two.join(",")));
        let thirty_three: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        for bad in [
            thirty_three.join(","),
            "Upper=1".into(),
            "1starts-with-digit=1".into(),
            "a=1,a=2".into(),
            "novalue".into(),
            "a=".into(),
            "a=tab\tinside".into(),
            "a=has,comma".into(),
            "a=has=equals".into(),
            format!("{}=1", "k".repeat(257)),
            format!("a={}", "v".repeat(257)),
            "tenant@toolongsystemid=1".into(),
            "@system=1".into(),
        ] {
            assert!(!valid_tracestate(&bad), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn baggage_over_the_w3c_limits_is_ignored() {
        assert!(baggage_within_limits("userId=alice,serverNode=DF%2028"));
        let many: Vec<String> = (0..65).map(|i| format!("k{i}=v")).collect();
        assert!(!baggage_within_limits(&many.join(",")));
        assert!(!baggage_within_limits(&format!("k={}", "v".repeat(8200))));
    }
}

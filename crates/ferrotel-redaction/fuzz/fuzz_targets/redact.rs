//! Fuzzes the redaction engine: arbitrary (possibly non-UTF-8-derived) text
//! through `redact`, attribute and log-value redaction, under default, HMAC
//! and user-rule configurations. Invariants: no panic, output is UTF-8 (by
//! type), redaction is idempotent, a second pass finds nothing new, and the
//! prefilter never changes the output (same result with it off).

#![no_main]

use ferrotel_redaction::{Redactor, Replacement, Rule};
use libfuzzer_sys::fuzz_target;
use opentelemetry::logs::AnyValue;
use std::borrow::Cow;
use std::sync::OnceLock;

/// The default rules with the prefilter off: every rule runs on every value.
fn unfiltered() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        Redactor::builder()
            .prefilter(false)
            .build()
            .expect("unfiltered redactor")
    })
}

fn redactors() -> &'static [Redactor; 3] {
    static R: OnceLock<[Redactor; 3]> = OnceLock::new();
    R.get_or_init(|| {
        [
            Redactor::default(),
            Redactor::builder()
                .replacement(Replacement::hmac(b"fuzz-key-0123456789abcdef"))
                .build()
                .expect("hmac redactor"),
            Redactor::builder()
                .rule(Rule::new("user", r"(?-u)[\x80-\xff]{2}"))
                .rule(Rule::new("digits", r"([0-9]{3})-[0-9]{2}").keywords(["-"]))
                .replacement(Replacement::custom("<{kind}>"))
                .build()
                .expect("user-rule redactor"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let redactor = &redactors()[selector as usize % 3];
    let once = redactor.redact(&text);
    assert!(std::str::from_utf8(once.as_bytes()).is_ok());
    if selector % 3 == 0 {
        let reference = unfiltered().redact(&text);
        assert_eq!(
            once, reference,
            "the prefilter changed the output of {text:?}"
        );
        // Default labels are stable: redacting the output again changes nothing.
        let twice = redactor.redact(&once);
        assert!(
            matches!(twice, Cow::Borrowed(_)),
            "not idempotent: {text:?} -> {once:?} -> {twice:?}"
        );
    }
    let key = text.get(..text.len().min(24)).unwrap_or("k");
    let _ = redactor.redact_value(key, &opentelemetry::Value::from(text.to_string()));
    let nested = AnyValue::ListAny(Box::new(vec![AnyValue::from(text.to_string())]));
    let _ = redactor.redact_any_value(Some(key), &nested);
});

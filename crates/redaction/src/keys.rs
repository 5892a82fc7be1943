//! By-key matching: attribute keys whose whole value is a secret.
//!
//! A key matches a name pattern when, compared ASCII-case-insensitively with
//! `.`, `-` and `_` treated as the same separator, the key equals the pattern
//! or ends with it right after a separator: the pattern `api_key` matches
//! `api_key`, `X-API-Key`, `openai.api_key` and
//! `http.request.header.x-api-key`, but not `api_keys` or `api_key_id`.
//! The check runs for every attribute, so a 256-bit filter on the last key
//! segment (length, last byte) rejects almost all keys before any comparison.

/// Default sensitive attribute-key patterns (see the module docs for matching).
pub const DEFAULT_SENSITIVE_KEYS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api_key",
    "apikey",
    "api_token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secret_key",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "session_token",
    "access_key",
    "private_key",
    "credentials",
    "credential",
    "jwt",
    "http.request.header.authorization",
    "http.request.header.cookie",
    "http.response.header.set-cookie",
];

fn is_sep(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b'_')
}

fn norm(b: u8) -> u8 {
    if is_sep(b) {
        b'_'
    } else {
        b.to_ascii_lowercase()
    }
}

/// Bucket of a last segment in the 256-bit filter.
fn bucket(last_segment: &[u8]) -> usize {
    let last = last_segment.last().map_or(0, |b| b.to_ascii_lowercase());
    (last as usize)
        .wrapping_mul(31)
        .wrapping_add(last_segment.len())
        & 0xff
}

fn last_segment(key: &[u8]) -> &[u8] {
    match key.iter().rposition(|b| is_sep(*b)) {
        Some(i) => &key[i + 1..],
        None => key,
    }
}

/// Compiled by-key matcher.
#[derive(Debug, Clone)]
pub(crate) struct KeyMatcher {
    /// Normalised patterns (lowercase, `_` separators).
    names: Vec<Box<[u8]>>,
    filter: [u64; 4],
    regexes: Vec<regex::Regex>,
    allow: Vec<Box<str>>,
}

impl KeyMatcher {
    pub(crate) fn new(names: &[String], regexes: Vec<regex::Regex>, allow: Vec<String>) -> Self {
        let mut filter = [0u64; 4];
        let names: Vec<Box<[u8]>> = names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| n.bytes().map(norm).collect::<Box<[u8]>>())
            .collect();
        for n in &names {
            let b = bucket(last_segment(n));
            filter[b / 64] |= 1 << (b % 64);
        }
        Self {
            names,
            filter,
            regexes,
            allow: allow.into_iter().map(String::into_boxed_str).collect(),
        }
    }

    /// True when the key is on the allow-list: its values are never redacted.
    pub(crate) fn is_allowed(&self, key: &str) -> bool {
        !self.allow.is_empty() && self.allow.iter().any(|a| a.eq_ignore_ascii_case(key))
    }

    /// True when the whole value of `key` must be redacted.
    pub(crate) fn is_sensitive(&self, key: &str) -> bool {
        let k = key.as_bytes();
        let b = bucket(last_segment(k));
        if self.filter[b / 64] & (1 << (b % 64)) != 0
            && self.names.iter().any(|n| suffix_match(k, n))
        {
            return true;
        }
        self.regexes.iter().any(|r| r.is_match(key))
    }
}

fn suffix_match(key: &[u8], pattern: &[u8]) -> bool {
    if key.len() < pattern.len() {
        return false;
    }
    let start = key.len() - pattern.len();
    if start > 0 && !is_sep(key[start - 1]) {
        return false;
    }
    key[start..]
        .iter()
        .zip(pattern)
        .all(|(a, b)| norm(*a) == *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> KeyMatcher {
        let names: Vec<String> = DEFAULT_SENSITIVE_KEYS
            .iter()
            .map(|s| s.to_string())
            .collect();
        KeyMatcher::new(&names, Vec::new(), vec!["auth.token_type".into()])
    }

    #[test]
    fn sensitive_keys_match_on_segment_suffix() {
        let m = matcher();
        for key in [
            "authorization",
            "Authorization",
            "http.request.header.authorization",
            "http.request.header.x-api-key",
            "X-API-Key",
            "openai.api_key",
            "db.password",
            "DB_PASSWORD",
            "oauth.client_secret",
            "github.token",
            "next_page_token",
            "http.response.header.set-cookie",
            "aws.secret_key",
        ] {
            assert!(m.is_sensitive(key), "{key} should be sensitive");
        }
    }

    #[test]
    fn ordinary_keys_do_not_match() {
        let m = matcher();
        for key in [
            "http.request.method",
            "http.route",
            "url.full",
            "gen_ai.usage.input_tokens",
            "token_count",
            "api_keys",
            "secretary",
            "cache.key",
            "k8s.secret.name",
            "passwordless",
            "",
        ] {
            assert!(!m.is_sensitive(key), "{key} should not be sensitive");
        }
    }

    #[test]
    fn allow_list_is_case_insensitive() {
        let m = matcher();
        assert!(m.is_allowed("AUTH.TOKEN_TYPE"));
        assert!(!m.is_allowed("auth.token"));
    }
}

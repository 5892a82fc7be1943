//! By-key matching: attribute keys whose whole value is a secret.
//!
//! A key matches a name pattern when, compared ASCII-case-insensitively with
//! `.`, `-` and `_` treated as the same separator, the key equals the pattern
//! or ends with it right after a separator: the pattern `api_key` matches
//! `api_key`, `X-API-Key`, `openai.api_key` and
//! `http.request.header.x-api-key`, but not `api_keys` or `api_key_id`.
//! The check runs for every attribute, so a 4096-bit filter on the key's last
//! three bytes (normalised) rejects almost all keys in a few instructions, and
//! only the patterns ending with the same three bytes are compared.

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

/// The last three bytes of a key or pattern, normalised and packed: a key can
/// only match patterns that end with the same three bytes.
fn tail(key: &[u8]) -> Option<u32> {
    match key {
        [.., a, b, c] => Some(u32::from_le_bytes([norm(*a), norm(*b), norm(*c), 0])),
        _ => None,
    }
}

/// Bit of a tail in the 4096-bit filter.
fn bucket(tail: u32) -> usize {
    (tail.wrapping_mul(0x9E37_79B1) >> 20) as usize
}

/// Compiled by-key matcher.
#[derive(Debug, Clone)]
pub(crate) struct KeyMatcher {
    /// Normalised patterns (lowercase, `_` separators).
    names: Vec<Box<[u8]>>,
    /// Indexes into `names` by pattern tail.
    by_tail: Vec<(u32, Vec<usize>)>,
    /// Patterns shorter than three bytes (checked against every key).
    short: Vec<usize>,
    /// Bit [`bucket`] set for every pattern tail.
    filter: Box<[u64; 64]>,
    regexes: Vec<regex::Regex>,
    allow: Vec<Box<str>>,
}

impl KeyMatcher {
    pub(crate) fn new(names: &[String], regexes: Vec<regex::Regex>, allow: Vec<String>) -> Self {
        let names: Vec<Box<[u8]>> = names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| n.bytes().map(norm).collect::<Box<[u8]>>())
            .collect();
        let mut filter = Box::new([0u64; 64]);
        let mut by_tail: Vec<(u32, Vec<usize>)> = Vec::new();
        let mut short = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let Some(t) = tail(n) else {
                short.push(i);
                continue;
            };
            let b = bucket(t);
            filter[b / 64] |= 1 << (b % 64);
            match by_tail.iter_mut().find(|(x, _)| *x == t) {
                Some((_, v)) => v.push(i),
                None => by_tail.push((t, vec![i])),
            }
        }
        Self {
            names,
            by_tail,
            short,
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
        let matches = |i: &usize| suffix_match(k, &self.names[*i]);
        if let Some(t) = tail(k) {
            let b = bucket(t);
            if self.filter[b / 64] & (1 << (b % 64)) != 0
                && let Some((_, candidates)) = self.by_tail.iter().find(|(x, _)| *x == t)
                && candidates.iter().any(matches)
            {
                return true;
            }
        }
        self.short.iter().any(matches) || self.regexes.iter().any(|r| r.is_match(key))
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
    fn short_patterns_and_keys() {
        let names: Vec<String> = ["id", "pin"].iter().map(|s| s.to_string()).collect();
        let m = KeyMatcher::new(&names, Vec::new(), Vec::new());
        for key in ["id", "ID", "user.id", "x-pin", "card_PIN", "pin"] {
            assert!(m.is_sensitive(key), "{key} should be sensitive");
        }
        for key in ["i", "", "uid", "spin", "pins", "user.ids"] {
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

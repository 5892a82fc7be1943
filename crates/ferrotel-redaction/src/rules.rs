//! The built-in by-value rules: triggers for the prefilter, a pattern, and an
//! optional validator that rejects look-alikes the pattern alone cannot.
//!
//! Conventions shared with user rules:
//! - patterns run on bytes; built-ins use `(?-u)` (ASCII classes) because every
//!   secret format here is ASCII, which keeps the compiled automata small;
//! - the redacted span is the first capture group that participated in the
//!   match, or the whole match if the pattern has no capture group, so a rule
//!   can keep context (`password=` stays, the value goes);
//! - a rule runs only when one of its triggers occurs in the value (see
//!   [`Trigger`]); every match of its pattern must contain one. Literal
//!   triggers of built-ins are exact-case (so the prefilter can use SIMD):
//!   list every spelling the pattern accepts (`Bearer`, `bearer`, `BEARER`).
//!   Case-insensitive patterns are keyed by [`Trigger::Key`] words, which the
//!   pattern must require right before `[ \t]*`, an optional quote, and `:`
//!   or `=`.

use crate::kinds;
use crate::prefilter::Trigger;
use base64::Engine as _;
use memchr::memmem;

/// Checks a candidate match: `whole` is the full regex match, `secret` the span
/// that would be redacted. Returns false for look-alikes.
pub(crate) type Validator = fn(whole: &[u8], secret: &[u8]) -> bool;

/// How a built-in rule finds candidates.
pub(crate) enum BuiltinMatcher {
    /// A `regex::bytes` pattern.
    Regex(&'static str),
    /// PEM private key blocks, found with a linear scan (see [`PemMatcher`]).
    Pem,
}

/// A built-in rule before compilation.
pub(crate) struct BuiltinRule {
    pub(crate) kind: &'static str,
    pub(crate) triggers: Vec<Trigger>,
    pub(crate) matcher: BuiltinMatcher,
    pub(crate) validate: Option<Validator>,
    /// A fixed replacement mandated by the semantic conventions, used whatever
    /// the configured replacement style.
    pub(crate) literal: Option<&'static str>,
}

/// Exact-case literal triggers.
fn literals(words: &[&'static str]) -> Vec<Trigger> {
    words
        .iter()
        .map(|w| Trigger::Literal((*w).into()))
        .collect()
}

/// Key-word triggers (case-insensitive, right before `:` or `=`).
fn keys(words: &[&'static str]) -> Vec<Trigger> {
    words.iter().map(|w| Trigger::Key(w)).collect()
}

fn regex(kind: &'static str, triggers: &[&'static str], pattern: &'static str) -> BuiltinRule {
    BuiltinRule {
        kind,
        triggers: literals(triggers),
        matcher: BuiltinMatcher::Regex(pattern),
        validate: None,
        literal: None,
    }
}

/// Built-in rules in priority order: when two rules redact the same span, the
/// earlier one names it.
pub(crate) fn builtin_rules() -> Vec<BuiltinRule> {
    vec![
        BuiltinRule {
            kind: kinds::PRIVATE_KEY,
            triggers: literals(&["PRIVATE KEY"]),
            matcher: BuiltinMatcher::Pem,
            validate: None,
            literal: None,
        },
        regex(
            kinds::JWT,
            &["eyJ"],
            r"(?-u)\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        ),
        regex(
            kinds::ANTHROPIC_API_KEY,
            &["sk-ant-"],
            r"(?-u)\bsk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{20,}",
        ),
        regex(
            kinds::OPENAI_API_KEY,
            &["T3BlbkFJ", "sk-proj-", "sk-svcacct-", "sk-admin-"],
            r"(?-u)\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{0,200}T3BlbkFJ[A-Za-z0-9_-]{8,})",
        ),
        regex(
            kinds::GITHUB_TOKEN,
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
            r"(?-u)\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{50,255})\b",
        ),
        regex(
            kinds::GITLAB_TOKEN,
            &[
                "glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-", "glimt-",
                "gloas-", "glagent-",
            ],
            r"(?-u)\bgl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|oas|agent)-[A-Za-z0-9_-]{20,}",
        ),
        regex(
            kinds::SLACK_WEBHOOK,
            &["hooks.slack.com"],
            r"(?-u)hooks\.slack\.com/((?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,})",
        ),
        regex(
            kinds::SLACK_TOKEN,
            &["xox", "xapp-"],
            r"(?-u)\b(?:xox[abposre](?:\.xox[a-z])?-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})",
        ),
        regex(
            kinds::STRIPE_KEY,
            &["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"],
            r"(?-u)\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9+/=]{24,})",
        ),
        regex(
            kinds::AWS_ACCESS_KEY_ID,
            &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
            r"(?-u)\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
        ),
        // Keys may end in `-`, where `\b` does not hold; a capture group plus an
        // explicit delimiter keeps the fixed length honest.
        regex(
            kinds::GOOGLE_API_KEY,
            &["AIza"],
            r"(?-u)\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
        ),
        regex(kinds::NPM_TOKEN, &["npm_"], r"(?-u)\bnpm_[A-Za-z0-9]{36}\b"),
        regex(
            kinds::PYPI_TOKEN,
            &["pypi-AgEIcHlwaS5vcmc"],
            r"(?-u)\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
        ),
        regex(
            kinds::HUGGINGFACE_TOKEN,
            &["hf_"],
            r"(?-u)\bhf_[A-Za-z0-9]{34}\b",
        ),
        regex(
            kinds::SENDGRID_API_KEY,
            &["SG."],
            r"(?-u)\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)",
        ),
        BuiltinRule {
            kind: kinds::URL_CREDENTIALS,
            triggers: vec![Trigger::UrlUserinfo],
            // userinfo with a colon; greedy so a `@` inside the password is covered.
            matcher: BuiltinMatcher::Regex(r#"(?-u)://([^\s/?#@:"'<>\\]*:[^\s/?#"'<>\\]*)@"#),
            validate: None,
            literal: Some("REDACTED:REDACTED"),
        },
        BuiltinRule {
            kind: kinds::URL_QUERY_SECRET,
            // Key words: each parameter name ends with one, right before `=`.
            triggers: keys(&[
                "signature",
                "sig",
                "x-amz-credential",
                "x-amz-security-token",
                "awsaccesskeyid",
            ]),
            matcher: BuiltinMatcher::Regex(
                r#"(?i-u)[?&;](?:x-amz-signature|x-amz-credential|x-amz-security-token|awsaccesskeyid|signature|sig|x-goog-signature)=([^&#\s"'<>\\]+)"#,
            ),
            validate: None,
            literal: Some("REDACTED"),
        },
        BuiltinRule {
            kind: kinds::BASIC_AUTH,
            triggers: literals(&["Basic", "basic", "BASIC"]),
            matcher: BuiltinMatcher::Regex(
                r"(?-u)\b(?:Basic|basic|BASIC)[ \t]+([A-Za-z0-9+/]{6,}={0,2})",
            ),
            validate: Some(is_basic_credential),
            literal: None,
        },
        BuiltinRule {
            kind: kinds::BEARER_TOKEN,
            triggers: literals(&["Bearer", "bearer", "BEARER"]),
            matcher: BuiltinMatcher::Regex(
                r"(?-u)\b(?:Bearer|bearer|BEARER)[ \t]+([A-Za-z0-9._~+/-]+=*)",
            ),
            validate: Some(is_token_like),
            literal: None,
        },
        BuiltinRule {
            kind: kinds::AUTHORIZATION,
            triggers: keys(&["authorization"]),
            // Only registered auth schemes are skipped before the value, so a
            // bare token followed by a word is not mistaken for a scheme.
            matcher: BuiltinMatcher::Regex(
                r#"(?i-u)\b(?:proxy-)?authorization(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key|aws4-hmac-sha256|hoba|mutual|vapid|dpop|oauth|mac|sso|scram-sha-1|scram-sha-256)[ \t]+)?([^\s"'\\,;&]+)"#,
            ),
            validate: Some(is_token_like),
            literal: None,
        },
        BuiltinRule {
            kind: kinds::CREDENTIAL_PAIR,
            triggers: keys(&[
                "password",
                "passwd",
                "passphrase",
                "secret",
                "token",
                "apikey",
                "api_key",
                "api-key",
                "access_key",
                "access-key",
                "accesskey",
                "private_key",
                "private-key",
                "privatekey",
                "credential",
                "credentials",
                "signature",
            ]),
            // The key must END with the keyword (`access_token=` yes,
            // `max_tokens=` and `token_count=` no). Values: "json string",
            // 'single quoted', \"escaped json\", or a bare run up to a delimiter.
            matcher: BuiltinMatcher::Regex(
                r#"(?i-u)(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|signature)(?:\\?["'])?[ \t]*[:=][ \t]*(?:"((?:[^"\\\r\n]|\\[^\r\n])*)"|'([^'\r\n]*)'|\\"((?:[^"\\]|\\[^"])*)\\"|([^\s&;,"'\\<>]+))"#,
            ),
            validate: Some(is_credential_value),
            literal: None,
        },
        BuiltinRule {
            kind: kinds::USERNAME,
            // Exact case (`/api/users/` must not trigger the rule); Windows
            // profiles are found after the drive letter's `:`.
            triggers: {
                let mut t = literals(&["/home/", "/Users/"]);
                t.push(Trigger::WindowsProfile);
                t
            },
            // Unix homes only after a delimiter (so `/api/home/x/` and
            // `https://site/home/x/` stay), Windows profiles after a drive
            // letter; the user must be followed by a separator.
            matcher: BuiltinMatcher::Regex(
                r#"(?-u)(?:^|[\s"'=:(\[,<>]|\\[nrt]|file://)(?:/home|/Users)/([^/\\\s"'<>:*?|]+)[/\\]|\b[A-Za-z]:(?:\\\\|\\|/)(?:Users|users|USERS)(?:\\\\|\\|/)([^/\\\r\n\t"'<>:*?|]+)(?:\\|/)"#,
            ),
            validate: Some(is_personal_user),
            literal: None,
        },
    ]
}

/// `Bearer`/`Authorization` values: real tokens have a digit or a token
/// punctuation character, or are long; English words after "bearer" are not.
fn is_token_like(_whole: &[u8], secret: &[u8]) -> bool {
    if secret.len() < 8 {
        return false;
    }
    secret.len() >= 20
        || secret.iter().any(|b| {
            b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
        })
}

/// `Basic` credentials are base64("user:password"): decode and require a colon
/// and printable text, which English words after "basic" essentially never give.
fn is_basic_credential(_whole: &[u8], secret: &[u8]) -> bool {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(secret));
    match decoded {
        Ok(bytes) => {
            bytes.contains(&b':') && bytes.iter().all(|b| (0x20..0x7f).contains(b) || *b >= 0x80)
        }
        Err(_) => false,
    }
}

/// Values of `password=` style pairs: JSON literals are not secrets.
fn is_credential_value(_whole: &[u8], secret: &[u8]) -> bool {
    !secret.is_empty()
        && ![&b"null"[..], b"true", b"false", b"none", b"undefined"]
            .iter()
            .any(|literal| secret.eq_ignore_ascii_case(literal))
}

/// Shared, non-personal profile directories stay readable.
fn is_personal_user(_whole: &[u8], secret: &[u8]) -> bool {
    const SHARED: &[&[u8]] = &[
        b"Shared",
        b"Public",
        b"Default",
        b"Default User",
        b"All Users",
    ];
    !SHARED.iter().any(|s| secret.eq_ignore_ascii_case(s))
}

/// Finds PEM private key blocks in linear time.
///
/// A lazy regex (`BEGIN.*?END`) would rescan to the end of the value for every
/// header that has no footer, which is quadratic on adversarial input. Here the
/// next footer position is cached and only recomputed once the scan passes it,
/// so every byte is examined a bounded number of times. A block without footer
/// (truncated log line) is redacted up to the end of its base64 body.
pub(crate) struct PemMatcher {
    header: regex::bytes::Regex,
    footer_tail: regex::bytes::Regex,
    end: memmem::Finder<'static>,
}

impl PemMatcher {
    pub(crate) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            header: regex::bytes::Regex::new(
                r"(?-u)-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----",
            )?,
            footer_tail: regex::bytes::Regex::new(
                r"(?-u)\A[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----",
            )?,
            end: memmem::Finder::new(b"-----END").into_owned(),
        })
    }

    /// Calls `found(start, end)` for every block, in order.
    pub(crate) fn find_all(&self, text: &[u8], mut found: impl FnMut(usize, usize)) {
        let mut at = 0;
        // Cached position of the next "-----END" at or after `at` (None: none left).
        let mut next_end: Option<Option<usize>> = None;
        while let Some(h) = self.header.find_at(text, at) {
            let body = h.end();
            let cached = match next_end {
                Some(Some(e)) if e >= body => Some(e),
                Some(None) => None,
                _ => {
                    let e = self.end.find(&text[body..]).map(|i| body + i);
                    next_end = Some(e);
                    e
                }
            };
            let block_end = match cached {
                Some(e) => match self.footer_tail.find(&text[e + 8..]) {
                    Some(tail) => e + 8 + tail.end(),
                    // A different footer (certificate, ...): stop before it.
                    None => e,
                },
                None => {
                    body + text[body..]
                        .iter()
                        .position(|b| !(b.is_ascii_alphanumeric() || b"+/=\\ \t\r\n".contains(b)))
                        .unwrap_or(text.len() - body)
                }
            };
            found(h.start(), block_end);
            at = block_end.max(h.end());
        }
    }
}

/// A regex equivalent of the PEM matcher (lazy, hence quadratic on hostile
/// input: only for documentation and comparison).
const PEM_EQUIVALENT: &str = r"(?-u)-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(?s:.)*?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----";

/// The built-in by-value rules as `(kind, regex pattern)`, in priority order.
///
/// For documentation and for comparisons (the benchmarks' naive baseline runs
/// every one of these on every value); the engine itself adds the keyword
/// prefilter, validators and a linear PEM scanner on top.
pub fn builtin_patterns() -> Vec<(&'static str, &'static str)> {
    builtin_rules()
        .into_iter()
        .map(|r| match r.matcher {
            BuiltinMatcher::Regex(p) => (r.kind, p),
            BuiltinMatcher::Pem => (r.kind, PEM_EQUIVALENT),
        })
        .collect()
}

//! [`Redactor`]: the compiled rule set and its builder.

use crate::engine::{AllowValues, CompiledRule, Engine, MAX_RULES, Matcher};
use crate::keys::{DEFAULT_SENSITIVE_KEYS, KeyMatcher};
use crate::kinds;
use crate::prefilter::Trigger;
use crate::replacement::{Renderer, Replacement};
use crate::rules::{BuiltinMatcher, PemMatcher, builtin_rules};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Documented example credentials that are not secrets (AWS documentation).
/// Kept untouched by default; see [`RedactorBuilder::without_default_allow_values`].
pub const DEFAULT_ALLOW_VALUES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
];

/// A user-defined by-value rule.
///
/// The pattern is a [`regex`] pattern matched on the value's bytes. If it has
/// capture groups, the first group that participated in a match is redacted
/// (so context such as a key can be kept); otherwise the whole match is.
/// Keywords (ASCII case-insensitive literals) let the prefilter skip the rule
/// for values that cannot match; a rule without keywords runs on every value.
///
/// ```
/// use ferrotel_redaction::{Redactor, Rule};
///
/// let redactor = Redactor::builder()
///     .rule(Rule::new("acme_key", r"acme_[a-z0-9]{16}").keywords(["acme_"]))
///     .build()?;
/// assert_eq!(redactor.redact("key=acme_0123456789abcdef"), "key=[REDACTED:acme_key]");
/// # Ok::<(), ferrotel_redaction::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Rule {
    kind: String,
    pattern: String,
    keywords: Vec<String>,
}

impl Rule {
    /// A rule named `kind` (used in `[REDACTED:<kind>]` and the counters).
    pub fn new(kind: impl Into<String>, pattern: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            pattern: pattern.into(),
            keywords: Vec::new(),
        }
    }

    /// Literals of which at least one occurs in every match.
    pub fn keywords<I, S>(mut self, keywords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keywords.extend(keywords.into_iter().map(Into::into));
        self
    }
}

/// Why a [`Redactor`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A rule's pattern does not compile.
    #[error("invalid pattern in redaction rule `{kind}`: {source}")]
    InvalidRule {
        /// The rule's kind.
        kind: String,
        /// The regex error.
        source: regex::Error,
    },
    /// A sensitive-key or allow-value regex does not compile.
    #[error("invalid redaction pattern `{pattern}`: {source}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// The regex error.
        source: regex::Error,
    },
    /// A rule's kind is empty or has characters other than ASCII letters,
    /// digits, `_`, `.` and `-`.
    #[error("invalid redaction kind `{0}`: use ASCII letters, digits, `_`, `.` or `-`")]
    InvalidKind(String),
    /// More than [`MAX_RULES`](crate::MAX_RULES) by-value rules.
    #[error("too many redaction rules: {0} (maximum {MAX_RULES})")]
    TooManyRules(usize),
    /// [`Replacement::Hmac`] with an empty key.
    #[error("the HMAC replacement key must not be empty")]
    EmptyHmacKey,
    /// The keyword prefilter could not be built.
    #[error("cannot build the redaction keyword prefilter: {0}")]
    Prefilter(#[from] aho_corasick::BuildError),
}

/// Builder for a [`Redactor`]; start from [`Redactor::builder`].
#[derive(Clone, Debug)]
pub struct RedactorBuilder {
    replacement: Replacement,
    builtin_rules: bool,
    disabled: Vec<String>,
    rules: Vec<Rule>,
    sensitive_keys: Vec<String>,
    sensitive_key_regexes: Vec<String>,
    allow_keys: Vec<String>,
    allow_values: Vec<String>,
    allow_value_regexes: Vec<String>,
    prefilter: bool,
}

impl Default for RedactorBuilder {
    fn default() -> Self {
        Self {
            replacement: Replacement::Label,
            builtin_rules: true,
            disabled: Vec::new(),
            rules: Vec::new(),
            sensitive_keys: DEFAULT_SENSITIVE_KEYS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sensitive_key_regexes: Vec::new(),
            allow_keys: Vec::new(),
            allow_values: DEFAULT_ALLOW_VALUES.iter().map(|s| s.to_string()).collect(),
            allow_value_regexes: Vec::new(),
            prefilter: true,
        }
    }
}

impl RedactorBuilder {
    /// The replacement style (default [`Replacement::Label`]).
    pub fn replacement(mut self, replacement: Replacement) -> Self {
        self.replacement = replacement;
        self
    }

    /// Drops all built-in by-value rules (user rules and by-key matching stay).
    pub fn without_builtin_rules(mut self) -> Self {
        self.builtin_rules = false;
        self
    }

    /// Disables the built-in rule of this kind (see [`kinds`](crate::kinds));
    /// [`kinds::SENSITIVE_KEY`] disables by-key matching.
    pub fn disable_kind(mut self, kind: impl Into<String>) -> Self {
        self.disabled.push(kind.into());
        self
    }

    /// Adds a by-value rule; user rules run after the built-in ones.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Replaces the sensitive-key list (default [`DEFAULT_SENSITIVE_KEYS`]).
    pub fn sensitive_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sensitive_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one sensitive-key pattern (matched on separator-delimited suffixes,
    /// case-insensitively: `pin` matches `card.pin` and `X-Card-PIN`).
    pub fn sensitive_key(mut self, key: impl Into<String>) -> Self {
        self.sensitive_keys.push(key.into());
        self
    }

    /// Adds a sensitive-key regex, matched case-insensitively against the whole key.
    pub fn sensitive_key_regex(mut self, pattern: impl Into<String>) -> Self {
        self.sensitive_key_regexes.push(pattern.into());
        self
    }

    /// Never redacts values of this key (exact, case-insensitive), neither by
    /// key nor by value.
    pub fn allow_key(mut self, key: impl Into<String>) -> Self {
        self.allow_keys.push(key.into());
        self
    }

    /// Never redacts this exact text when a by-value rule matches it.
    pub fn allow_value(mut self, value: impl Into<String>) -> Self {
        self.allow_values.push(value.into());
        self
    }

    /// Never redacts text a by-value rule matched if it matches this regex.
    pub fn allow_value_regex(mut self, pattern: impl Into<String>) -> Self {
        self.allow_value_regexes.push(pattern.into());
        self
    }

    /// Redacts the documented AWS example keys too (by default they are kept).
    pub fn without_default_allow_values(mut self) -> Self {
        self.allow_values
            .retain(|v| !DEFAULT_ALLOW_VALUES.contains(&v.as_str()));
        self
    }

    /// Whether the prefilter skips the rules that cannot match a value
    /// (default `true`). With `false` every rule's regex runs on every value:
    /// the output is the same, only slower; for verifying the prefilter and
    /// for speed comparisons.
    pub fn prefilter(mut self, enabled: bool) -> Self {
        self.prefilter = enabled;
        self
    }

    /// Compiles the rules. Call once and clone the [`Redactor`].
    pub fn build(self) -> Result<Redactor, BuildError> {
        let mut kind_names: Vec<Arc<str>> = vec![Arc::from(kinds::SENSITIVE_KEY)];
        let mut kind_id = |name: &str| -> usize {
            match kind_names.iter().position(|k| &**k == name) {
                Some(i) => i,
                None => {
                    kind_names.push(Arc::from(name));
                    kind_names.len() - 1
                }
            }
        };
        let is_disabled = |kind: &str| self.disabled.iter().any(|d| d == kind);

        let mut rules = Vec::new();
        let mut triggers: Vec<Vec<Trigger>> = Vec::new();
        if self.builtin_rules {
            for b in builtin_rules() {
                if is_disabled(b.kind) {
                    continue;
                }
                let matcher = match b.matcher {
                    BuiltinMatcher::Regex(pattern) => {
                        let regex =
                            compile_bytes(pattern).map_err(|source| BuildError::InvalidRule {
                                kind: b.kind.to_string(),
                                source,
                            })?;
                        let groups = regex.captures_len() > 1;
                        Matcher::Regex { regex, groups }
                    }
                    BuiltinMatcher::Pem => {
                        Matcher::Pem(Box::new(PemMatcher::new().map_err(|source| {
                            BuildError::InvalidRule {
                                kind: b.kind.to_string(),
                                source,
                            }
                        })?))
                    }
                };
                rules.push(CompiledRule {
                    kind: kind_id(b.kind),
                    matcher,
                    validate: b.validate,
                    literal: b.literal,
                });
                triggers.push(b.triggers);
            }
        }
        for r in &self.rules {
            let valid_kind = !r.kind.is_empty()
                && r.kind
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !valid_kind {
                return Err(BuildError::InvalidKind(r.kind.clone()));
            }
            let regex = compile_bytes(&r.pattern).map_err(|source| BuildError::InvalidRule {
                kind: r.kind.clone(),
                source,
            })?;
            let groups = regex.captures_len() > 1;
            rules.push(CompiledRule {
                kind: kind_id(&r.kind),
                matcher: Matcher::Regex { regex, groups },
                validate: None,
                literal: None,
            });
            triggers.push(
                r.keywords
                    .iter()
                    .map(|k| Trigger::FoldedLiteral(k.clone().into()))
                    .collect(),
            );
        }
        if rules.len() > MAX_RULES {
            return Err(BuildError::TooManyRules(rules.len()));
        }

        let mut allow = AllowValues {
            exact: self
                .allow_values
                .iter()
                .map(|v| v.as_bytes().to_vec().into_boxed_slice())
                .collect(),
            regexes: Vec::new(),
        };
        for pattern in &self.allow_value_regexes {
            allow.regexes.push(compile_bytes(pattern).map_err(|source| {
                BuildError::InvalidPattern {
                    pattern: pattern.clone(),
                    source,
                }
            })?);
        }

        let mut key_regexes = Vec::new();
        for pattern in &self.sensitive_key_regexes {
            key_regexes.push(
                regex::RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .build()
                    .map_err(|source| BuildError::InvalidPattern {
                        pattern: pattern.clone(),
                        source,
                    })?,
            );
        }
        let key_names = if is_disabled(kinds::SENSITIVE_KEY) {
            key_regexes.clear();
            Vec::new()
        } else {
            self.sensitive_keys.clone()
        };
        let keys = KeyMatcher::new(&key_names, key_regexes, self.allow_keys.clone());

        let renderer =
            Renderer::new(&self.replacement, &kind_names).map_err(|()| BuildError::EmptyHmacKey)?;
        let engine = Engine::new(
            rules,
            &triggers,
            self.prefilter,
            allow,
            renderer,
            kind_names.len(),
        )?;
        Ok(Redactor {
            inner: Arc::new(Inner {
                engine,
                keys,
                kinds: kind_names,
                id: crate::static_memo::next_redactor_id(),
            }),
        })
    }
}

fn compile_bytes(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern).build()
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) keys: KeyMatcher,
    pub(crate) kinds: Vec<Arc<str>>,
    /// Tells this redactor's verdicts apart in [`crate::static_memo`].
    pub(crate) id: u64,
}

/// The compiled redaction rules. Cheap to clone (an `Arc`); build once, share
/// everywhere (processors, application code).
///
/// ```
/// use ferrotel_redaction::Redactor;
///
/// let redactor = Redactor::default();
/// assert_eq!(
///     redactor.redact("GET https://bob:hunter2@db.internal/x?X-Amz-Signature=abc123"),
///     "GET https://REDACTED:REDACTED@db.internal/x?X-Amz-Signature=REDACTED",
/// );
/// // Clean text is returned borrowed, without allocation.
/// assert!(matches!(redactor.redact("GET /api/v1/users/42"), std::borrow::Cow::Borrowed(_)));
/// ```
#[derive(Clone)]
pub struct Redactor {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("kinds", &self.inner.kinds)
            .finish_non_exhaustive()
    }
}

impl Default for Redactor {
    /// All built-in rules, default sensitive keys, `[REDACTED:<kind>]` labels.
    fn default() -> Self {
        static DEFAULT: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                // The built-in rules are constants covered by tests; failing to
                // compile them is a bug in this crate, not a runtime condition.
                #[allow(clippy::expect_used)]
                RedactorBuilder::default()
                    .build()
                    .expect("built-in redaction rules compile")
            })
            .clone()
    }
}

impl Redactor {
    /// A builder starting from the defaults (all built-in rules and keys).
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// Redacts secrets found by value in free text. Returns
    /// [`Cow::Borrowed`] when nothing matched.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.inner.engine.redact(text)
    }

    /// True when values of `key` are replaced whole (by-key rules), taking
    /// the allow-list into account.
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        !self.inner.keys.is_allowed(key) && self.inner.keys.is_sensitive(key)
    }

    /// The replacement for a whole value under a sensitive key, or `None` if
    /// the value already is a redaction marker.
    pub(crate) fn replace_whole(&self, text: &str) -> Option<String> {
        let engine = &self.inner.engine;
        if engine.renderer.is_own_output(text.as_bytes()) {
            return None;
        }
        let mut out = String::new();
        engine.renderer.render(0, text.as_bytes(), &mut out);
        engine.counts[0].fetch_add(1, Ordering::Relaxed);
        Some(out)
    }

    /// How many spans of text were redacted so far, per kind (all kinds,
    /// including zero counts), since this redactor was built.
    pub fn counts(&self) -> Vec<(Arc<str>, u64)> {
        self.inner
            .kinds
            .iter()
            .zip(self.inner.engine.counts.iter())
            .map(|(k, c)| (k.clone(), c.load(Ordering::Relaxed)))
            .collect()
    }

    /// The kind names this redactor can report (built-in and user rules).
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.inner.kinds.iter().map(|k| &**k)
    }
}

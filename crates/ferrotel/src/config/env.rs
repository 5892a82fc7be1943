//! Parsing of `OTEL_*` environment values.
//!
//! Every parser takes the variable name and its raw value and either returns the parsed value or a
//! [`ConfigWarning`] naming the variable, the value and the fallback that will be used instead.
//! Nothing here panics on input.

use std::fmt;
use std::time::Duration;

/// A configuration value that could not be used, and what was used instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The environment variable (or builder setting) that held the bad value.
    pub variable: String,
    /// The value as given (masked when the variable carries credentials).
    pub value: String,
    /// Why the value was rejected.
    pub problem: String,
    /// What is used instead.
    pub fallback: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is invalid: {}; using {}",
            self.variable, self.value, self.problem, self.fallback
        )
    }
}

/// Warnings listed per variable before the rest are summed up in one.
pub(crate) const MAX_WARNINGS_PER_VARIABLE: usize = 8;
/// The longest value a warning shows; a longer one is cut at a character boundary and its
/// length given.
pub(crate) const MAX_SHOWN_VALUE_BYTES: usize = 256;

pub(crate) fn shown_value(value: &str) -> String {
    if value.len() <= MAX_SHOWN_VALUE_BYTES {
        return value.to_string();
    }
    let head = crate::limits::cut(value, MAX_SHOWN_VALUE_BYTES);
    format!("{head}... ({} bytes)", value.len())
}

/// Where configuration values come from: the process environment, or a map in tests.
pub(crate) trait EnvSource {
    /// The value of `name`, or `None` when unset. Empty values count as unset, as the spec says.
    fn get(&self, name: &str) -> Option<String>;
}

/// Reads the real process environment.
pub(crate) struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Some(v),
            _ => None,
        }
    }
}

impl<F: Fn(&str) -> Option<String>> EnvSource for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name).filter(|v| !v.trim().is_empty())
    }
}

/// Collects warnings while reading the environment.
pub(crate) struct EnvReader<'a> {
    source: &'a dyn EnvSource,
    pub(crate) warnings: Vec<ConfigWarning>,
}

impl<'a> EnvReader<'a> {
    pub(crate) fn new(source: &'a dyn EnvSource) -> Self {
        Self {
            source,
            warnings: Vec::new(),
        }
    }

    /// The raw (trimmed) value of a variable.
    pub(crate) fn raw(&self, name: &str) -> Option<String> {
        self.source.get(name).map(|v| v.trim().to_string())
    }

    /// The first of `names` that is set, with the name it was found under.
    pub(crate) fn first(&self, names: &[&str]) -> Option<(String, String)> {
        names
            .iter()
            .find_map(|n| self.raw(n).map(|v| ((*n).to_string(), v)))
    }

    /// Records a rejected value. A variable gets at most [`MAX_WARNINGS_PER_VARIABLE`]
    /// warnings, then one saying the rest are not listed, and a shown value is cut to
    /// [`MAX_SHOWN_VALUE_BYTES`]: a list variable with thousands of bad entries must neither
    /// flood the log nor make start-up quadratic.
    pub(crate) fn warn(
        &mut self,
        variable: &str,
        value: &str,
        problem: impl Into<String>,
        fallback: impl fmt::Display,
    ) {
        let of_variable = self
            .warnings
            .iter()
            .filter(|w| w.variable == variable)
            .count();
        if of_variable > MAX_WARNINGS_PER_VARIABLE {
            return;
        }
        let warning = if of_variable == MAX_WARNINGS_PER_VARIABLE {
            ConfigWarning {
                variable: variable.to_string(),
                value: shown_value(value),
                problem: format!(
                    "more than {MAX_WARNINGS_PER_VARIABLE} problems; the further ones are not listed"
                ),
                fallback: "each is handled as the ones listed".to_string(),
            }
        } else {
            ConfigWarning {
                variable: variable.to_string(),
                value: shown_value(value),
                problem: problem.into(),
                fallback: fallback.to_string(),
            }
        };
        // A generic variable (`OTEL_EXPORTER_OTLP_*`) is read once per signal: one warning.
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// A boolean: `true`/`false`, case-insensitive (the spec's only accepted spellings).
    pub(crate) fn bool(&mut self, name: &str, default: bool) -> bool {
        let Some(v) = self.raw(name) else {
            return default;
        };
        match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.warn(name, &v, "expected `true` or `false`", default);
                default
            }
        }
    }

    /// A non-negative integer.
    pub(crate) fn usize(&mut self, name: &str) -> Option<usize> {
        let v = self.raw(name)?;
        match v.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.warn(name, &v, "expected a non-negative integer", "the default");
                None
            }
        }
    }

    /// [`Self::usize`] of at most `max`: a larger value is clamped to `max` with a warning.
    pub(crate) fn usize_at_most(&mut self, name: &str, max: usize) -> Option<usize> {
        let n = self.usize(name)?;
        Some(self.clamped(name, n, max))
    }

    /// `n` read from `name`, or `max` with a warning when `n` is above it.
    fn clamped(&mut self, name: &str, n: usize, max: usize) -> usize {
        if n > max {
            self.warn(
                name,
                &n.to_string(),
                format!("above the maximum {max}"),
                max,
            );
            return max;
        }
        n
    }

    /// A strictly positive integer.
    pub(crate) fn positive(&mut self, name: &str) -> Option<usize> {
        let v = self.raw(name)?;
        match v.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.warn(name, &v, "expected a positive integer", "the default");
                None
            }
        }
    }

    /// A strictly positive integer of at most `max`: a larger value is clamped to `max` with a
    /// warning (a queue of 2^64 entries would abort the process at start-up).
    pub(crate) fn positive_at_most(&mut self, name: &str, max: usize) -> Option<usize> {
        let n = self.positive(name)?;
        Some(self.clamped(name, n, max))
    }

    /// [`Self::millis`] of at most `max`: a longer duration is clamped with a warning (a timeout
    /// of 2^64 ms would let a hung collector hold an export forever).
    pub(crate) fn millis_at_most(&mut self, name: &str, max: Duration) -> Option<Duration> {
        let d = self.millis(name)?;
        if d > max {
            self.warn(
                name,
                &d.as_millis().to_string(),
                format!("above the maximum {} ms", max.as_millis()),
                max.as_millis(),
            );
            return Some(max);
        }
        Some(d)
    }

    /// A duration in milliseconds (the spec's unit for all `*_TIMEOUT`, `*_DELAY`, `*_INTERVAL`).
    pub(crate) fn millis(&mut self, name: &str) -> Option<Duration> {
        let v = self.raw(name)?;
        match v.parse::<u64>() {
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => {
                self.warn(
                    name,
                    &v,
                    "expected a whole number of milliseconds",
                    "the default",
                );
                None
            }
        }
    }
}

/// Parses a `key=value,key2=value2` list (W3C baggage-like, as `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` use), percent-decoding values. Bad entries are reported by
/// position and skipped; the good ones are kept.
pub(crate) fn parse_key_value_list(
    reader: &mut EnvReader<'_>,
    variable: &str,
    raw: &str,
    mask_values: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (index, entry) in raw.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let shown = if mask_values {
            mask_entry(entry)
        } else {
            entry.to_string()
        };
        let Some((key, value)) = entry.split_once('=') else {
            reader.warn(
                variable,
                &shown,
                format!("entry {} has no `=` (expected key=value)", index + 1),
                "the entry is ignored",
            );
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            reader.warn(
                variable,
                &shown,
                format!("entry {} has an empty key", index + 1),
                "the entry is ignored",
            );
            continue;
        }
        match percent_decode(value.trim()) {
            Some(value) => out.push((key.to_string(), value)),
            None => reader.warn(
                variable,
                &shown,
                format!("entry {} has a malformed percent-encoding", index + 1),
                "the entry is ignored",
            ),
        }
    }
    out
}

/// Hides the value part of a `key=value` entry.
fn mask_entry(entry: &str) -> String {
    match entry.split_once('=') {
        Some((k, _)) => format!("{}=***", k.trim()),
        None => "***".to_string(),
    }
}

/// Percent-decodes `%XX` escapes; `None` on a malformed escape or invalid UTF-8.
pub(crate) fn percent_decode(value: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_string());
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn key_value_list_skips_bad_entries_and_reports_them() {
        let src = env(&[]);
        let mut r = EnvReader::new(&src);
        let kv = parse_key_value_list(&mut r, "X", "a=1, b , c=%41%42,=z,d=%zz", false);
        assert_eq!(
            kv,
            vec![("a".into(), "1".into()), ("c".into(), "AB".into())]
        );
        assert_eq!(r.warnings.len(), 3, "{:?}", r.warnings);
        assert!(r.warnings[0].problem.contains("entry 2 has no `=`"));
    }

    #[test]
    fn thousands_of_bad_entries_give_a_bounded_list_of_short_warnings() {
        let src = env(&[]);
        let mut r = EnvReader::new(&src);
        let raw = "x,".repeat(60_000);
        let kv = parse_key_value_list(&mut r, "X", &raw, false);
        assert!(kv.is_empty());
        assert_eq!(r.warnings.len(), MAX_WARNINGS_PER_VARIABLE + 1);
        assert!(r.warnings.last().unwrap().problem.contains("not listed"));
        let long = "9".repeat(10_000);
        r.warn("Y", &long, "too long", "the default");
        let shown = &r.warnings.last().unwrap().value;
        assert!(shown.len() < MAX_SHOWN_VALUE_BYTES + 32, "{}", shown.len());
        assert!(shown.ends_with("(10000 bytes)"), "{shown}");
    }

    #[test]
    fn masked_header_values_never_appear_in_warnings() {
        let src = env(&[]);
        let mut r = EnvReader::new(&src);
        let _ = parse_key_value_list(&mut r, "H", "authorization=%zzsecret", true);
        assert_eq!(r.warnings[0].value, "authorization=***");
    }

    #[test]
    fn numbers_and_bools_fall_back_with_a_warning() {
        let src = env(&[("N", "-3"), ("B", "yes"), ("M", "12x"), ("P", "0")]);
        let mut r = EnvReader::new(&src);
        assert_eq!(r.usize("N"), None);
        assert!(!r.bool("B", false));
        assert_eq!(r.millis("M"), None);
        assert_eq!(r.positive("P"), None);
        let vars: Vec<_> = r.warnings.iter().map(|w| w.variable.as_str()).collect();
        assert_eq!(vars, ["N", "B", "M", "P"]);
    }
}

//! In-process redaction of secrets and personal paths from OpenTelemetry
//! spans, logs and resources, before they leave the process.
//!
//! Two models, as in the OpenTelemetry Collector's `redaction` processor:
//! - **by key**: values of attributes whose key names a secret
//!   (`authorization`, `cookie`, `password`, `x-api-key`, `client_secret`, ...;
//!   [`DEFAULT_SENSITIVE_KEYS`], configurable) are replaced whole;
//! - **by value**: every string is scanned for known secret formats (cloud and
//!   SaaS tokens, JWTs, PEM private keys, `Authorization` values,
//!   `password=`-style pairs, URL credentials, semconv sensitive query
//!   parameters) and for user names in personal paths (`/home/<user>/`).
//!
//! The scan is built the way scalable secret scanners are (gitleaks, Nosey
//! Parker): a prefilter finds which rules' triggers occur in the value, and
//! only those rules run their regex. The triggers are shaped for SIMD search:
//! exact-case literals in one Aho-Corasick automaton with its packed (Teddy)
//! prefilter, and key words of `key=value` pairs checked only at the rare
//! delimiters `:`/`=` found with `memchr`; short values take a byte-pair table
//! instead. Clean text costs that pass (> 1 GB/s) and returns
//! [`Cow::Borrowed`](std::borrow::Cow) without allocating.
//! All regexes use the `regex` crate, whose matching is linear in the input, so
//! hostile input cannot cause a ReDoS.
//!
//! ```
//! use ferrotel_redaction::Redactor;
//!
//! let redactor = Redactor::default();
//! let line = "connecting with password=hunter2 from /home/alice/app";
//! assert_eq!(
//!     redactor.redact(line),
//!     "connecting with password=[REDACTED:credential_pair] from /home/[REDACTED:username]/app"
//! );
//! ```
//!
//! Integration points: [`RedactingSpanProcessor`] (wraps the exporting span
//! processor), [`RedactingLogProcessor`] (registered before the exporting log
//! processor), [`Redactor::redact_resource`], [`Redactor::register_metrics`]
//! (redaction counts by kind) and [`Redactor::redact`] for application text.
//! See `docs/redaction.md` in the repository for the rule list and benchmarks.
//!
//! # Dependencies
//! - `aho-corasick`: the multi-literal prefilter (one SIMD pass for all rules).
//! - `regex`: linear-time matching of the rule patterns (bytes API).
//! - `memchr`: the prefilter's delimiter search (`memchr3`) and the linear
//!   PEM block search (`memmem`).
//! - `hmac` + `sha2`: keyed HMAC-SHA256 pseudonyms ([`Replacement::Hmac`]).
//! - `base64`: validating `Basic` credentials (base64 of `user:password`).
//! - `thiserror`: the [`BuildError`] type.
//! - `opentelemetry` / `opentelemetry_sdk`: the processor traits and data types.
//!
//! ---
//!
//! The guide below is `docs/redaction.md` of the repository.
#![doc = include_str!("../docs/redaction.md")]

mod engine;
mod keys;
pub mod kinds;
mod log;
mod metrics;
mod percent;
mod prefilter;
mod redactor;
mod replacement;
mod rules;
mod span;
mod static_memo;
mod values;

pub use engine::MAX_RULES;
pub use keys::DEFAULT_SENSITIVE_KEYS;
pub use log::RedactingLogProcessor;
pub use metrics::{KIND_ATTRIBUTE, REDACTIONS_METRIC};
pub use redactor::{BuildError, DEFAULT_ALLOW_VALUES, Redactor, RedactorBuilder, Rule};
pub use replacement::{HMAC_DIGEST_BYTES, HmacKey, Replacement};
pub use rules::builtin_patterns;
pub use span::{BoxedSpanProcessor, RedactingSpanProcessor};
pub use values::{MAX_DEPTH, TOO_DEEP};

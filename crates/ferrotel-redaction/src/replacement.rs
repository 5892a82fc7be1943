//! What a redacted span becomes.

use hmac::{KeyInit, Mac};
use std::fmt;
use std::sync::Arc;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Number of HMAC output bytes shown (hex-encoded) in a pseudonym: 64 bits is
/// plenty to correlate equal secrets across telemetry and short enough to read.
pub const HMAC_DIGEST_BYTES: usize = 8;

/// The replacement style for redacted text.
///
/// Two semantic-convention replacements are fixed whatever the style: URL
/// credentials become `REDACTED:REDACTED` and sensitive query values become
/// `REDACTED`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Replacement {
    /// `[REDACTED:<kind>]`, e.g. `[REDACTED:github_token]` (the default).
    #[default]
    Label,
    /// `[REDACTED:<kind>:<hex>]` where `<hex>` is the first
    /// [`HMAC_DIGEST_BYTES`] bytes of HMAC-SHA256(key, secret): equal secrets get
    /// equal pseudonyms (useful to correlate), and without the key they cannot
    /// be reversed or rainbow-tabled.
    Hmac(HmacKey),
    /// A fixed string; `{kind}` in it is replaced by the kind name.
    Custom(Arc<str>),
}

impl Replacement {
    /// Keyed HMAC-SHA256 pseudonyms. Use a random key of at least 32 bytes kept
    /// outside the telemetry pipeline.
    pub fn hmac(key: impl AsRef<[u8]>) -> Self {
        Replacement::Hmac(HmacKey(Arc::from(key.as_ref())))
    }

    /// A fixed replacement string (`{kind}` is substituted).
    pub fn custom(text: impl Into<String>) -> Self {
        Replacement::Custom(Arc::from(text.into()))
    }
}

/// An HMAC key. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct HmacKey(Arc<[u8]>);

impl HmacKey {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({} bytes)", self.0.len())
    }
}

/// Precomputed replacement text per kind.
#[derive(Clone)]
pub(crate) enum Renderer {
    /// The full replacement for each kind id.
    Fixed(Vec<Box<str>>),
    /// Keyed MAC (cloned per use: cheaper than re-keying) and `[REDACTED:<kind>:` prefixes.
    Hmac(Box<HmacSha256>, Vec<Box<str>>),
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Renderer::Fixed(v) => f.debug_tuple("Fixed").field(v).finish(),
            Renderer::Hmac(..) => f.write_str("Hmac(..)"),
        }
    }
}

impl Renderer {
    /// Errors only when the HMAC key is empty.
    pub(crate) fn new(style: &Replacement, kinds: &[Arc<str>]) -> Result<Self, ()> {
        Ok(match style {
            Replacement::Label => Renderer::Fixed(
                kinds
                    .iter()
                    .map(|k| format!("[REDACTED:{k}]").into())
                    .collect(),
            ),
            Replacement::Custom(text) => Renderer::Fixed(
                kinds
                    .iter()
                    .map(|k| text.replace("{kind}", k).into())
                    .collect(),
            ),
            Replacement::Hmac(key) => {
                if key.bytes().is_empty() {
                    return Err(());
                }
                let mac = HmacSha256::new_from_slice(key.bytes()).map_err(|_| ())?;
                Renderer::Hmac(
                    Box::new(mac),
                    kinds
                        .iter()
                        .map(|k| format!("[REDACTED:{k}:").into())
                        .collect(),
                )
            }
        })
    }

    /// Appends the replacement of `secret` (of kind `kind`) to `out`.
    pub(crate) fn render(&self, kind: usize, secret: &[u8], out: &mut String) {
        match self {
            Renderer::Fixed(v) => out.push_str(&v[kind]),
            Renderer::Hmac(mac, prefixes) => {
                let mut mac = (**mac).clone();
                mac.update(secret);
                let digest = mac.finalize().into_bytes();
                out.push_str(&prefixes[kind]);
                for b in digest.iter().take(HMAC_DIGEST_BYTES) {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push(HEX[(b >> 4) as usize] as char);
                    out.push(HEX[(b & 0xf) as usize] as char);
                }
                out.push(']');
            }
        }
    }

    /// True when `secret` consists only of this redactor's output (one or
    /// more adjacent replacements), so redacting twice changes nothing (and
    /// returns `Cow::Borrowed`).
    pub(crate) fn is_own_output(&self, secret: &[u8]) -> bool {
        let mut rest = secret;
        while !rest.is_empty() {
            let skip = if rest.starts_with(b"REDACTED:REDACTED") {
                17
            } else if rest.starts_with(b"REDACTED") {
                8
            } else if rest.starts_with(b"[REDACTED") {
                match memchr::memchr(b']', rest) {
                    Some(i) => i + 1,
                    None => return false,
                }
            } else if let Renderer::Fixed(v) = self
                && let Some(r) = v
                    .iter()
                    .find(|r| !r.is_empty() && rest.starts_with(r.as_bytes()))
            {
                r.len()
            } else {
                return false;
            };
            rest = &rest[skip..];
        }
        !secret.is_empty()
    }
}

//! `OTEL_EXPORTER_OTLP_{,TRACES_,METRICS_,LOGS_}CERTIFICATE`, `..._CLIENT_CERTIFICATE`,
//! `..._CLIENT_KEY` and the builder's PEM settings: files are read and validated at init, so a
//! bad file is a start-up [`ConfigWarning`](super::ConfigWarning) naming the variable and the
//! path, never an export-time surprise.

use std::fmt;
use std::path::PathBuf;

use super::{EnvReader, Overrides};

/// What `ca_pem` falls back to when the configured CA cannot be used.
const CA_FALLBACK: &str = "the system roots";
/// What the client identity falls back to.
const IDENTITY_FALLBACK: &str =
    "no client certificate (a server that requires one refuses the connection)";

/// TLS material of one signal, read and validated at init (used with the `tls` feature; always
/// empty without it). `Debug` never prints key material.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    ca_pem: Option<Vec<u8>>,
    client_identity_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsSettings {
    /// The PEM CA certificate(s) trusted for this signal's server, if configured. They replace
    /// the system roots (as in the other OpenTelemetry SDKs).
    pub fn ca_pem(&self) -> Option<&[u8]> {
        self.ca_pem.as_deref()
    }

    /// Whether a client certificate and key (mutual TLS) are configured.
    pub fn has_client_identity(&self) -> bool {
        self.client_identity_pem.is_some()
    }

    /// The PEM certificate chain and private key presented to the server.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn client_identity_pem(&self) -> Option<(&[u8], &[u8])> {
        self.client_identity_pem
            .as_ref()
            .map(|(c, k)| (c.as_slice(), k.as_slice()))
    }
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("custom_ca", &self.ca_pem.is_some())
            .field("client_identity", &self.client_identity_pem.is_some())
            .finish()
    }
}

/// The resolved TLS settings of one signal, with the paths they came from.
pub(crate) struct TlsResolution {
    pub certificate: Option<PathBuf>,
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub settings: TlsSettings,
}

/// Where a PEM came from: a file named by a variable, or the builder.
struct Pem {
    /// The variable (or `builder ...` setting) for warnings.
    var: String,
    /// The value shown in warnings: the path, or a byte count for builder PEMs.
    shown: String,
    path: Option<PathBuf>,
    bytes: Vec<u8>,
}

/// The largest PEM file read (a full system CA bundle is about 200 KiB). A bigger file, or a
/// path to a device such as `/dev/zero`, would otherwise hold `init` reading forever.
pub(crate) const MAX_PEM_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads the file named by the first set variable of `vars`; an unreadable file, one that is
/// not a regular file (a FIFO would block the open) or one above [`MAX_PEM_FILE_BYTES`] is a
/// warning with `fallback`.
fn read_var(r: &mut EnvReader<'_>, vars: &[&str], fallback: &str) -> Option<Pem> {
    let (var, raw) = r.first(vars)?;
    let path = PathBuf::from(&raw);
    match read_bounded(&path) {
        Ok(bytes) => Some(Pem {
            var,
            shown: raw,
            path: Some(path),
            bytes,
        }),
        Err(problem) => {
            r.warn(&var, &raw, problem, fallback);
            None
        }
    }
}

fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err("cannot read the file: not a regular file".to_owned());
    }
    if meta.len() > MAX_PEM_FILE_BYTES {
        return Err(format!(
            "cannot read the file: {} bytes, above the maximum {MAX_PEM_FILE_BYTES}",
            meta.len()
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    // The file may grow between the size check and the read: read one byte past the limit to
    // tell.
    file.take(MAX_PEM_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_PEM_FILE_BYTES {
        return Err(format!(
            "cannot read the file: above the maximum {MAX_PEM_FILE_BYTES} bytes"
        ));
    }
    Ok(bytes)
}

fn from_builder(name: &str, bytes: &[u8]) -> Pem {
    Pem {
        var: format!("builder {name}"),
        shown: format!("<{} bytes of PEM>", bytes.len()),
        path: None,
        bytes: bytes.to_vec(),
    }
}

#[cfg(feature = "tls")]
mod check {
    pub(super) fn ca(pem: &[u8]) -> Result<(), String> {
        crate::tls::parse_ca_pem(pem).map(|_| ())
    }
    pub(super) fn cert(pem: &[u8]) -> Result<(), String> {
        crate::tls::parse_certificates(pem).map(|_| ())
    }
    pub(super) fn key(pem: &[u8]) -> Result<(), String> {
        crate::tls::parse_private_key(pem).map(|_| ())
    }
    pub(super) fn pair(cert: &[u8], key: &[u8]) -> Result<(), String> {
        crate::tls::check_key_pair(cert, key)
    }
}

/// Without the `tls` feature the files are still checked (so the warning is precise), then
/// reported as unused.
#[cfg(not(feature = "tls"))]
mod check {
    fn contains(pem: &[u8], marker: &str, what: &str) -> Result<(), String> {
        if String::from_utf8_lossy(pem).contains(marker) {
            Ok(())
        } else {
            Err(format!("the file holds no PEM {what}"))
        }
    }
    pub(super) fn ca(pem: &[u8]) -> Result<(), String> {
        contains(pem, "-----BEGIN CERTIFICATE", "certificate")
    }
    pub(super) fn cert(pem: &[u8]) -> Result<(), String> {
        ca(pem)
    }
    pub(super) fn key(pem: &[u8]) -> Result<(), String> {
        contains(pem, "PRIVATE KEY-----", "private key")
    }
    pub(super) fn pair(_cert: &[u8], _key: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(not(feature = "tls"))]
const NO_TLS: &str = "no TLS support in this build (enable the `tls` cargo feature of `ferrotel`)";

pub(crate) fn tls_settings(r: &mut EnvReader<'_>, infix: &str, o: &Overrides) -> TlsResolution {
    let mut out = TlsResolution {
        certificate: None,
        client_certificate: None,
        client_key: None,
        settings: TlsSettings::default(),
    };

    // Trusted CA.
    let ca_var = format!("OTEL_EXPORTER_OTLP_{infix}_CERTIFICATE");
    let ca = match &o.tls_ca_pem {
        Some(pem) => Some(from_builder("tls_ca_pem", pem)),
        None => read_var(r, &[&ca_var, "OTEL_EXPORTER_OTLP_CERTIFICATE"], CA_FALLBACK),
    };
    if let Some(ca) = ca {
        match check::ca(&ca.bytes) {
            Ok(()) => {
                #[cfg(not(feature = "tls"))]
                r.warn(
                    &ca.var,
                    &ca.shown,
                    format!("{NO_TLS}, so the certificate is not used"),
                    "ignored",
                );
                out.certificate = ca.path;
                #[cfg(feature = "tls")]
                {
                    out.settings.ca_pem = Some(ca.bytes);
                }
            }
            Err(problem) => r.warn(&ca.var, &ca.shown, problem, CA_FALLBACK),
        }
    }

    // Client certificate and key (mutual TLS).
    let cert_var = format!("OTEL_EXPORTER_OTLP_{infix}_CLIENT_CERTIFICATE");
    let key_var = format!("OTEL_EXPORTER_OTLP_{infix}_CLIENT_KEY");
    let generic_cert = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
    let generic_key = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
    let (cert, key) = match &o.tls_client_identity_pem {
        Some((cert, key)) => (
            Some(from_builder("tls_client_identity_pem (certificate)", cert)),
            Some(from_builder("tls_client_identity_pem (key)", key)),
        ),
        None => {
            let cert = read_var(r, &[&cert_var, generic_cert], IDENTITY_FALLBACK);
            let key = read_var(r, &[&key_var, generic_key], IDENTITY_FALLBACK);
            // A pair where one file was unreadable was already reported.
            let cert_set = r.first(&[&cert_var, generic_cert]);
            let key_set = r.first(&[&key_var, generic_key]);
            match (&cert_set, &key_set) {
                (Some((var, raw)), None) => {
                    let problem = format!("`{key_var}` (or `{generic_key}`) is not set");
                    r.warn(var, raw, problem, IDENTITY_FALLBACK);
                    return out;
                }
                (None, Some((var, raw))) => {
                    let problem = format!("`{cert_var}` (or `{generic_cert}`) is not set");
                    r.warn(var, raw, problem, IDENTITY_FALLBACK);
                    return out;
                }
                _ => {}
            }
            (cert, key)
        }
    };
    let (Some(cert), Some(key)) = (cert, key) else {
        return out;
    };
    let mut usable = true;
    if let Err(problem) = check::cert(&cert.bytes) {
        r.warn(&cert.var, &cert.shown, problem, IDENTITY_FALLBACK);
        usable = false;
    }
    if let Err(problem) = check::key(&key.bytes) {
        r.warn(&key.var, &key.shown, problem, IDENTITY_FALLBACK);
        usable = false;
    }
    if usable && let Err(problem) = check::pair(&cert.bytes, &key.bytes) {
        let problem = format!("{problem} (certificate from {} {})", cert.var, cert.shown);
        r.warn(&key.var, &key.shown, problem, IDENTITY_FALLBACK);
        usable = false;
    }
    if usable {
        #[cfg(not(feature = "tls"))]
        r.warn(
            &cert.var,
            &cert.shown,
            format!("{NO_TLS}, so the client certificate is not used"),
            "ignored",
        );
        out.client_certificate = cert.path;
        out.client_key = key.path;
        #[cfg(feature = "tls")]
        {
            out.settings.client_identity_pem = Some((cert.bytes, key.bytes));
        }
    }
    out
}

//! TLS for OTLP (feature `tls`): rustls with the ring provider, system roots plus the CA from
//! `OTEL_EXPORTER_OTLP_*CERTIFICATE`.

use crate::Error;
use crate::config::{OtlpSettings, Signal};

/// Installs ring as the process's rustls provider unless the application installed one.
pub(crate) fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn read_pem(s: &OtlpSettings) -> Option<Vec<u8>> {
    // The path was validated when the configuration was read.
    s.certificate.as_ref().and_then(|p| std::fs::read(p).ok())
}

/// A blocking reqwest client trusting the configured CA, or `None` for the exporter's default.
pub(crate) fn http_client(
    s: &OtlpSettings,
    signal: Signal,
) -> Result<Option<reqwest::blocking::Client>, Error> {
    let Some(pem) = read_pem(s) else {
        return Ok(None);
    };
    let timeout = s.timeout;
    let tls_error = move |e: String| Error::Tls { signal, message: e };
    let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| tls_error(e.to_string()))?;
    // reqwest's blocking client owns a runtime; building it on its own thread keeps `init`
    // usable from inside an async context.
    std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(timeout)
            .add_root_certificate(cert)
            .build()
    })
    .join()
    .map_err(|_| tls_error("the thread building the HTTP client panicked".into()))?
    .map(Some)
    .map_err(|e| tls_error(e.to_string()))
}

/// The gRPC TLS configuration for an `https` endpoint or a configured CA.
#[cfg(feature = "grpc")]
pub(crate) fn grpc_config(s: &OtlpSettings) -> Option<tonic::transport::ClientTlsConfig> {
    let pem = read_pem(s);
    if pem.is_none() && !s.endpoint.starts_with("https://") {
        return None;
    }
    let mut config = tonic::transport::ClientTlsConfig::new().with_native_roots();
    if let Some(pem) = pem {
        config = config.ca_certificate(tonic::transport::Certificate::from_pem(pem));
    }
    Some(config)
}

//! TLS for OTLP export (feature `tls`): PEM validation for the configuration, and the rustls
//! client configurations of the HTTP and gRPC exporters.
//!
//! Every configuration is built with [`ClientConfig::builder_with_provider`] and the ring
//! provider, so nothing here reads or installs rustls' process-wide default `CryptoProvider`:
//! other TLS clients in the process (reqwest, a user's own hyper-rustls or tonic client) behave
//! exactly as without this feature. reqwest, which opentelemetry-otlp uses for plain `http://`
//! export, gets no TLS feature from us at all; `https://` OTLP/HTTP export goes through a
//! hyper-util client with a hyper-rustls connector instead.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry_http::hyper::HyperClient;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};

use crate::config::TlsSettings;

/// The crypto provider of every TLS connection we make. A fresh value, never the process default.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parses a PEM bundle of CA certificates; an error says what is wrong with it.
pub(crate) fn parse_ca_pem(pem: &[u8]) -> Result<RootCertStore, String> {
    let certs = parse_certificates(pem)?;
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "none of its {ignored} certificate(s) is a usable X.509 CA certificate"
        ));
    }
    Ok(roots)
}

/// Parses every `CERTIFICATE` block of a PEM file.
pub(crate) fn parse_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// Parses the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
pub(crate) fn parse_private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "the file holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".to_string()
        }
        other => format!("invalid PEM: {other}"),
    })
}

/// Checks that the key is supported and belongs to the first certificate of the chain.
pub(crate) fn check_key_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
    let chain = parse_certificates(cert_pem)?;
    let key = parse_private_key(key_pem)?;
    CertifiedKey::from_der(chain, key, &provider())
        .map(|_| ())
        .map_err(|e| format!("the key does not match the certificate or is unsupported: {e}"))
}

/// The operating system's trust store, loaded once per process (rustls-native-certs).
pub(crate) struct SystemRoots {
    pub roots: RootCertStore,
    /// Why some (or all) could not be loaded.
    pub errors: Vec<String>,
}

pub(crate) fn system_roots() -> &'static SystemRoots {
    static ROOTS: OnceLock<SystemRoots> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (_added, ignored) = roots.add_parsable_certificates(loaded.certs);
        let mut errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        if ignored > 0 {
            errors.push(format!(
                "{ignored} unparsable system certificate(s) skipped"
            ));
        }
        SystemRoots { roots, errors }
    })
}

/// The trust anchors of a signal: its custom CA if one was configured (as other OpenTelemetry
/// SDKs do, it replaces the system roots), else the system roots.
fn trust_roots(s: &TlsSettings) -> Result<RootCertStore, String> {
    match s.ca_pem() {
        Some(pem) => parse_ca_pem(pem),
        None => Ok(system_roots().roots.clone()),
    }
}

/// The rustls client configuration of a signal (trust roots, optional client certificate).
pub(crate) fn client_config(s: &TlsSettings) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS protocol versions: {e}"))?
        .with_root_certificates(trust_roots(s)?);
    match s.client_identity_pem() {
        Some((cert, key)) => builder
            .with_client_auth_cert(parse_certificates(cert)?, parse_private_key(key)?)
            .map_err(|e| format!("client certificate: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The HTTP client of `https://` OTLP/HTTP exports: hyper-util over hyper-rustls. Its futures
/// need a tokio runtime context (see [`crate::transport::OnRuntime`]); `timeout` bounds each
/// request, connection and TLS handshake included.
pub(crate) fn https_client(
    s: &TlsSettings,
    timeout: Duration,
) -> Result<HyperClient<HttpsConnector<HttpConnector>>, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(timeout));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_config(s)?)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Ok(HyperClient::new(connector, timeout, None))
}

/// The tonic TLS configuration of `https://` gRPC exports. tonic builds the rustls
/// configuration itself (with the process default provider if the application installed one,
/// else ring, never installing anything).
#[cfg(feature = "grpc")]
pub(crate) fn tonic_config(s: &TlsSettings) -> Result<tonic::transport::ClientTlsConfig, String> {
    let roots = trust_roots(s)?;
    let mut config = tonic::transport::ClientTlsConfig::new().trust_anchors(roots.roots);
    if let Some((cert, key)) = s.client_identity_pem() {
        config = config.identity(tonic::transport::Identity::from_pem(cert, key));
    }
    Ok(config)
}

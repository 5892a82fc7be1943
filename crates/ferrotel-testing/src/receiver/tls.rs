//! TLS termination for the fake receiver, and throwaway certificates to test with.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::ReceiverError;

/// TLS settings of a [`FakeReceiver`](super::FakeReceiver): its certificate and, to demand mutual
/// TLS, the CA that client certificates must chain to. Build one from PEM, or take
/// [`TestPki::receiver_tls`].
#[derive(Clone)]
pub struct ReceiverTls {
    cert_chain_pem: String,
    key_pem: String,
    client_ca_pem: Option<String>,
}

impl std::fmt::Debug for ReceiverTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverTls")
            .field("requires_client_cert", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl ReceiverTls {
    /// Serve with this PEM certificate chain and private key (no client certificate asked).
    pub fn new(cert_chain_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        Self {
            cert_chain_pem: cert_chain_pem.into(),
            key_pem: key_pem.into(),
            client_ca_pem: None,
        }
    }

    /// Refuse clients that do not present a certificate issued by this PEM CA (mutual TLS).
    pub fn require_client_cert(mut self, client_ca_pem: impl Into<String>) -> Self {
        self.client_ca_pem = Some(client_ca_pem.into());
        self
    }

    /// The rustls server configuration, with the ring provider passed explicitly (nothing is
    /// installed process-wide) and ALPN for gRPC (`h2`) and OTLP/HTTP (`http/1.1`).
    pub(crate) fn server_config(&self) -> Result<ServerConfig, ReceiverError> {
        let err =
            |what: &str, e: &dyn std::fmt::Display| ReceiverError::Tls(format!("{what}: {e}"));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = CertificateDer::pem_slice_iter(self.cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err("server certificate", &e))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| err("server key", &e))?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| err("protocol versions", &e))?;
        let builder = match &self.client_ca_pem {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                    let cert = cert.map_err(|e| err("client CA", &e))?;
                    roots.add(cert).map_err(|e| err("client CA", &e))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| err("client verifier", &e))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| err("server certificate", &e))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A throwaway public-key infrastructure generated at test time (rcgen, ECDSA P-256): a CA, a
/// server certificate for `127.0.0.1`, `::1` and `localhost` signed by it, and a client
/// certificate signed by it for mutual TLS. Nothing is stored beyond the value.
///
/// ```
/// use ferrotel_testing::{FakeReceiver, TestPki};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pki = TestPki::generate()?;
/// let receiver = FakeReceiver::builder().tls(pki.receiver_tls()).start()?;
/// assert!(receiver.http_endpoint().starts_with("https://127.0.0.1:"));
/// // Trust `pki.ca_pem()` in the exporter (`OTEL_EXPORTER_OTLP_CERTIFICATE` names a file
/// // with it; `pki.write_files(dir)` writes one).
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TestPki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

/// Where [`TestPki::write_files`] put the PEM files.
#[derive(Debug, Clone)]
pub struct TestPkiFiles {
    /// The CA certificate (for `OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub ca: PathBuf,
    /// The client certificate (for `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`).
    pub client_cert: PathBuf,
    /// The client private key (for `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub client_key: PathBuf,
}

impl TestPki {
    /// Generates a fresh CA, server and client certificate.
    pub fn generate() -> Result<Self, ReceiverError> {
        let err = |e: rcgen::Error| ReceiverError::Tls(format!("certificate generation: {e}"));
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "telemetry test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?)
            .map_err(err)?;

        let leaf = |names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
            let mut params = CertificateParams::new(names)?;
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![usage];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let key = KeyPair::generate()?;
            let cert = params.signed_by(&key, &ca)?;
            Ok::<_, rcgen::Error>((cert.pem(), key.serialize_pem()))
        };
        let (server_cert_pem, server_key_pem) = leaf(
            vec!["127.0.0.1".into(), "::1".into(), "localhost".into()],
            "fake OTLP receiver",
            ExtendedKeyUsagePurpose::ServerAuth,
        )
        .map_err(err)?;
        let (client_cert_pem, client_key_pem) = leaf(
            vec!["telemetry-test-client".into()],
            "telemetry test client",
            ExtendedKeyUsagePurpose::ClientAuth,
        )
        .map_err(err)?;
        Ok(TestPki {
            ca_pem: ca.pem(),
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
        })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The client certificate, PEM.
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert_pem
    }

    /// The client private key, PEM (PKCS#8).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// Receiver settings serving the server certificate (no client certificate asked).
    pub fn receiver_tls(&self) -> ReceiverTls {
        ReceiverTls::new(self.server_cert_pem.clone(), self.server_key_pem.clone())
    }

    /// Receiver settings that also demand a client certificate issued by this CA.
    pub fn receiver_mtls(&self) -> ReceiverTls {
        self.receiver_tls().require_client_cert(self.ca_pem.clone())
    }

    /// Writes `ca.pem`, `client.pem` and `client.key` into `dir` (which must exist).
    pub fn write_files(&self, dir: &Path) -> io::Result<TestPkiFiles> {
        let files = TestPkiFiles {
            ca: dir.join("ca.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        };
        std::fs::write(&files.ca, &self.ca_pem)?;
        std::fs::write(&files.client_cert, &self.client_cert_pem)?;
        std::fs::write(&files.client_key, &self.client_key_pem)?;
        Ok(files)
    }
}

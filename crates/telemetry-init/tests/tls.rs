//! OTLP over TLS (feature `tls`): a TLS front with a self-signed certificate in front of the
//! fake receiver. With `OTEL_EXPORTER_OTLP_CERTIFICATE` naming its CA, HTTP and gRPC exports
//! arrive; without it, the untrusted certificate is refused and the failure is counted.
#![cfg(all(feature = "testing", feature = "tls", feature = "grpc"))]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use telemetry::Protocol;
use telemetry::testing::FakeReceiver;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Terminates TLS on a free loopback port and forwards the plain bytes to `backend`.
struct TlsFront {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn tls_front(backend: SocketAddr, cert: &rcgen::CertifiedKey<rcgen::KeyPair>) -> TlsFront {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut plain) = TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    TlsFront {
        addr,
        _runtime: runtime,
    }
}

fn export_through(front: &TlsFront, protocol: Protocol, ca: Option<String>) -> telemetry::Stats {
    let guard = telemetry::builder()
        .service_name("tls-test")
        .endpoint(format!("https://localhost:{}", front.addr.port()))
        .protocol(protocol)
        .global(false)
        .env_lookup(move |name| {
            (name == "OTEL_EXPORTER_OTLP_CERTIFICATE")
                .then(|| ca.clone())
                .flatten()
        })
        .console_format(telemetry::ConsoleFormat::Off)
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init");
    assert!(
        guard.config().warnings.is_empty(),
        "{:?}",
        guard.config().warnings
    );
    tracing::dispatcher::with_default(guard.dispatch(), || {
        tracing::info_span!("over_tls").in_scope(|| {});
    });
    guard.shutdown().stats
}

#[test]
fn exports_over_tls_with_a_custom_ca_and_refuses_an_untrusted_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("telemetry-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, cert.cert.pem()).unwrap();
    let ca = ca_path.to_string_lossy().into_owned();

    let receiver = FakeReceiver::start().unwrap();
    let http_front = tls_front(receiver.http_addr(), &cert);
    let grpc_front = tls_front(receiver.grpc_addr(), &cert);

    for (front, protocol) in [
        (&http_front, Protocol::HttpProtobuf),
        (&grpc_front, Protocol::Grpc),
    ] {
        receiver.clear();
        let stats = export_through(front, protocol, Some(ca.clone()));
        assert_eq!(stats.spans.exported, 1, "{protocol:?}: {stats:?}");
        receiver
            .wait_for_blocking(Duration::from_secs(10), |r| {
                r.span_named("over_tls").is_some()
            })
            .unwrap();

        receiver.clear();
        let stats = export_through(front, protocol, None);
        assert_eq!(
            stats.spans.exported, 0,
            "{protocol:?}: untrusted certificate accepted"
        );
        assert_eq!(stats.spans.failed, 1, "{protocol:?}: {stats:?}");
        assert!(receiver.span_named("over_tls").is_none());
    }
    let _ = std::fs::remove_dir_all(dir);
}

//! The connection loop shared by the HTTP and gRPC listeners.
//!
//! Hand-written rather than `axum::serve`/`tonic::transport::Server` because fault tests need a
//! hard stop: aborting the accept task closes the listener AND every open (keep-alive or HTTP/2)
//! connection, exactly like a collector process dying. Graceful servers would keep serving
//! already-open connections.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::runtime::Handle;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::store::Shared;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS termination of a listener, and where handshake failures are recorded.
#[derive(Clone)]
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    pub shared: Arc<Shared>,
}

/// Binds `addr` now, so the caller learns the port (and any error) synchronously.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    // std sets SO_REUSEADDR on Unix, so a restart can rebind a port with connections in TIME_WAIT.
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Binds `addr`, retrying `AddrInUse` for up to `patience` (a just-stopped listener of ours may
/// not be dropped yet).
pub(crate) fn bind_with_retry(
    addr: SocketAddr,
    patience: Duration,
) -> io::Result<std::net::TcpListener> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        match bind(addr) {
            Err(e)
                if e.kind() == io::ErrorKind::AddrInUse && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// A listener being served on a runtime.
pub(crate) struct RunningServer {
    task: JoinHandle<()>,
    /// Disconnects once the accept task (and with it the listener) has been dropped.
    closed: mpsc::Receiver<()>,
}

/// Owns the listener inside the task; dropping it closes the socket, then signals `closed`.
struct Listening {
    listener: tokio::net::TcpListener,
    _closed: mpsc::Sender<()>,
}

pub(crate) fn spawn(
    runtime: &Handle,
    listener: std::net::TcpListener,
    app: Router,
    tls: Option<Tls>,
) -> io::Result<RunningServer> {
    let listener = {
        let _enter = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let (tx, closed) = mpsc::channel();
    let listening = Listening {
        listener,
        _closed: tx,
    };
    let task = runtime.spawn(serve(listening, app, tls));
    Ok(RunningServer { task, closed })
}

async fn serve(listening: Listening, app: Router, tls: Option<Tls>) {
    // Dropping the set (when this task is aborted) aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listening.listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(app.clone());
                    let tls = tls.clone();
                    connections.spawn(async move {
                        // Errors here are client disconnects or protocol errors of one
                        // connection; the receiver keeps serving others.
                        let builder = auto::Builder::new(TokioExecutor::new());
                        let Some(tls) = tls else {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                            return;
                        };
                        let handshake =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor.accept(stream));
                        match handshake.await {
                            Ok(Ok(stream)) => {
                                let io = TokioIo::new(stream);
                                let _ = builder.serve_connection(io, service).await;
                            }
                            Ok(Err(e)) => tls.shared.record_tls_error(e.to_string()),
                            Err(_) => tls.shared.record_tls_error(format!(
                                "handshake not completed within {HANDSHAKE_TIMEOUT:?}"
                            )),
                        }
                    });
                }
                // E.g. EMFILE: back off briefly instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

impl RunningServer {
    /// Stops accepting and drops every connection. With `wait`, blocks (at most `patience`)
    /// until the listener is closed; only do that when another thread drives the runtime.
    pub(crate) fn stop(self, wait: Option<Duration>) {
        self.task.abort();
        if let Some(patience) = wait {
            // `Err(Disconnected)` is the signal; a timeout just means the runtime is slow.
            let _ = self.closed.recv_timeout(patience);
        }
    }
}

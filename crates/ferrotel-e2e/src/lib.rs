//! Harness for the workspace's end-to-end tests against real peers.
//!
//! - [`Rotel`]: a process guard around `rotel-agent` (the lightweight OpenTelemetry collector
//!   from the PyPI package `rotel`), started on free loopback ports, forwarding OTLP to an
//!   endpoint (typically a [`ferrotel_testing::FakeReceiver`]) and/or printing what it receives
//!   (`--debug-log`). Killed on drop; can be stopped and restarted on the same ports.
//! - [`otlp`]: tracer/meter/logger providers wired to the raw `opentelemetry-otlp` exporters, to
//!   send through a peer without going through `ferrotel::init()`.
//!
//! A missing peer is an error, never a skip: the tests fail and say what to install.
//!
//! Dependencies: `ferrotel-testing` (the fake receiver), `ferrotel` (tests of `init()` through a
//! real collector), the OpenTelemetry SDK and
//! OTLP exporters (to produce real OTLP), `tokio` (gRPC exporters and async tests), `tempfile`
//! (per-instance scratch directories), `libc` (`SIGTERM` for a graceful stop), `thiserror`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod otlp;

/// How long to wait for rotel's ports to accept connections after spawning it.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a graceful stop (`SIGTERM`) may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often to poll ports, process state and output.
const POLL: Duration = Duration::from_millis(25);

/// What went wrong starting, stopping or observing a peer process.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The `rotel-agent` binary was not found.
    #[error(
        "rotel-agent not found ({searched}); install the real collector with `pip install rotel` \
         (or set ROTEL_AGENT=/path/to/rotel-agent)"
    )]
    RotelMissing {
        /// Where it looked.
        searched: String,
    },
    /// Spawning, signalling or waiting on the process failed.
    #[error("rotel-agent: {context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The OS error.
        source: io::Error,
    },
    /// The process exited before its ports accepted connections.
    #[error("rotel-agent exited with {status} before it was ready; output:\n{output}")]
    ExitedEarly {
        /// The exit status.
        status: String,
        /// Its captured stdout and stderr.
        output: String,
    },
    /// The ports did not accept connections in time.
    #[error(
        "rotel-agent did not accept connections on {addrs} within {timeout:?}; output:\n{output}"
    )]
    NotReady {
        /// The addresses probed.
        addrs: String,
        /// The timeout.
        timeout: Duration,
        /// Its captured stdout and stderr.
        output: String,
    },
    /// Expected output did not appear in time.
    #[error("rotel-agent output did not match within {timeout:?}; output:\n{output}")]
    OutputTimeout {
        /// The timeout.
        timeout: Duration,
        /// Its captured stdout and stderr.
        output: String,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
    let context = context.into();
    move |source| HarnessError::Io { context, source }
}

/// Protocol rotel's OTLP exporter uses towards its endpoint (`--otlp-exporter-protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportProtocol {
    /// OTLP/gRPC (rotel's default). The endpoint is `http://host:port`.
    Grpc,
    /// OTLP/HTTP protobuf. The endpoint is the base URL; rotel appends `/v1/<signal>`.
    Http,
}

/// A signal rotel prints with `--debug-log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugSignal {
    /// `--debug-log traces`.
    Traces,
    /// `--debug-log metrics`.
    Metrics,
    /// `--debug-log logs`.
    Logs,
}

impl DebugSignal {
    fn flag(self) -> &'static str {
        match self {
            DebugSignal::Traces => "traces",
            DebugSignal::Metrics => "metrics",
            DebugSignal::Logs => "logs",
        }
    }
}

/// Configures a [`Rotel`]; see [`Rotel::builder`].
#[derive(Debug, Clone, Default)]
pub struct RotelBuilder {
    exporter: Option<(String, ExportProtocol)>,
    debug: Vec<DebugSignal>,
    batch_timeout: Option<Duration>,
    retry_initial_backoff: Option<Duration>,
    extra_args: Vec<String>,
}

impl RotelBuilder {
    /// Forward everything received as OTLP to `endpoint` (e.g. a fake receiver's
    /// `grpc_endpoint()` with [`ExportProtocol::Grpc`] or `http_endpoint()` with
    /// [`ExportProtocol::Http`]). Without an exporter rotel discards data (`blackhole`).
    pub fn export_to(mut self, endpoint: impl Into<String>, protocol: ExportProtocol) -> Self {
        self.exporter = Some((endpoint.into(), protocol));
        self
    }

    /// Print received `signal` data on stdout (`--debug-log`, detailed verbosity).
    pub fn debug_log(mut self, signal: DebugSignal) -> Self {
        if !self.debug.contains(&signal) {
            self.debug.push(signal);
        }
        self
    }

    /// How long rotel batches before exporting (`--batch-timeout`, rotel default 200ms).
    pub fn batch_timeout(mut self, timeout: Duration) -> Self {
        self.batch_timeout = Some(timeout);
        self
    }

    /// First retry delay of rotel's exporter (`--otlp-exporter-retry-initial-backoff`,
    /// rotel default 5s).
    pub fn retry_initial_backoff(mut self, backoff: Duration) -> Self {
        self.retry_initial_backoff = Some(backoff);
        self
    }

    /// Any other `rotel-agent start` argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Starts rotel on two free loopback ports and waits (bounded) until both accept
    /// connections.
    pub fn start(self) -> Result<Rotel, HarnessError> {
        let binary = find_rotel_agent()?;
        // The ports are probed free and then handed to rotel; if another process grabbed one
        // in between, rotel exits at once: try again with fresh ports (bounded).
        let mut attempt = 1;
        loop {
            match self.start_once(&binary) {
                Err(HarnessError::ExitedEarly { output, .. })
                    if attempt < 3 && output.to_ascii_lowercase().contains("address") =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn start_once(&self, binary: &Path) -> Result<Rotel, HarnessError> {
        let binary = binary.to_path_buf();
        let dir = tempfile::Builder::new()
            .prefix("rotel-e2e-")
            .tempdir()
            .map_err(io_err("creating its scratch directory"))?;
        let http_addr = free_loopback_addr()?;
        let grpc_addr = free_loopback_addr()?;
        let mut rotel = Rotel {
            binary,
            args: Vec::new(),
            http_addr,
            grpc_addr,
            output_path: dir.path().join("rotel-output.log"),
            dir,
            child: None,
        };
        rotel.args = self.args(&rotel);
        rotel.spawn()?;
        Ok(rotel)
    }

    fn args(&self, rotel: &Rotel) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "start".into(),
            "--otlp-http-endpoint".into(),
            rotel.http_addr.to_string(),
            "--otlp-grpc-endpoint".into(),
            rotel.grpc_addr.to_string(),
            // The defaults are shared /tmp paths: two instances would fight over them.
            "--pid-file".into(),
            rotel.dir.path().join("rotel.pid").display().to_string(),
            "--log-file".into(),
            rotel
                .dir
                .path()
                .join("rotel-daemon.log")
                .display()
                .to_string(),
        ];
        match &self.exporter {
            Some((endpoint, protocol)) => {
                args.extend(["--exporter".into(), "otlp".into()]);
                args.extend(["--otlp-exporter-endpoint".into(), endpoint.clone()]);
                let protocol = match protocol {
                    ExportProtocol::Grpc => "grpc",
                    ExportProtocol::Http => "http",
                };
                args.extend(["--otlp-exporter-protocol".into(), protocol.into()]);
            }
            // Rotel refuses to start with the default otlp exporter and no endpoint.
            None => args.extend(["--exporter".into(), "blackhole".into()]),
        }
        for signal in &self.debug {
            args.extend(["--debug-log".into(), signal.flag().into()]);
        }
        if !self.debug.is_empty() {
            args.extend(["--debug-log-verbosity".into(), "detailed".into()]);
        }
        if let Some(t) = self.batch_timeout {
            args.extend(["--batch-timeout".into(), format!("{}ms", t.as_millis())]);
        }
        if let Some(b) = self.retry_initial_backoff {
            args.extend([
                "--otlp-exporter-retry-initial-backoff".into(),
                format!("{}ms", b.as_millis()),
            ]);
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// A running `rotel-agent` process, killed on drop.
///
/// ```no_run
/// use ferrotel_e2e::{ExportProtocol, Rotel};
/// use ferrotel_testing::FakeReceiver;
///
/// let receiver = FakeReceiver::start()?;
/// let rotel = Rotel::builder()
///     .export_to(receiver.grpc_endpoint(), ExportProtocol::Grpc)
///     .start()?;
/// // send OTLP to rotel.http_endpoint() or rotel.grpc_endpoint(), then assert on `receiver`.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Rotel {
    binary: PathBuf,
    args: Vec<String>,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    output_path: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Rotel {
    /// A builder; by default rotel discards what it receives.
    pub fn builder() -> RotelBuilder {
        RotelBuilder::default()
    }

    /// Address of rotel's OTLP/HTTP receiver.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Address of rotel's OTLP/gRPC receiver.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// `http://127.0.0.1:PORT` of the OTLP/HTTP receiver (base URL, without `/v1/...`).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `http://127.0.0.1:PORT/v1/<signal>` (`signal` is `traces`, `metrics` or `logs`).
    pub fn http_signal_url(&self, signal: &str) -> String {
        format!("http://{}/v1/{signal}", self.http_addr)
    }

    /// `http://127.0.0.1:PORT` of the OTLP/gRPC receiver.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The arguments rotel runs with (for failure messages).
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// File holding rotel's stdout and stderr (appended across restarts).
    pub fn output_path(&self) -> &Path {
        &self.output_path
    }

    /// Everything rotel printed so far (stdout and stderr, across restarts).
    pub fn output(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.output_path) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Waits until rotel's output satisfies `condition`, polling; never longer than `timeout`.
    pub fn wait_for_output(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&str) -> bool,
    ) -> Result<String, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            let output = self.output();
            if condition(&output) {
                return Ok(output);
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::OutputTimeout { timeout, output });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(&mut self) -> Result<(), HarnessError> {
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.output_path)
            .map_err(io_err("opening its output file"))?;
        let stderr = output
            .try_clone()
            .map_err(io_err("opening its output file"))?;
        let child = Command::new(&self.binary)
            .args(&self.args)
            // Plain text output (no ANSI colour codes) so tests can match it.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(output))
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(io_err(format!("spawning {}", self.binary.display())))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(HarnessError::ExitedEarly {
                    status: status.to_string(),
                    output: self.output(),
                });
            }
            let ready = [self.http_addr, self.grpc_addr]
                .iter()
                .all(|addr| TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok());
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(HarnessError::NotReady {
                    addrs: format!("{} and {}", self.http_addr, self.grpc_addr),
                    timeout: READY_TIMEOUT,
                    output: self.output(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Graceful stop: `SIGTERM`, then waits up to 10 s for the exit (rotel flushes its
    /// batches and exporters on `SIGTERM`), then kills. Returns how long the exit took.
    pub fn stop(&mut self) -> Result<Duration, HarnessError> {
        let started = Instant::now();
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(started.elapsed());
        }
        let pid = libc::pid_t::try_from(child.id()).map_err(|_| HarnessError::Io {
            context: "pid out of range".into(),
            source: io::Error::other("pid does not fit pid_t"),
        })?;
        // SAFETY: plain syscall on the pid of a child we spawned and have not yet reaped, so
        // the pid cannot have been reused by another process.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        if rc != 0 {
            let source = io::Error::last_os_error();
            let _ = child.kill();
            let _ = child.wait();
            return Err(HarnessError::Io {
                context: "sending SIGTERM".into(),
                source,
            });
        }
        let deadline = started + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(started.elapsed()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(started.elapsed());
                }
            }
        }
    }

    /// Hard stop (`SIGKILL`): nothing is flushed, like a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts rotel again with the same arguments and ports (after [`stop`](Self::stop) or
    /// [`kill`](Self::kill)); waits until it accepts connections. No-op if running.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        if self.is_running() {
            return Ok(());
        }
        self.child = None;
        self.spawn()
    }

    /// Rotel's output from byte `offset` on (to look only at what a later step printed).
    pub fn output_since(&self, offset: u64) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.output_path)
            && f.seek(SeekFrom::Start(offset)).is_ok()
        {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Current size of the output file (an offset for [`output_since`](Self::output_since)).
    pub fn output_len(&self) -> u64 {
        std::fs::metadata(&self.output_path)
            .map(|m| m.len())
            .unwrap_or(0)
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            // Keep the evidence next to the failing test's output.
            eprintln!(
                "--- rotel-agent {:?} output ---\n{}",
                self.args,
                self.output()
            );
        }
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_loopback_addr() -> Result<SocketAddr, HarnessError> {
    let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .map_err(io_err("finding a free port"))?;
    listener.local_addr().map_err(io_err("finding a free port"))
}

/// Finds `rotel-agent`: `$ROTEL_AGENT`, then `PATH`, then the `rotel` Python package (pip
/// installs the binary inside the package, not on `PATH`).
pub fn find_rotel_agent() -> Result<PathBuf, HarnessError> {
    let mut searched = Vec::new();
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        searched.push(format!("$ROTEL_AGENT={}", path.display()));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("rotel-agent");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        searched.push("PATH".into());
    }
    for python in ["python3", "python"] {
        let out = Command::new(python)
            .args([
                "-c",
                "import os, rotel; print(os.path.dirname(rotel.__file__))",
            ])
            .stderr(Stdio::null())
            .output();
        if let Ok(out) = out
            && out.status.success()
        {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let candidate = Path::new(&dir).join("rotel-agent");
            if candidate.is_file() {
                return Ok(candidate);
            }
            searched.push(format!("{}", candidate.display()));
        } else {
            searched.push(format!("{python} -c 'import rotel'"));
        }
    }
    Err(HarnessError::RotelMissing {
        searched: searched.join(", "),
    })
}

//! Shared by the `demo_*` and `examples_*` end-to-end tests: builds an example binary with
//! cargo (same target directory and profile as the tests), runs it as a child process on
//! loopback with its stdout/stderr captured, reads its end-of-run summary, and kills it on drop.

#![allow(dead_code)] // each test file uses a different part

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long building an example may take (a cold build on 2 cores).
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

fn cargo() -> String {
    std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned())
}

/// Builds binary `bin` of workspace package `package` (no-op when up to date) and returns its
/// path. Uses the profile the tests were built with. Panics with cargo's output on failure.
pub fn example_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let cache = BUILT.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cache.get(bin) {
        return p.clone();
    }
    let release = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf))
        .is_some_and(|profile_dir| profile_dir.ends_with("release"));
    let mut cmd = Command::new(cargo());
    cmd.args([
        "build",
        "--quiet",
        "--message-format=json",
        "-p",
        package,
        "--bin",
        bin,
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if release {
        cmd.arg("--release");
    }
    let started = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running cargo build -p {package}: {e}"));
    assert!(
        out.status.success(),
        "cargo build -p {package} failed after {:?}:\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < BUILD_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exe = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo did not report the {bin} executable:\n{stdout}"));
    cache.insert(bin.to_owned(), exe.clone());
    exe
}

/// Lines a child printed so far, shared with its reader thread.
#[derive(Debug, Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn drain(&self, stream: impl Read + Send + 'static) {
        let lines = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                lines.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
    }

    /// A copy of every line.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Everything, joined.
    pub fn text(&self) -> String {
        self.all().join("\n")
    }
}

/// A running example process, killed on drop.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub stdout: Lines,
    pub stderr: Lines,
    pub dir: tempfile::TempDir,
    status: Option<ExitStatus>,
}

/// Removes every `OTEL_*` variable inherited from the test environment, so each test states
/// its whole telemetry configuration.
fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && (k.starts_with("OTEL_")
                || k == "RUST_LOG"
                || k == "TELEMETRY_LOG_FORMAT"
                || k == "TELEMETRY_LOG_SCHEMA")
        {
            cmd.env_remove(k);
        }
    }
}

impl Proc {
    /// Starts `binary` with `args` and `env` (after removing inherited `OTEL_*`).
    pub fn spawn(binary: &Path, args: &[&str], env: &[(&str, String)]) -> Proc {
        let dir = tempfile::tempdir().expect("scratch directory");
        let mut cmd = Command::new(binary);
        clean_env(&mut cmd);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", binary.display()));
        let (stdout, stderr) = (Lines::default(), Lines::default());
        stdout.drain(child.stdout.take().expect("piped stdout"));
        stderr.drain(child.stderr.take().expect("piped stderr"));
        Proc {
            name: binary
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            child: Some(child),
            stdout,
            stderr,
            dir,
            status: None,
        }
    }

    /// Waits until a stdout line contains `marker` and returns it.
    pub fn wait_for_line(&mut self, marker: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.stdout.all().into_iter().find(|l| l.contains(marker)) {
                return l;
            }
            if let Some(status) = self.try_wait() {
                panic!(
                    "{} exited ({status}) before printing {marker:?}:\n{}",
                    self.name,
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {marker:?} within {timeout:?}:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .expect("process was started")
    }

    /// Exit status, if it exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Some(c) = self.child.as_mut()
            && let Ok(Some(s)) = c.try_wait()
        {
            self.status = Some(s);
        }
        self.status
    }

    /// Resident set size in KiB (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("reading /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Sends `SIGTERM`.
    pub fn sigterm(&self) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid fits pid_t");
        // SAFETY: a plain syscall on the pid of a child we spawned and have not reaped.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM): {}", std::io::Error::last_os_error());
    }

    /// Waits for the exit, at most `timeout` (then fails the test).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait() {
                // Let the reader threads take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {timeout:?}:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Both streams, for failure messages (the last 200 lines of stdout).
    pub fn output(&self) -> String {
        let out = self.stdout.all();
        let tail = &out[out.len().saturating_sub(200)..];
        format!(
            "--- stdout (tail) ---\n{}\n--- stderr ---\n{}",
            tail.join("\n"),
            self.stderr.text()
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- {} output ---\n{}", self.name, self.output());
        }
    }
}

/// The contextd demo, started and listening.
#[derive(Debug)]
pub struct Demo {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Demo {
    /// Builds (if needed) and starts `contextd-demo` with `args` plus `--summary-json`, and waits
    /// until it listens.
    pub fn start(args: &[&str], env: &[(&str, String)]) -> Demo {
        let bin = example_binary("contextd-demo", "contextd-demo");
        let summary_arg = "--summary-json=summary.json";
        let mut all: Vec<&str> = args.to_vec();
        all.push(summary_arg);
        let mut proc = Proc::spawn(&bin, &all, env);
        let line = proc.wait_for_line("contextd-demo listening on ", Duration::from_secs(60));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("URL in the listening line")
            .to_owned();
        Demo { proc, url }
    }

    /// The summary the demo wrote at exit.
    pub fn summary(&self) -> Value {
        let path = self.proc.dir.path().join("summary.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}\n{}", path.display(), self.proc.output()));
        serde_json::from_str(&text).expect("summary is JSON")
    }

    /// GET `path`; returns (status, body, elapsed).
    pub fn get(&self, path: &str) -> (u16, String, Duration) {
        http("GET", &format!("{}{path}", self.url), None)
    }

    /// POST a JSON body to `path`; returns (status, body, elapsed).
    pub fn post(&self, path: &str, body: &str) -> (u16, String, Duration) {
        http("POST", &format!("{}{path}", self.url), Some(body))
    }
}

/// One blocking HTTP request with a 10 s timeout; a transport error fails the test.
pub fn http(method: &str, url: &str, body: Option<&str>) -> (u16, String, Duration) {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client")
    });
    let started = Instant::now();
    let req = match method {
        "POST" => client
            .post(url)
            .header("content-type", "application/json")
            .body(body.unwrap_or("{}").to_owned()),
        _ => client.get(url),
    };
    let resp = req.send().unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    (status, text, started.elapsed())
}

/// Calls `f` every 500 ms until it succeeds; panics with its last error after `timeout`.
pub fn wait_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("{what} within {timeout:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// Telemetry settings that make a short run export quickly.
pub fn fast_export_env() -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".to_owned()),
    ]
}

/// A loopback address nothing listens on (bound, then released).
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}

/// The 31 catalog instrument names (OTel names), as the meters crate lists them.
pub fn catalog_names() -> Vec<&'static str> {
    ferrotel_catalog::contextd::CATALOG
        .iter()
        .map(|e| e.descriptor.name)
        .collect()
}

/// `summary[path...]` as u64.
pub fn u64_at(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("summary has no number at {path:?}: {v:#}"))
}

//! Command-line options. Four flags do not justify an argument-parsing dependency; every bad
//! value is an error naming the flag and the value.

use std::path::PathBuf;
use std::time::Duration;

/// Usage text printed by `--help` and after a bad option.
pub const USAGE: &str = "\
usage: contextd-demo [--duration 20s] [--rate 20] [--port 0 | --listen ADDR:PORT] [--fixtures DIR]
                     [--summary-json FILE]

  --duration D       stop after D (e.g. 500ms, 20s, 2m); default: run until Ctrl-C / SIGTERM
  --rate N           built-in load generator: N requests per second against the demo's own
                     HTTP API (0 disables it); default 20
  --port P           listen on 127.0.0.1:P; default 0 (an OS-assigned free port, printed)
  --listen A:P       listen on address A instead of loopback, e.g. 172.17.0.1:9464 (the
                     Docker bridge, which stack B's Prometheus scrapes as
                     host.docker.internal:9464); the API is unauthenticated, so only on
                     purpose
  --fixtures DIR     repository fixture read for the test/bug gauges; default: the one shipped
                     with the example
  --summary-json F   also write the end-of-run summary as JSON to F

Telemetry is configured by the standard OTEL_* variables (docs/configuration.md), e.g.
OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 (the default) or
OTEL_EXPORTER_OTLP_PROTOCOL=grpc with OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317.";

/// Parsed options.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// How long to run; `None` runs until a signal.
    pub duration: Option<Duration>,
    /// Load generator rate in requests per second (0: off).
    pub rate: f64,
    /// Port on 127.0.0.1 (0: OS-assigned).
    pub port: u16,
    /// Another listen address than loopback (`--listen`), which wins over `port`.
    pub listen: Option<std::net::SocketAddr>,
    /// Fixture repository for the repository gauges.
    pub fixtures: PathBuf,
    /// Where to write the JSON summary.
    pub summary_json: Option<PathBuf>,
    /// `--help` was given.
    pub help: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            duration: None,
            rate: 20.0,
            port: 0,
            listen: None,
            fixtures: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/repo")),
            summary_json: None,
            help: false,
        }
    }
}

impl Args {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut out = Args::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            if flag == "--help" || flag == "-h" {
                out.help = true;
                continue;
            }
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--duration" => {
                    let v = value()?;
                    out.duration =
                        Some(parse_duration(&v).map_err(|e| format!("--duration {v:?}: {e}"))?);
                }
                "--rate" => {
                    let v = value()?;
                    out.rate = match v.parse::<f64>() {
                        Ok(r) if r.is_finite() && (0.0..=100_000.0).contains(&r) => r,
                        _ => {
                            return Err(format!(
                                "--rate {v:?}: expected a number of requests per second between 0 and 100000"
                            ));
                        }
                    };
                }
                "--port" => {
                    let v = value()?;
                    out.port = v
                        .parse()
                        .map_err(|_| format!("--port {v:?}: expected a port number 0-65535"))?;
                }
                "--listen" => {
                    let v = value()?;
                    out.listen = Some(v.parse().map_err(|_| {
                        format!("--listen {v:?}: expected ADDRESS:PORT, e.g. 172.17.0.1:9464")
                    })?);
                }
                "--fixtures" => out.fixtures = PathBuf::from(value()?),
                "--summary-json" => out.summary_json = Some(PathBuf::from(value()?)),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(out)
    }
}

/// Parses `500ms`, `20s`, `2m`, `1h` or a bare number of seconds (`1.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a number followed by ms, s, m or h".to_owned())?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("unknown unit {u:?} (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn flags() {
        let a = parse(&["--duration", "3s", "--rate=50", "--port", "0"]).unwrap();
        assert_eq!(a.duration, Some(Duration::from_secs(3)));
        assert_eq!(a.rate, 50.0);
        assert!(parse(&["--rate", "-1"]).unwrap_err().contains("--rate"));
        assert!(parse(&["--port", "70000"]).unwrap_err().contains("--port"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert_eq!(
            parse(&["--listen", "172.17.0.1:9464"]).unwrap().listen,
            Some("172.17.0.1:9464".parse().unwrap())
        );
        assert!(
            parse(&["--listen", "9464"])
                .unwrap_err()
                .contains("--listen")
        );
        assert!(
            parse(&["--duration"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(parse(&["-h"]).unwrap().help);
    }
}

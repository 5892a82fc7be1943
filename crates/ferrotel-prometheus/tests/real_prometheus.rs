//! A real Prometheus (Debian package `prometheus`, binaries `prometheus` and `promtool`)
//! scrapes an axum and an actix-web service behind the `ferrotel-http` middleware on loopback; the label sets are
//! asserted through its HTTP API. Fails (never skips) when the binaries are missing.

mod support;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrotel_prometheus::Format;
use support::*;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary(name: &str) -> String {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    assert!(
        !found.is_empty(),
        "`{name}` is not installed: run `apt-get install -y prometheus` (this test never skips)"
    );
    found
}

async fn query(client: &reqwest::Client, prom: &str, q: &str) -> Vec<serde_json::Value> {
    let response: serde_json::Value = client
        .get(
            reqwest::Url::parse_with_params(&format!("{prom}/api/v1/query"), [("query", q)])
                .unwrap(),
        )
        .send()
        .await
        .expect("prometheus query")
        .json()
        .await
        .expect("json");
    assert_eq!(response["status"], "success", "{response}");
    response["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn label_names(series: &serde_json::Value) -> BTreeSet<String> {
    series["metric"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// Quote, backslash, LF, CR, NUL, ESC (a colour sequence), a Unicode line separator and a line
/// that would look like a sample if the LF were written raw.
const HOSTILE_LABEL_VALUE: &str = "a\"b\\c\nforged_total 1e9\rd\u{0}e\u{1b}[31mf\u{2028}g";

#[tokio::test]
async fn prometheus_scrapes_both_frameworks() {
    let prometheus = binary("prometheus");
    let promtool = binary("promtool");

    let axum_telemetry = Telemetry::new();
    let axum = Axum::start(&axum_telemetry);
    let actix_telemetry = Telemetry::new();
    let actix = Actix::start(&actix_telemetry);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for base in [&axum.base, &actix.base] {
        for path in ["/users/1", "/users/2", "/fail", "/nope"] {
            client.get(format!("{base}{path}")).send().await.unwrap();
        }
    }

    // A label value with everything that could break a line or a quoted string.
    {
        use opentelemetry::metrics::MeterProvider as _;
        axum_telemetry
            .provider
            .meter("hostile")
            .u64_counter("hostile.labels")
            .with_description("A counter with a hostile label value.")
            .build()
            .add(
                1,
                &[opentelemetry::KeyValue::new("value", HOSTILE_LABEL_VALUE)],
            );
    }

    // The text format passes promtool's parser and linter (promtool reads only that format;
    // the OpenMetrics output is what the Prometheus server below negotiates and ingests).
    {
        let format = Format::Text;
        let body = axum_telemetry.exporter.render_format(format).unwrap();
        let mut child = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool rejected {format:?}:\n{}{}\n{body}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let dir = std::env::temp_dir().join(format!("http-mw-prom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = |base: &str| base.trim_start_matches("http://").to_owned();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: axum\n    static_configs:\n      - targets: ['{}']\n  - job_name: actix\n    static_configs:\n      - targets: ['{}']\n",
        target(&axum.base),
        target(&actix.base)
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let _prom = KillOnDrop(
        Command::new(&prometheus)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let prom = format!("http://127.0.0.1:{port}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let requests = loop {
        if let Ok(r) = client.get(format!("{prom}/-/ready")).send().await
            && r.status() == 200
        {
            let series = query(&client, &prom, "http_server_requests_total").await;
            let jobs: BTreeSet<_> = series
                .iter()
                .map(|s| s["metric"]["job"].to_string())
                .collect();
            if jobs.len() == 2 {
                break series;
            }
        }
        assert!(
            Instant::now() < deadline,
            "prometheus never scraped both services"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // The hostile label value arrives in Prometheus exactly as recorded: escaped in the
    // exposition, nothing forged, nothing lost.
    let hostile = query(&client, &prom, "hostile_labels_total{job=\"axum\"}").await;
    assert_eq!(hostile.len(), 1, "{hostile:?}");
    assert_eq!(
        hostile[0]["metric"]["value"].as_str(),
        Some(HOSTILE_LABEL_VALUE),
        "{hostile:?}"
    );

    let up = query(&client, &prom, "up").await;
    assert_eq!(up.len(), 2);
    assert!(up.iter().all(|s| s["value"][1] == "1"), "{up:?}");

    let base_labels: BTreeSet<String> = [
        "__name__",
        "instance",
        "job",
        "http_request_method",
        "http_response_status_code",
        "network_protocol_version",
        "otel_scope_name",
        "otel_scope_version",
        "url_scheme",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let with = |extra: &[&str]| {
        let mut set = base_labels.clone();
        set.extend(extra.iter().map(|s| s.to_string()));
        set
    };
    for job in ["axum", "actix"] {
        let of_job: Vec<_> = requests
            .iter()
            .filter(|s| s["metric"]["job"] == job)
            .collect();
        // /users/{id} (200), /fail (500, error.type) and the unmatched 404 (no route).
        assert_eq!(of_job.len(), 3, "{job}: {of_job:?}");
        let ok = of_job
            .iter()
            .find(|s| s["metric"]["http_route"] == "/users/{id}")
            .unwrap();
        assert_eq!(label_names(ok), with(&["http_route"]));
        assert_eq!(ok["value"][1], "2");
        let fail = of_job
            .iter()
            .find(|s| s["metric"]["http_route"] == "/fail")
            .unwrap();
        assert_eq!(label_names(fail), with(&["http_route", "error_type"]));
        assert_eq!(fail["metric"]["error_type"], "500");
        let missing = of_job
            .iter()
            .find(|s| s["metric"]["http_response_status_code"] == "404")
            .unwrap();
        assert_eq!(label_names(missing), with(&[]), "404 must carry no route");

        let buckets = query(
            &client,
            &prom,
            &format!("http_server_request_duration_seconds_bucket{{job=\"{job}\",http_route=\"/users/{{id}}\"}}"),
        )
        .await;
        assert_eq!(buckets.len(), 15, "14 semconv bounds + +Inf");
        for bucket in &buckets {
            assert_eq!(label_names(bucket), with(&["http_route", "le"]));
        }
        let les: BTreeSet<String> = buckets
            .iter()
            .map(|b| b["metric"]["le"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            les.contains("0.005") && les.contains("10.0") && les.contains("+Inf"),
            "{les:?}"
        );

        let info = query(&client, &prom, &format!("target_info{{job=\"{job}\"}}")).await;
        assert_eq!(info.len(), 1, "target_info from the resource");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

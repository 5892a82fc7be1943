//! Every compose file and override passes `docker-compose config -q` (Debian's 1.29), and the
//! rendered stacks keep the security defaults: ports on 127.0.0.1 unless overridden, images
//! pinned in deploy/versions.env, no admin/admin outside the dev override.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const STACKS: &[&str] = &["stack-a", "stack-b"];
const DEV_OVERRIDE: &str = "docker-compose.insecure-dev.yml";

fn compose_files(stack: &Path) -> Vec<PathBuf> {
    common::files_matching(stack, &|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("docker-compose") && n.ends_with(".yml"))
    })
}

/// `docker-compose -f base [-f override] <args>` in the stack directory.
fn compose(stack: &Path, files: &[&str], args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut full: Vec<&str> = Vec::new();
    for f in files {
        full.extend(["-f", f]);
    }
    full.extend_from_slice(args);
    let mut cmd = Command::new("docker-compose");
    cmd.args(&full)
        .current_dir(stack)
        .env_remove("STACK_BIND_ADDRESS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("`docker-compose` is required ({e}); install it with `apt-get install -y docker-compose`")
    });
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_compose_file_and_override_validates() {
    let mut validated = 0;
    for stack in STACKS {
        let dir = common::deploy().join(stack);
        let files = compose_files(&dir);
        assert!(
            files.iter().any(|f| f.ends_with("docker-compose.yml")),
            "{stack} has a base compose file"
        );
        for f in &files {
            let name = f.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
            let set: Vec<&str> = if name == "docker-compose.yml" {
                vec!["docker-compose.yml"]
            } else {
                vec!["docker-compose.yml", name]
            };
            let (ok, out) = compose(&dir, &set, &["config", "-q"], &[]);
            assert!(ok, "docker-compose {set:?} config -q in {stack}:\n{out}");
            validated += 1;
        }
    }
    assert!(validated >= 4, "two stacks, each with a dev override");
}

#[test]
fn versions_are_required_from_versions_env() {
    // Without the pins (an empty env file instead of versions.env) the stacks refuse to render.
    let empty = tempfile::NamedTempFile::new().expect("temp file");
    let empty = empty.path().to_str().expect("utf-8 path");
    for stack in STACKS {
        let dir = common::deploy().join(stack);
        let (ok, out) = compose(
            &dir,
            &["docker-compose.yml"],
            &["--env-file", empty, "config", "-q"],
            &[],
        );
        assert!(!ok, "{stack} rendered without versions.env");
        assert!(out.contains("deploy/versions.env"), "{out}");
    }
}

fn rendered(stack: &str, files: &[&str], env: &[(&str, &str)]) -> serde_yaml::Value {
    let dir = common::deploy().join(stack);
    let (ok, out) = compose(&dir, files, &["config"], env);
    assert!(ok, "{out}");
    serde_yaml::from_str(&out).expect("docker-compose config prints YAML")
}

fn published_ports(config: &serde_yaml::Value) -> Vec<(String, String)> {
    let mut ports = Vec::new();
    if let Some(services) = config["services"].as_mapping() {
        for (name, svc) in services {
            for p in svc["ports"].as_sequence().into_iter().flatten() {
                let text = match p {
                    serde_yaml::Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap_or_default(),
                };
                ports.push((name.as_str().unwrap_or("?").to_owned(), text));
            }
        }
    }
    ports
}

#[test]
fn every_port_is_published_on_loopback_unless_overridden() {
    for stack in STACKS {
        for files in [
            vec!["docker-compose.yml"],
            vec!["docker-compose.yml", DEV_OVERRIDE],
        ] {
            let ports = published_ports(&rendered(stack, &files, &[]));
            assert!(!ports.is_empty());
            for (svc, p) in &ports {
                assert!(p.starts_with("127.0.0.1:"), "{stack} {svc} publishes {p}");
            }
        }
        // The explicit override works.
        let ports = published_ports(&rendered(
            stack,
            &["docker-compose.yml"],
            &[("STACK_BIND_ADDRESS", "192.0.2.10")],
        ));
        assert!(
            ports.iter().all(|(_, p)| p.starts_with("192.0.2.10:")),
            "{ports:?}"
        );
    }
}

fn versions_env() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(common::deploy().join("versions.env")).expect("versions.env");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn images_are_pinned_in_one_file() {
    let pins = versions_env();
    let keys: BTreeSet<&str> = pins.iter().map(|(k, _)| k.as_str()).collect();
    for (k, image) in &pins {
        let tag = image
            .split('@')
            .next()
            .and_then(|i| i.rsplit_once(':'))
            .map(|(_, t)| t)
            .unwrap_or("");
        assert!(
            !tag.is_empty() && tag != "latest",
            "{k}={image} is not pinned"
        );
    }
    for stack in STACKS {
        let dir = common::deploy().join(stack);
        // Each stack reads versions.env through its .env symlink.
        let link = std::fs::read_link(dir.join(".env")).expect(".env is a symlink");
        assert_eq!(link, Path::new("../versions.env"));
        for f in compose_files(&dir) {
            let text = std::fs::read_to_string(&f).expect("compose file");
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("image:"))
            {
                let value = line.trim_start().trim_start_matches("image:").trim();
                let var = value
                    .strip_prefix("${")
                    .and_then(|v| v.split(":?").next())
                    .unwrap_or_else(|| {
                        panic!("{}: `{value}` is not a versions.env variable", f.display())
                    });
                assert!(keys.contains(var), "{var} missing from versions.env");
            }
        }
        // And every rendered image is one of the pins.
        let cfg = rendered(stack, &["docker-compose.yml"], &[]);
        for (name, svc) in cfg["services"].as_mapping().expect("services") {
            let image = svc["image"].as_str().expect("image");
            assert!(
                pins.iter().any(|(_, v)| v == image),
                "{stack} {name:?} runs {image}, not a versions.env pin"
            );
        }
    }
}

#[test]
fn admin_admin_only_in_the_named_dev_override() {
    let deploy = common::deploy();
    let files = common::files_matching(&deploy, &|p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yml" | "yaml" | "env" | "json" | "alloy"))
    });
    for f in files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == DEV_OVERRIDE || f.starts_with(deploy.join("dev")) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for bad in [
            "GF_SECURITY_ADMIN_PASSWORD:",
            "GF_SECURITY_ADMIN_PASSWORD=",
            "admin/admin",
            "adminPassword",
        ] {
            assert!(!text.contains(bad), "{} contains `{bad}`", f.display());
        }
    }
    // The base stacks take Grafana's password from a secret file, never a literal.
    for stack in STACKS {
        let cfg = rendered(stack, &["docker-compose.yml"], &[]);
        let env = &cfg["services"]["grafana"]["environment"];
        assert_eq!(
            env["GF_SECURITY_ADMIN_PASSWORD__FILE"].as_str(),
            Some("/run/secrets/grafana_admin_password")
        );
        assert_eq!(env["GF_USERS_ALLOW_SIGN_UP"].as_str(), Some("false"));
        let secret = cfg["secrets"]["grafana_admin_password"]["file"]
            .as_str()
            .expect("secret file");
        assert!(
            secret.ends_with(&format!("{stack}/secrets/grafana_admin_password")),
            "{secret}"
        );
    }
    let gitignore = std::fs::read_to_string(deploy.join(".gitignore")).expect("deploy/.gitignore");
    assert!(gitignore.contains("stack-a/secrets/") && gitignore.contains("stack-b/secrets/"));
}

#[test]
fn stack_a_matches_the_seed() {
    let cfg = rendered("stack-a", &["docker-compose.yml"], &[]);
    let vm = &cfg["services"]["victoriametrics"];
    let cmd: Vec<&str> = vm["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(cmd.contains(&"-retentionPeriod=12"), "12 months retention");
    assert!(
        vm["volumes"]
            .as_sequence()
            .expect("volumes")
            .iter()
            .any(|v| {
                v["source"].as_str() == Some("vm-data")
                    || v.as_str().is_some_and(|s| s.starts_with("vm-data:"))
            })
    );
    assert_eq!(
        vm["deploy"]["resources"]["limits"]["memory"].as_str(),
        Some("2G")
    );
    let otel = &cfg["services"]["otel-collector"];
    assert_eq!(
        otel["deploy"]["resources"]["limits"]["memory"].as_str(),
        Some("512M")
    );
    assert!(cfg["networks"]["contextd-network"].is_mapping());
    let ports: Vec<String> = published_ports(&cfg).into_iter().map(|(_, p)| p).collect();
    for p in [
        "127.0.0.1:3001:3000",
        "127.0.0.1:16686:16686",
        "127.0.0.1:8428:8428",
        "127.0.0.1:4317:4317",
        "127.0.0.1:4318:4318",
        "127.0.0.1:13133:13133",
    ] {
        assert!(ports.iter().any(|x| x.starts_with(p)), "{p} in {ports:?}");
    }
    for svc in ["victoriametrics", "jaeger", "grafana"] {
        assert!(
            cfg["services"][svc]["healthcheck"].is_mapping(),
            "{svc} healthcheck"
        );
    }
}

fn command_args(service: &serde_yaml::Value) -> Vec<String> {
    service["command"]
        .as_sequence()
        .expect("command list")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The host path mounted at `target` in `service`, resolved against the stack directory.
fn mounted_source(stack: &str, service: &serde_yaml::Value, target: &str) -> PathBuf {
    let volume = service["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| {
            v["target"].as_str() == Some(target)
                || v.as_str()
                    .is_some_and(|s| s.contains(&format!(":{target}")))
        })
        .unwrap_or_else(|| panic!("nothing mounted at {target}"));
    let source = match volume["source"].as_str() {
        Some(s) => s.to_owned(),
        None => volume
            .as_str()
            .and_then(|s| s.split(':').next())
            .expect("short syntax")
            .to_owned(),
    };
    let path = common::deploy().join(stack).join(source);
    path.canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn stack_a_evaluates_the_rules_with_vmalert_and_routes_like_stack_b() {
    let a = rendered("stack-a", &["docker-compose.yml"], &[]);
    let b = rendered("stack-b", &["docker-compose.yml"], &[]);
    let vmalert = &a["services"]["vmalert"];
    let args = command_args(vmalert);
    for flag in [
        "-rule=/etc/rules/*.rules.yml",
        "-datasource.url=http://victoriametrics:8428",
        "-remoteWrite.url=http://victoriametrics:8428",
        "-remoteRead.url=http://victoriametrics:8428",
        "-notifier.url=http://alertmanager:9093",
    ] {
        assert!(args.iter().any(|a| a == flag), "{flag} in {args:?}");
    }
    // The same rule files as stack B's Prometheus, and the same Alertmanager routing file.
    let rules = common::deploy()
        .join("rules")
        .canonicalize()
        .expect("rules");
    assert_eq!(mounted_source("stack-a", vmalert, "/etc/rules"), rules);
    assert_eq!(
        mounted_source(
            "stack-b",
            &b["services"]["prometheus"],
            "/etc/prometheus/rules"
        ),
        rules
    );
    let routing = "/etc/alertmanager/alertmanager.yml";
    assert_eq!(
        mounted_source("stack-a", &a["services"]["alertmanager"], routing),
        mounted_source("stack-b", &b["services"]["alertmanager"], routing)
    );
    assert_eq!(
        a["services"]["alertmanager"]["secrets"],
        b["services"]["alertmanager"]["secrets"]
    );
    // vmalert waits for the store and the notifier; both are scraped, so their health shows.
    for dep in ["victoriametrics", "alertmanager"] {
        assert!(
            vmalert["depends_on"][dep].is_mapping(),
            "vmalert after {dep}"
        );
    }
    let scrape: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(common::deploy().join("stack-a/victoriametrics-scrape.yaml"))
            .expect("scrape config"),
    )
    .expect("YAML");
    let targets = serde_yaml::to_string(&scrape["scrape_configs"]).expect("YAML");
    for target in ["vmalert:8880", "alertmanager:9093"] {
        assert!(targets.contains(target), "{target} scraped: {targets}");
    }
}

#[test]
fn the_infra_profile_adds_the_exporters_and_prometheus_scrapes_them() {
    let dir = common::deploy().join("stack-b");
    let services = |args: &[&str]| -> Vec<String> {
        let (ok, out) = compose(&dir, &["docker-compose.yml"], args, &[]);
        assert!(ok, "{out}");
        out.lines().map(str::to_owned).collect()
    };
    let exporters = [
        ("node-exporter", "node", 9100),
        ("redis-exporter", "redis", 9121),
        ("postgres-exporter", "postgres", 9187),
    ];
    let infra = services(&["--profile", "infra", "config", "--services"]);
    let prometheus: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(dir.join("prometheus/prometheus.yml")).expect("prometheus.yml"),
    )
    .expect("YAML");
    let jobs = prometheus["scrape_configs"].as_sequence().expect("jobs");
    for (service, job, port) in exporters {
        assert!(
            infra.contains(&service.to_owned()),
            "{service} in the profile: {infra:?}"
        );
        let job = jobs
            .iter()
            .find(|j| j["job_name"] == job)
            .unwrap_or_else(|| panic!("scrape job {job}"));
        assert_eq!(
            job["static_configs"][0]["targets"][0].as_str(),
            Some(format!("{service}:{port}").as_str())
        );
    }
    // Only in the profile (docker-compose 1.29 lists profile services in `config` too, with
    // their `profiles`), never publishing ports; the database password is a secret file.
    let (ok, out) = compose(
        &dir,
        &["docker-compose.yml"],
        &["--profile", "infra", "config"],
        &[],
    );
    assert!(ok, "{out}");
    let full: serde_yaml::Value = serde_yaml::from_str(&out).expect("YAML");
    for (service, _, _) in exporters {
        let svc = &full["services"][service];
        assert_eq!(
            svc["profiles"],
            serde_yaml::Value::Sequence(vec!["infra".into()]),
            "{service} outside the infra profile"
        );
        assert!(svc["ports"].is_null(), "{service} publishes a port");
    }
    let pg = &full["services"]["postgres-exporter"]["environment"];
    assert_eq!(
        pg["DATA_SOURCE_PASS_FILE"].as_str(),
        Some("/run/secrets/postgres_exporter_password")
    );
    assert!(pg["DATA_SOURCE_NAME"].is_null() && pg["DATA_SOURCE_PASS"].is_null());
}

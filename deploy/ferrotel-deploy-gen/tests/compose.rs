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

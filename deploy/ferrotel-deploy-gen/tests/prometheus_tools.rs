//! Rules, Prometheus and Alertmanager configs checked with the real tools: Debian's promtool
//! 2.42 (`check rules`, `test rules`, `check config`) and amtool 0.25 (`check-config`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ferrotel_deploy_gen::rules;

fn rules_dir() -> PathBuf {
    common::deploy().join("rules")
}

fn rule_file_names() -> Vec<String> {
    rules::rule_files(&rules_dir())
        .expect("rules dir")
        .iter()
        .map(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned()
        })
        .collect()
}

fn test_files() -> Vec<PathBuf> {
    common::files_matching(&rules_dir().join("tests"), &|p| {
        p.to_string_lossy().ends_with(".test.yml")
    })
}

#[test]
fn promtool_check_rules() {
    let names = rule_file_names();
    assert!(names.len() >= 3, "{names:?}");
    let mut args = vec!["check", "rules"];
    args.extend(names.iter().map(String::as_str));
    let out = common::run_ok("promtool", &args, &rules_dir());
    assert_eq!(out.matches("SUCCESS").count(), names.len(), "{out}");
}

#[test]
fn promtool_test_rules() {
    let files = test_files();
    assert!(!files.is_empty());
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned()
        })
        .collect();
    let mut args = vec!["test", "rules"];
    args.extend(names.iter().map(String::as_str));
    let out = common::run_ok("promtool", &args, &rules_dir().join("tests"));
    assert_eq!(out.matches("SUCCESS").count(), names.len(), "{out}");
    // Every rule file is exercised by some unit test file.
    let mut covered = BTreeSet::new();
    for f in &files {
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(f).expect("read")).expect("yaml");
        for r in doc["rule_files"].as_sequence().expect("rule_files") {
            let r = r.as_str().expect("path");
            covered.insert(r.trim_start_matches("../").to_owned());
        }
    }
    for n in rule_file_names() {
        assert!(covered.contains(&n), "{n} has no promtool unit test");
    }
}

/// For each alert: the unit tests contain a case where it fires and one where it must not.
#[test]
fn every_alert_has_firing_and_silent_unit_tests() {
    let mut fires = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for f in test_files() {
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&f).expect("read")).expect("yaml");
        for t in doc["tests"].as_sequence().expect("tests") {
            for a in t["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = a["alertname"].as_str().expect("alertname").to_owned();
                let exp = a["exp_alerts"].as_sequence().map(Vec::len).unwrap_or(0);
                if exp > 0 {
                    fires.insert(name);
                } else {
                    silent.insert(name);
                }
            }
        }
    }
    for rule in rules::all_rules(&rules_dir()).expect("rules") {
        if let Some(alert) = rule.alert {
            assert!(fires.contains(&alert), "no unit test makes {alert} fire");
            assert!(
                silent.contains(&alert),
                "no unit test where {alert} must stay silent"
            );
        }
    }
}

#[test]
fn every_alert_is_documented_and_routable() {
    let docs = std::fs::read_to_string(common::deploy().join("../docs/deploy.md"))
        .expect("docs/deploy.md");
    let mut alerts = 0;
    for rule in rules::all_rules(&rules_dir()).expect("rules") {
        let Some(alert) = rule.alert else { continue };
        alerts += 1;
        for key in ["summary", "description", "runbook_url"] {
            assert!(rule.annotations.contains_key(key), "{alert} lacks {key}");
        }
        let severity = rule.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("critical" | "warning" | "info")),
            "{alert} severity {severity:?} matches no Alertmanager route"
        );
        let anchor = alert.to_lowercase();
        assert!(
            rule.annotations["runbook_url"].ends_with(&format!("docs/deploy.md#{anchor}")),
            "{alert} runbook_url"
        );
        assert!(
            docs.contains(&format!("\n#### {alert}\n")),
            "docs/deploy.md has no runbook section `#### {alert}`"
        );
    }
    // seeds 001, 003 (+SLO burn rates) and 004.
    assert!(alerts >= 14, "{alerts} alerts");
}

/// Prometheus config with the container paths pointed at this checkout, so `check config`
/// also loads and checks the rule files and the file_sd targets it references.
fn prometheus_config_for_checkout(dir: &Path) -> PathBuf {
    let stack_b = common::deploy().join("stack-b/prometheus");
    let text = std::fs::read_to_string(stack_b.join("prometheus.yml")).expect("prometheus.yml");
    let text = text
        .replace(
            "/etc/prometheus/rules/",
            &format!("{}/", rules_dir().display()),
        )
        .replace(
            "/etc/prometheus/targets/",
            &format!("{}/targets/", stack_b.display()),
        );
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn promtool_check_config() {
    let stack_b = common::deploy().join("stack-b/prometheus");
    // The file as shipped (container paths do not exist here: promtool only warns).
    let out = common::run_ok("promtool", &["check", "config", "prometheus.yml"], &stack_b);
    assert!(out.contains("SUCCESS"), "{out}");
    // The same file with paths into this checkout: rule files are loaded and checked too.
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = prometheus_config_for_checkout(tmp.path());
    let out = common::run_ok(
        "promtool",
        &["check", "config", cfg.to_str().expect("utf-8")],
        tmp.path(),
    );
    for name in rule_file_names() {
        assert!(out.contains(&name), "rule file {name} not checked:\n{out}");
    }
    assert!(!out.contains("WARNING"), "{out}");
}

const DISCORD_FILE_LINE: &str = "webhook_url_file: /run/secrets/discord_webhook_url";

#[test]
fn amtool_check_config() {
    let am = common::deploy().join("stack-b/alertmanager");
    let shipped = std::fs::read_to_string(am.join("alertmanager.yml")).expect("alertmanager.yml");
    let out = common::run("amtool", &["check-config", "alertmanager.yml"], &am);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        // Debian's amtool 0.25 predates Discord's `webhook_url_file` (Alertmanager 0.26+, the
        // pinned image is 0.28). That must be the only complaint; validate the file with that
        // one line swapped for an inline placeholder URL.
        assert!(text.contains("webhook_url_file"), "{text}");
        assert_eq!(shipped.matches(DISCORD_FILE_LINE).count(), 1);
        let variant = shipped.replace(
            DISCORD_FILE_LINE,
            "webhook_url: https://discord.invalid/api/webhooks/placeholder",
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("alertmanager.yml"), variant).expect("write");
        let ok = common::run_ok("amtool", &["check-config", "alertmanager.yml"], tmp.path());
        assert!(ok.contains("SUCCESS") && ok.contains("4 receivers"), "{ok}");
    }
    // Secrets only from files.
    for secret in [
        "routing_key_file",
        "api_url_file",
        "smtp_auth_password_file",
        "webhook_url_file",
    ] {
        assert!(shipped.contains(secret), "{secret}");
    }
    for inline in [
        "routing_key:",
        "api_url:",
        "smtp_auth_password:",
        "webhook_url:",
    ] {
        assert!(!shipped.contains(inline), "inline secret `{inline}`");
    }
}

#[test]
fn alertmanager_routes_by_severity() {
    let am = common::deploy().join("stack-b/alertmanager");
    let tmp = tempfile::tempdir().expect("tempdir");
    let shipped = std::fs::read_to_string(am.join("alertmanager.yml")).expect("alertmanager.yml");
    let variant = shipped.replace(
        DISCORD_FILE_LINE,
        "webhook_url: https://discord.invalid/api/webhooks/placeholder",
    );
    std::fs::write(tmp.path().join("am.yml"), variant).expect("write");
    for (severity, expected) in [
        ("critical", "discord,pagerduty-critical"),
        ("warning", "discord,slack-warning"),
        ("info", "discord,email-info"),
    ] {
        let label = format!("severity={severity}");
        let out = common::run(
            "amtool",
            &["config", "routes", "test", "--config.file=am.yml", &label],
            tmp.path(),
        );
        assert!(out.status.success(), "{out:?}");
        let receivers = String::from_utf8_lossy(&out.stdout);
        assert_eq!(receivers.trim(), expected, "severity={severity}");
    }
}

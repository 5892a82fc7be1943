//! The committed dashboards and PrometheusRule equal the generator's output.

mod common;

#[test]
fn committed_files_equal_generator_output() {
    let root = common::deploy();
    let files = ferrotel_deploy_gen::generated_files().expect("generation succeeds");
    assert!(files.len() >= 10, "9 dashboards and the PrometheusRule");
    let mut stale = Vec::new();
    for (rel, content) in &files {
        let committed = std::fs::read_to_string(root.join(rel)).unwrap_or_default();
        if &committed != content {
            stale.push(rel.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "generated files differ from the committed ones: {stale:?}; run `cargo run -p ferrotel-deploy-gen`"
    );
}

#[test]
fn no_dashboard_file_is_hand_made() {
    let generated: Vec<String> = ferrotel_deploy_gen::generated_files()
        .expect("generation succeeds")
        .into_iter()
        .map(|(rel, _)| rel.display().to_string())
        .collect();
    let dir = common::deploy().join("grafana/dashboards");
    for entry in std::fs::read_dir(&dir).expect("dashboards dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let rel = format!("grafana/dashboards/{name}");
        assert!(
            generated.contains(&rel),
            "{rel} is not produced by the generator"
        );
    }
}

#[test]
fn the_three_contextd_dashboards_exist_and_overview_is_home() {
    let root = common::deploy();
    for uid in [
        "contextd-overview",
        "contextd-testing",
        "contextd-agents-skills",
    ] {
        assert!(
            root.join(format!("grafana/dashboards/{uid}.json"))
                .is_file(),
            "{uid}"
        );
    }
    let compose =
        std::fs::read_to_string(root.join("stack-a/docker-compose.yml")).expect("compose");
    assert!(compose.contains(
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: /var/lib/grafana/dashboards/contextd-overview.json"
    ));
}

#[test]
fn k8s_manifests_parse_and_carry_every_rule_group() {
    use serde::Deserialize;
    let root = common::deploy();
    let text =
        std::fs::read_to_string(root.join("k8s/prometheusrule.yaml")).expect("prometheusrule");
    let rule: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    assert_eq!(rule["kind"].as_str(), Some("PrometheusRule"));
    assert_eq!(
        rule["metadata"]["labels"]["release"].as_str(),
        Some("prometheus")
    );
    let in_manifest: Vec<&str> = rule["spec"]["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    let mut in_files = Vec::new();
    for f in ferrotel_deploy_gen::rules::rule_files(&root.join("rules")).expect("rules") {
        for g in ferrotel_deploy_gen::rules::load(&f)
            .expect("rule file")
            .groups
        {
            in_files.push(g.name);
        }
    }
    assert_eq!(in_manifest, in_files);

    let text =
        std::fs::read_to_string(root.join("k8s/servicemonitor.yaml")).expect("servicemonitor");
    let kinds: Vec<String> = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let v = serde_yaml::Value::deserialize(doc).expect("yaml document");
            v["kind"].as_str().expect("kind").to_owned()
        })
        .collect();
    assert_eq!(kinds, ["ServiceMonitor", "Service"]);
}

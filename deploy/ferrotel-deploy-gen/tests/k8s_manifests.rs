//! The hand-written Kubernetes examples fit the generated ones: the Deployment's pods are what
//! the ServiceMonitor's Service selects, its ports are the ones the Service and ServiceMonitor
//! name, its probes use the family's `/livez` and `/readyz`; the Grafana datasource ConfigMap
//! carries the UIDs every generated dashboard queries.

mod common;

use serde::Deserialize as _;
use serde_yaml::Value;

fn documents(name: &str) -> Vec<Value> {
    let path = common::deploy().join("k8s").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("YAML document"))
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn the_deployment_is_what_the_service_monitor_scrapes_and_probes_the_health_endpoints() {
    let deployment = documents("deployment.yaml");
    let deployment = kind(&deployment, "Deployment");
    let monitor = documents("servicemonitor.yaml");
    let service = kind(&monitor, "Service");
    let service_monitor = kind(&monitor, "ServiceMonitor");

    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], *pod_labels);
    assert_eq!(
        service["spec"]["selector"], *pod_labels,
        "the Service selects the pods"
    );
    assert_eq!(
        deployment["metadata"]["namespace"],
        service["metadata"]["namespace"]
    );

    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let ports = container["ports"].as_sequence().expect("container ports");
    let port_number = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("container port {name}"))
    };
    for service_port in service["spec"]["ports"].as_sequence().expect("ports") {
        let name = service_port["name"].as_str().expect("port name");
        assert_eq!(
            service_port["targetPort"].as_u64(),
            Some(port_number(name)),
            "Service port {name} reaches the container"
        );
    }
    assert_eq!(
        service_monitor["spec"]["endpoints"][0]["port"].as_str(),
        Some("http-metrics")
    );
    port_number("http-metrics");

    for (probe, path) in [
        ("livenessProbe", "/livez"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/livez"),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe}");
        assert_eq!(get["port"].as_str(), Some("http"), "{probe}");
    }
    let env = container["env"].as_sequence().expect("env");
    assert!(
        env.iter()
            .any(|e| e["name"] == "OTEL_EXPORTER_OTLP_ENDPOINT"),
        "OTLP endpoint set"
    );
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"].as_bool(),
        Some(false)
    );
}

#[test]
fn the_grafana_datasources_carry_the_uids_the_dashboards_query() {
    let docs = documents("grafana-datasources.yaml");
    let config_map = kind(&docs, "ConfigMap");
    assert_eq!(
        config_map["metadata"]["labels"]["grafana_datasource"].as_str(),
        Some("1"),
        "kube-prometheus-stack's sidecar loads labelled ConfigMaps"
    );
    let inner: Value = serde_yaml::from_str(
        config_map["data"]["datasources.yaml"]
            .as_str()
            .expect("datasources.yaml"),
    )
    .expect("inner YAML");
    let uids: Vec<&str> = inner["datasources"]
        .as_sequence()
        .expect("datasources")
        .iter()
        .filter_map(|d| d["uid"].as_str())
        .collect();
    // Every datasource UID a generated dashboard names exists here.
    let dir = common::deploy().join("grafana/dashboards");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("dashboards") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("dashboard");
        let json: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
        let mut stack = vec![&json];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(uid) = m.get("datasource").and_then(|d| d["uid"].as_str())
                        && !uid.starts_with('$')
                        && !uid.starts_with("-- ")
                    {
                        seen += 1;
                        assert!(uids.contains(&uid), "{}: datasource {uid}", path.display());
                    }
                    stack.extend(m.values());
                }
                serde_json::Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
    }
    assert!(seen > 0, "no dashboard names a datasource");
    // Exemplars and logs lead to the traces datasource.
    let prometheus = inner["datasources"]
        .as_sequence()
        .expect("datasources")
        .iter()
        .find(|d| d["uid"] == "metrics")
        .expect("metrics datasource");
    assert_eq!(
        prometheus["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"].as_str(),
        Some("traces")
    );
}

//! Parses every OpenTelemetry Collector config of deploy/ (no collector binary can run here):
//! every pipeline component is defined, every component type exists in the pinned release
//! under its current name, receivers bind 0.0.0.0 inside the container, memory_limiter runs
//! first, exporters point at services of the same compose file.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

/// Component types of otelcol-contrib 0.159.0 (the OTELCOL_IMAGE pin) that deploy/ may use,
/// by class. Sources: opentelemetry-collector-releases v0.159.0
/// distributions/otelcol-contrib/manifest.yaml (module list) and each module's metadata.yaml
/// `type:` at v0.159.0 (core: read from opentelemetry-collector@v0.159.0; contrib:
/// prometheus_remote_write since v0.154.0, PR open-telemetry/opentelemetry-collector-contrib#48705).
/// Extend it only after checking the metadata.yaml of the pinned version.
const CONTRIB_0_159: &[(&str, &[&str])] = &[
    ("receivers", &["otlp", "nop", "prometheus"]),
    ("processors", &["batch", "memory_limiter"]),
    (
        "exporters",
        &[
            "otlp_grpc",
            "otlp_http",
            "debug",
            "nop",
            "prometheus",
            "prometheus_remote_write",
        ],
    ),
    ("extensions", &["health_check", "zpages", "memory_limiter"]),
    ("connectors", &["forward"]),
];

/// Jaeger 2.19 (JAEGER_IMAGE) components used by stack A's jaeger.yaml, from
/// cmd/jaeger/internal/components.go at v2.19.0.
const JAEGER_2_19: &[(&str, &[&str])] = &[
    ("receivers", &["otlp", "nop", "jaeger", "kafka", "zipkin"]),
    (
        "processors",
        &[
            "batch",
            "memory_limiter",
            "tail_sampling",
            "attributes",
            "filter",
        ],
    ),
    (
        "exporters",
        &[
            "jaeger_storage_exporter",
            "debug",
            "otlp_grpc",
            "otlp_http",
            "nop",
            "kafka",
            "prometheus",
        ],
    ),
    (
        "extensions",
        &[
            "jaeger_storage",
            "jaeger_query",
            "healthcheckv2",
            "pprof",
            "zpages",
            "expvar",
        ],
    ),
    ("connectors", &["forward"]),
];

/// Old names: still accepted as deprecated aliases or removed; never used in deploy/.
const RENAMED: &[(&str, &str)] = &[
    ("otlp", "otlp_grpc (exporter)"),
    ("otlphttp", "otlp_http"),
    ("prometheusremotewrite", "prometheus_remote_write"),
    ("spanmetrics", "span_metrics"),
    ("logging", "debug"),
    ("jaeger", "otlp_grpc to Jaeger"),
];

struct Config {
    name: &'static str,
    path: &'static str,
    compose: &'static str,
    known: &'static [(&'static str, &'static [&'static str])],
}

const CONFIGS: &[Config] = &[
    Config {
        name: "stack A collector",
        path: "stack-a/otel-collector.yaml",
        compose: "stack-a/docker-compose.yml",
        known: CONTRIB_0_159,
    },
    Config {
        name: "stack B collector",
        path: "stack-b/otel-collector.yaml",
        compose: "stack-b/docker-compose.yml",
        known: CONTRIB_0_159,
    },
    Config {
        name: "stack A jaeger",
        path: "stack-a/jaeger.yaml",
        compose: "stack-a/docker-compose.yml",
        known: JAEGER_2_19,
    },
];

fn load(path: &str) -> Value {
    let p = common::deploy().join(path);
    serde_yaml::from_str(&std::fs::read_to_string(&p).expect("read")).expect("yaml")
}

fn component_type(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

fn keys(v: &Value) -> Vec<String> {
    v.as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn list(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn pipeline_components_are_defined_and_exist_in_the_pinned_version() {
    for c in CONFIGS {
        let cfg = load(c.path);
        let known: BTreeMap<&str, &[&str]> = c.known.iter().copied().collect();
        let mut used: BTreeSet<(String, String)> = BTreeSet::new();
        let pipelines = cfg["service"]["pipelines"].as_mapping().expect("pipelines");
        assert!(!pipelines.is_empty(), "{}", c.name);
        for (pname, p) in pipelines {
            let pname = pname.as_str().expect("pipeline name");
            for class in ["receivers", "processors", "exporters"] {
                let ids = list(&p[class]);
                if class != "processors" {
                    assert!(
                        !ids.is_empty(),
                        "{}: pipeline {pname} has no {class}",
                        c.name
                    );
                }
                for id in ids {
                    assert!(
                        cfg[class].get(id.as_str()).is_some(),
                        "{}: pipeline {pname} uses {class} `{id}` which is not defined",
                        c.name
                    );
                    used.insert((class.to_owned(), id));
                }
            }
        }
        for id in list(&cfg["service"]["extensions"]) {
            assert!(
                cfg["extensions"].get(id.as_str()).is_some(),
                "{}: extension {id} undefined",
                c.name
            );
            used.insert(("extensions".to_owned(), id));
        }
        for class in [
            "receivers",
            "processors",
            "exporters",
            "extensions",
            "connectors",
        ] {
            for id in keys(&cfg[class]) {
                let ty = component_type(&id);
                let names = known.get(class).copied().unwrap_or(&[]);
                if !names.contains(&ty) {
                    let hint = RENAMED
                        .iter()
                        .find(|(old, _)| *old == ty)
                        .map(|(_, new)| *new);
                    panic!(
                        "{}: {class} type `{ty}` is not a {class} of the pinned version (renamed to: {hint:?})",
                        c.name
                    );
                }
                assert!(
                    used.contains(&(class.to_owned(), id.clone())),
                    "{}: {class} `{id}` is defined but used by no pipeline",
                    c.name
                );
            }
        }
    }
}

fn endpoints(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                if k.as_str() == Some("endpoint") {
                    if let Some(s) = val.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    endpoints(val, out);
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| endpoints(x, out)),
        _ => {}
    }
}

#[test]
fn receivers_and_extensions_bind_all_interfaces_in_the_container() {
    for c in CONFIGS {
        let cfg = load(c.path);
        for class in ["receivers", "extensions"] {
            let mut eps = Vec::new();
            endpoints(&cfg[class], &mut eps);
            for ep in eps {
                assert!(
                    ep.starts_with("0.0.0.0:"),
                    "{}: {class} endpoint {ep} (since v0.104 the default is localhost)",
                    c.name
                );
            }
        }
        // Every OTLP protocol is configured with an explicit endpoint.
        for (id, r) in cfg["receivers"].as_mapping().expect("receivers") {
            if component_type(id.as_str().unwrap_or("")) == "otlp" {
                for proto in ["grpc", "http"] {
                    assert!(
                        r["protocols"][proto]["endpoint"].as_str().is_some(),
                        "{}: otlp {proto} endpoint",
                        c.name
                    );
                }
            }
        }
    }
}

#[test]
fn memory_limiter_first_then_batch_in_every_collector_pipeline() {
    for c in CONFIGS.iter().filter(|c| c.name.ends_with("collector")) {
        let cfg = load(c.path);
        for (pname, p) in cfg["service"]["pipelines"].as_mapping().expect("pipelines") {
            let procs = list(&p["processors"]);
            assert_eq!(
                procs.first().map(String::as_str),
                Some("memory_limiter"),
                "{} {pname:?}",
                c.name
            );
            assert_eq!(
                procs.last().map(String::as_str),
                Some("batch"),
                "{} {pname:?}",
                c.name
            );
        }
        assert_eq!(cfg["processors"]["batch"]["timeout"].as_str(), Some("10s"));
        assert_eq!(
            cfg["processors"]["batch"]["send_batch_size"].as_u64(),
            Some(1024)
        );
        assert_eq!(
            cfg["exporters"]["debug"]["sampling_initial"].as_u64(),
            Some(5)
        );
        assert_eq!(
            cfg["exporters"]["debug"]["sampling_thereafter"].as_u64(),
            Some(200)
        );
        assert_eq!(
            cfg["extensions"]["health_check"]["endpoint"].as_str(),
            Some("0.0.0.0:13133")
        );
    }
}

#[test]
fn exporters_point_at_services_of_the_same_stack() {
    for c in CONFIGS.iter().filter(|c| c.name.ends_with("collector")) {
        let cfg = load(c.path);
        let compose: Value = load(c.compose);
        let services = keys(&compose["services"]);
        let mut eps = Vec::new();
        endpoints(&cfg["exporters"], &mut eps);
        for ep in eps {
            let host = ep
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .split([':', '/'])
                .next()
                .unwrap_or("");
            if host == "0.0.0.0" {
                continue; // the prometheus exporter's own listener
            }
            assert!(
                services.iter().any(|s| s == host),
                "{}: exporter endpoint {ep} names no service of {}",
                c.name,
                c.compose
            );
        }
    }
    // Stack A's required routes.
    let a = load("stack-a/otel-collector.yaml");
    assert_eq!(
        a["exporters"]["prometheus_remote_write"]["endpoint"].as_str(),
        Some("http://victoriametrics:8428/api/v1/write")
    );
    assert_eq!(
        a["exporters"]["otlp_grpc/jaeger"]["endpoint"].as_str(),
        Some("jaeger:4317")
    );
    // Stack B: logs to Loki over OTLP, traces to Tempo, metrics exposed for Prometheus.
    let b = load("stack-b/otel-collector.yaml");
    assert_eq!(
        b["exporters"]["otlp_http/loki"]["endpoint"].as_str(),
        Some("http://loki:3100/otlp")
    );
    assert_eq!(
        list(&b["service"]["pipelines"]["logs"]["exporters"]),
        ["otlp_http/loki", "debug"]
    );
}

#[test]
fn jaeger_uses_persistent_badger() {
    let j = load("stack-a/jaeger.yaml");
    let badger = &j["extensions"]["jaeger_storage"]["backends"]["badger_main"]["badger"];
    assert_eq!(badger["ephemeral"].as_bool(), Some(false));
    assert!(
        badger["directories"]["keys"]
            .as_str()
            .is_some_and(|p| p.starts_with("/badger/"))
    );
    assert_eq!(
        j["exporters"]["jaeger_storage_exporter"]["trace_storage"].as_str(),
        Some("badger_main")
    );
    assert_eq!(
        j["extensions"]["jaeger_query"]["storage"]["traces"].as_str(),
        Some("badger_main")
    );
}

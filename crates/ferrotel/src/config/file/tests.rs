//! The file read into the effective configuration: equivalence with the environment,
//! substitution and typing, the fallbacks, path-named warnings and masked secrets.

use super::ConfigSource;
use crate::config::{
    Compression, Config, ConfigWarning, ExemplarFilter, ExporterKind, FileExtras, Overrides,
    PropagatorSetting, Protocol, SamplerSetting, TemporalityPreference,
};
use std::time::Duration;

const MIGRATION: &str = include_str!("../../../tests/config_files/migration.yaml");
const TEXT: &str = "(configuration text)";

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn from_yaml(yaml: &str, pairs: &[(&str, &str)]) -> (Config, FileExtras) {
    Config::resolve_with_file(
        &env(pairs),
        &Overrides::default(),
        Some(&ConfigSource::Text(yaml.to_owned())),
    )
}

fn with_format(body: &str) -> String {
    format!("file_format: \"1.1\"\n{body}")
}

fn warning_at<'a>(c: &'a Config, path: &str) -> &'a ConfigWarning {
    let variable = format!("{TEXT}: {path}");
    c.warnings
        .iter()
        .find(|w| w.variable == variable)
        .unwrap_or_else(|| panic!("no warning at {path}: {:#?}", c.warnings))
}

/// `a` and `b` as the same effective configuration: everything but the report of the file.
fn assert_same_effect(mut from_file: Config, from_env: &Config) {
    assert!(from_file.warnings.is_empty(), "{:#?}", from_file.warnings);
    assert!(from_env.warnings.is_empty(), "{:#?}", from_env.warnings);
    assert!(from_file.config_file.is_some());
    from_file.config_file = None;
    assert_eq!(format!("{from_file:#?}"), format!("{from_env:#?}"));
}

/// The environment the migration fixture is compared with.
fn migration_env() -> Vec<(&'static str, &'static str)> {
    let mut pairs = MIGRATION_ENV.to_vec();
    if cfg!(feature = "gzip") {
        pairs.push(("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"));
    }
    pairs
}

const MIGRATION_ENV: &[(&str, &str)] = &[
    ("OTEL_SERVICE_NAME", "checkout"),
    (
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.instance.id=i-7,service.version=1.4.2,deployment.environment.name=prod,team=payments",
    ),
    ("OTEL_LOG_LEVEL", "warn"),
    ("OTEL_ATTRIBUTE_COUNT_LIMIT", "64"),
    ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4096"),
    ("OTEL_BSP_SCHEDULE_DELAY", "250"),
    ("OTEL_BSP_EXPORT_TIMEOUT", "7000"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "4096"),
    ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "256"),
    (
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "http://collector.internal:4318/v1/traces",
    ),
    ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "3000"),
    (
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "x-tenant=acme,api-key=k-123",
    ),
    ("OTEL_SPAN_EVENT_COUNT_LIMIT", "16"),
    ("OTEL_SPAN_LINK_COUNT_LIMIT", "8"),
    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
    ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
    ("OTEL_METRIC_EXPORT_TIMEOUT", "5000"),
    (
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "http://collector.internal:4318/v1/metrics",
    ),
    ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
    ("OTEL_METRICS_EXEMPLAR_FILTER", "always_off"),
    ("OTEL_BLRP_SCHEDULE_DELAY", "500"),
    ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "128"),
    (
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "http://collector.internal:4318/v1/logs",
    ),
    ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "32"),
];

#[test]
fn migration_fixture_matches_the_environment_it_reads() {
    let pairs = migration_env();
    let from_env = Config::resolve(&env(&pairs), &Overrides::default());
    let (from_file, _) = from_yaml(MIGRATION, &pairs);
    // The values are really the environment's, not the defaults.
    assert_eq!(from_file.service_name, "checkout");
    assert_eq!(from_file.span_batch.max_export_batch_size, 256);
    assert_eq!(
        from_file.sampler,
        SamplerSetting::ParentBasedTraceIdRatio(0.25)
    );
    assert_eq!(from_file.temporality, TemporalityPreference::Delta);
    if cfg!(feature = "gzip") {
        assert_eq!(from_file.traces.otlp.compression, Compression::Gzip);
    }
    assert_same_effect(from_file, &from_env);
}

#[test]
fn migration_fixture_with_nothing_set_matches_the_defaults() {
    // The one choice the file makes by structure: the parent-based ratio sampler.
    let pairs = [("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")];
    let from_env = Config::resolve(&env(&pairs), &Overrides::default());
    let (mut from_file, _) = from_yaml(MIGRATION, &pairs);
    // A generated instance id differs between any two resolutions; the default service name
    // is the schema's (see the fixture's header).
    from_file.service_instance_id = from_env.service_instance_id.clone();
    assert_eq!(from_file.service_name, "unknown_service");
    assert!(from_env.service_name.starts_with("unknown_service:"));
    from_file.service_name = from_env.service_name.clone();
    assert_same_effect(from_file, &from_env);
}

#[test]
fn the_report_and_display_say_the_file_was_used() {
    let (c, _) = from_yaml(MIGRATION, &[]);
    let report = c.config_file.as_ref().expect("file report");
    assert_eq!(report.source, TEXT);
    assert_eq!(report.file_format, "1.1");
    assert!(c.to_string().contains("config file"), "{c}");
    let from_env = Config::resolve(&env(&[]), &Overrides::default());
    assert!(from_env.config_file.is_none());
    assert!(!from_env.to_string().contains("config file"));
}

#[test]
fn otel_variables_are_read_only_through_the_file() {
    let pairs = [
        ("OTEL_SERVICE_NAME", "from-env"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "7"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4318"),
        ("RUST_LOG", "warn,checkout=debug"),
    ];
    let yaml = with_format(
        "resource:\n  attributes:\n    - name: service.name\n      value: from-file\n\
         tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http: {}\n",
    );
    let (c, _) = from_yaml(&yaml, &pairs);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    assert_eq!(c.service_name, "from-file");
    assert_eq!(c.sampler, SamplerSetting::ParentBasedAlwaysOn);
    assert_eq!(c.span_batch.max_export_batch_size, 512);
    assert_eq!(c.traces.otlp.endpoint, "http://localhost:4318/v1/traces");
    // Providers the file leaves out are off.
    assert!(c.metrics.exporters.is_empty(), "{:?}", c.metrics.exporters);
    assert!(c.logs.exporters.is_empty(), "{:?}", c.logs.exporters);
    // Not an OTEL_* variable: still read.
    assert_eq!(c.log_filter, "warn,checkout=debug");
    // The config-file variable is read from the environment.
    let path = std::env::temp_dir().join(format!("ferrotel-cfg-{}.yaml", std::process::id()));
    std::fs::write(&path, &yaml).unwrap();
    let path_text = path.display().to_string();
    let from_var = Config::resolve_with_file(
        &env(&[
            ("OTEL_CONFIG_FILE", &path_text),
            ("OTEL_SERVICE_NAME", "from-env"),
        ]),
        &Overrides::default(),
        None,
    )
    .0;
    std::fs::remove_file(&path).unwrap();
    assert_eq!(from_var.service_name, "from-file");
    assert_eq!(from_var.config_file.unwrap().source, path_text);
}

#[test]
fn settings_made_in_code_win_over_the_file() {
    let yaml = with_format(
        "resource:\n  attributes:\n    - name: service.name\n      value: from-file\n\
         tracer_provider:\n  sampler:\n    always_on:\n",
    );
    let overrides = Overrides {
        service_name: Some("from-code".into()),
        sampler: Some(SamplerSetting::AlwaysOff),
        ..Overrides::default()
    };
    let (c, _) = Config::resolve_with_file(&env(&[]), &overrides, Some(&ConfigSource::Text(yaml)));
    assert_eq!(c.service_name, "from-code");
    assert_eq!(c.sampler, SamplerSetting::AlwaysOff);
}

#[test]
fn substitution_types_plain_scalars_and_keeps_quoted_ones_strings() {
    let pairs = [("SDK_OFF", "true"), ("RATIO", "0.125"), ("QUEUE", "77")];
    let (c, _) = from_yaml(
        &with_format(
            "disabled: ${SDK_OFF}\n\
             tracer_provider:\n  processors:\n    - batch:\n        max_queue_size: ${QUEUE}\n        max_export_batch_size: ${UNSET:-33}\n        exporter:\n          otlp_http:\n            endpoint: http://h:1/$${literal}\n\
             \x20 sampler:\n    trace_id_ratio_based:\n      ratio: ${env:RATIO}\n",
        ),
        &pairs,
    );
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    assert!(c.sdk_disabled);
    assert_eq!(c.span_batch.max_queue_size, 77);
    assert_eq!(c.span_batch.max_export_batch_size, 33);
    assert_eq!(c.sampler, SamplerSetting::TraceIdRatio(0.125));
    assert_eq!(c.traces.otlp.endpoint, "http://h:1/${literal}");

    // Quoted: the substituted text stays a string, which `disabled` does not accept.
    let (c, _) = from_yaml(&with_format("disabled: \"${SDK_OFF}\"\n"), &pairs);
    let w = warning_at(&c, "disabled");
    assert!(w.problem.contains("found a string"), "{w}");
    assert!(!c.sdk_disabled);
}

#[test]
fn substitution_errors_fall_back_to_the_environment() {
    let (c, _) = from_yaml(
        &with_format("disabled: ${NOT A NAME}\n"),
        &[("OTEL_SERVICE_NAME", "from-env")],
    );
    let w = &c.warnings[0];
    assert_eq!(w.variable, "OTEL_CONFIG_FILE");
    assert_eq!(w.fallback, "the OTEL_* environment variables");
    assert!(c.config_file.is_none());
    assert_eq!(c.service_name, "from-env");
}

#[test]
fn a_file_that_cannot_be_used_falls_back_to_the_environment() {
    let pairs = [("OTEL_SERVICE_NAME", "from-env")];
    let missing = std::env::temp_dir().join("ferrotel-no-such-config.yaml");
    let cases: Vec<(ConfigSource, &str)> = vec![
        (ConfigSource::Path(missing.clone()), "cannot be opened"),
        (
            ConfigSource::Text("file_format: \"1.1\"\nresource: [\n".into()),
            "not usable YAML",
        ),
        (
            ConfigSource::Text("- a\n- b\n".into()),
            "top level must be a mapping",
        ),
        (
            ConfigSource::Text("resource: {}\n".into()),
            "no `file_format`",
        ),
        (
            ConfigSource::Text("file_format: \"2.0\"\n".into()),
            "not supported",
        ),
        (
            ConfigSource::Text("file_format: \"0.4\"\n".into()),
            "not supported",
        ),
        (
            ConfigSource::Text("file_format: \"1.0-rc.3\"\n".into()),
            "not supported",
        ),
        (
            ConfigSource::Text(format!("file_format: \"1.1\"\n#{}\n", "x".repeat(1 << 20))),
            "longer than",
        ),
    ];
    for (source, problem) in cases {
        let (c, extras) =
            Config::resolve_with_file(&env(&pairs), &Overrides::default(), Some(&source));
        let w = &c.warnings[0];
        assert_eq!(w.variable, "OTEL_CONFIG_FILE", "{source:?}");
        assert!(w.problem.contains(problem), "{problem:?} not in {w}");
        assert_eq!(w.fallback, "the OTEL_* environment variables");
        assert!(c.config_file.is_none());
        assert!(extras.views.is_empty());
        assert_eq!(c.service_name, "from-env", "{source:?}");
    }
    let (c, _) = Config::resolve_with_file(
        &env(&[]),
        &Overrides::default(),
        Some(&ConfigSource::Path(missing.clone())),
    );
    assert_eq!(c.warnings[0].value, missing.display().to_string());
}

#[test]
fn known_file_formats_load_and_a_newer_minor_loads_with_a_note() {
    for format in ["1.0", "1.1", "1"] {
        let (c, _) = from_yaml(&format!("file_format: \"{format}\"\n"), &[]);
        assert!(c.warnings.is_empty(), "{format}: {:#?}", c.warnings);
        assert!(c.config_file.is_some());
    }
    let (c, _) = from_yaml(
        "file_format: \"1.7\"\ntracer_provider:\n  shiny_new_thing: {}\n",
        &[],
    );
    assert!(c.config_file.is_some());
    assert!(warning_at(&c, "file_format").problem.contains("newer"));
    assert!(
        warning_at(&c, "tracer_provider.shiny_new_thing")
            .problem
            .contains("unknown property")
    );
}

#[test]
fn bad_values_are_reported_at_their_path_with_the_fallback() {
    let yaml = with_format(
        "tracer_provider:\n  processors:\n    - batch:\n        schedule_delay: soon\n        colour: blue\n        max_export_batch_size: -4\n        exporter:\n          otlp_http:\n            compression: zstd-max\n            encoding: xml\n",
    );
    let (c, _) = from_yaml(&yaml, &[]);
    let delay = warning_at(&c, "tracer_provider.processors[0].batch.schedule_delay");
    assert!(delay.problem.contains("integer"), "{delay}");
    assert_eq!(c.span_batch.schedule_delay, Duration::from_secs(5));
    let unknown = warning_at(&c, "tracer_provider.processors[0].batch.colour");
    assert!(unknown.problem.contains("unknown property"), "{unknown}");
    assert_eq!(unknown.fallback, "nothing (ignored)");
    // Checked by the same rules as the environment, reported at the file's path.
    let size = warning_at(
        &c,
        "tracer_provider.processors[0].batch.max_export_batch_size",
    );
    assert_eq!(c.span_batch.max_export_batch_size, 512, "{size}");
    let compression = warning_at(
        &c,
        "tracer_provider.processors[0].batch.exporter.otlp_http.compression",
    );
    assert_eq!(compression.value, "zstd-max");
    let encoding = warning_at(
        &c,
        "tracer_provider.processors[0].batch.exporter.otlp_http.encoding",
    );
    assert_eq!(encoding.fallback, "protobuf");
    for w in &c.warnings {
        assert!(w.variable.starts_with(TEXT), "{w}");
        assert!(!w.to_string().contains("OTEL_"), "{w}");
    }
    // Wrong shapes.
    let (c, _) = from_yaml(
        &with_format("tracer_provider: 3\nresource:\n  attributes: {a: 1}\n"),
        &[],
    );
    assert!(
        warning_at(&c, "tracer_provider")
            .problem
            .contains("mapping")
    );
    assert!(
        warning_at(&c, "resource.attributes")
            .problem
            .contains("sequence")
    );
}

#[test]
fn secrets_in_the_file_are_masked_in_every_report() {
    let yaml = with_format(
        "tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: http://user:hunter2@collector:4318/v1/traces\n            headers:\n              - name: authorization\n                value: Bearer s3cr3t-token\n              - name: x-broken\n            headers_list: api-key=k-topsecret,=novalue\n            timeout: fast\n",
    );
    let (c, _) = from_yaml(&yaml, &[]);
    let headers: Vec<_> = c
        .traces
        .otlp
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(headers.contains(&"authorization"), "{headers:?}");
    assert!(headers.contains(&"api-key"), "{headers:?}");
    assert!(
        c.traces
            .otlp
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer s3cr3t-token")
    );
    assert!(!c.warnings.is_empty());
    let shown = format!(
        "{c}\n{}",
        c.warnings
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for secret in ["hunter2", "s3cr3t", "k-topsecret"] {
        assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
    }
}

#[test]
fn resource_values_keep_their_declared_types() {
    use opentelemetry::{Array, Value};
    let yaml = with_format(
        "resource:\n  attributes:\n    - name: service.name\n      value: typed\n    - name: replicas\n      value: 3\n      type: int\n    - name: canary\n      value: true\n      type: bool\n    - name: weight\n      value: 0.5\n      type: double\n    - name: zones\n      value: [a, b]\n      type: string_array\n    - name: bad\n      value: three\n      type: int\n  attributes_list: team=payments,replicas=9\n",
    );
    let (c, extras) = from_yaml(&yaml, &[]);
    assert_eq!(c.service_name, "typed");
    let typed = |name: &str| {
        extras
            .typed_resource
            .iter()
            .find(|kv| kv.key.as_str() == name)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(typed("replicas"), Some(Value::I64(3)));
    assert_eq!(typed("canary"), Some(Value::Bool(true)));
    assert_eq!(typed("weight"), Some(Value::F64(0.5)));
    assert_eq!(
        typed("zones"),
        Some(Value::Array(Array::String(vec!["a".into(), "b".into()])))
    );
    assert_eq!(typed("bad"), None);
    assert!(
        warning_at(&c, "resource.attributes[5].value")
            .problem
            .contains("int")
    );
    // The list fills in; `attributes` wins for the same key.
    let attr = |k: &str| {
        c.resource_attributes
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(attr("team"), Some("payments"));
    assert_eq!(attr("replicas"), Some("3"));
}

#[test]
fn propagators_samplers_and_processors_by_structure() {
    let yaml = with_format(
        "propagator:\n  composite:\n    - baggage:\n  composite_list: tracecontext\n\
         tracer_provider:\n  processors:\n    - simple:\n        exporter:\n          otlp_http:\n            endpoint: http://localhost:4318/v1/traces\n\
         \x20 sampler:\n    parent_based:\n      root:\n        always_off:\n\
         logger_provider:\n  processors:\n    - batch:\n        schedule_delay: 50\n        max_queue_size: 64\n        exporter:\n          otlp_http:\n",
    );
    let (c, _) = from_yaml(&yaml, &[]);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    assert_eq!(
        c.propagators,
        vec![PropagatorSetting::Baggage, PropagatorSetting::TraceContext]
    );
    assert_eq!(c.sampler, SamplerSetting::ParentBasedAlwaysOff);
    assert_eq!(c.traces.exporters, vec![ExporterKind::Otlp]);
    assert_eq!(c.traces.otlp.protocol, Protocol::HttpProtobuf);
    // A simple processor: every span sent as it ends, one at a time.
    assert_eq!(c.span_batch.schedule_delay, Duration::ZERO);
    assert_eq!(c.span_batch.max_export_batch_size, 1);
    assert_eq!(c.log_batch.schedule_delay, Duration::from_millis(50));
    assert_eq!(c.log_batch.max_queue_size, 64);
    assert!(c.metrics.exporters.is_empty());
    // No propagator section: none, as the schema says.
    let (c, _) = from_yaml(&with_format("tracer_provider: {}\n"), &[]);
    assert!(c.propagators.is_empty(), "{:?}", c.propagators);
}

#[cfg(all(feature = "grpc", feature = "http-json", feature = "stdout"))]
#[test]
fn grpc_json_and_console_exporters() {
    let yaml = with_format(
        "tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_grpc:\n            endpoint: http://localhost:4317\n    - simple:\n        exporter:\n          console:\n\
         logger_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            encoding: json\n",
    );
    let (c, _) = from_yaml(&yaml, &[]);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    assert_eq!(
        c.traces.exporters,
        vec![ExporterKind::Otlp, ExporterKind::Console]
    );
    assert_eq!(c.traces.otlp.protocol, Protocol::Grpc);
    assert_eq!(c.logs.otlp.protocol, Protocol::HttpJson);
}

#[test]
fn features_this_build_lacks_are_reported_at_the_exporter() {
    let yaml = with_format(
        "tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_grpc:\n            endpoint: http://localhost:4317\n",
    );
    let (c, _) = from_yaml(&yaml, &[]);
    let lacking = c
        .warnings
        .iter()
        .find(|w| w.problem.contains("`grpc` cargo feature"));
    assert_eq!(
        lacking.is_some(),
        !cfg!(feature = "grpc"),
        "{:#?}",
        c.warnings
    );
    if let Some(w) = lacking {
        assert_eq!(
            w.variable,
            format!("{TEXT}: tracer_provider.processors[0].batch.exporter.otlp_grpc")
        );
    }
}

#[test]
fn unsupported_parts_of_the_schema_are_named() {
    let yaml = with_format(
        "tracer_provider:\n  sampler:\n    parent_based:\n      root:\n        always_on:\n      remote_parent_sampled:\n        always_off:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development: {}\n\
         \x20 id_generator:\n    xray: {}\n\
         resource:\n  detection/development:\n    detectors: [{host: }, {container: }]\n  schema_url: https://x/y\n",
    );
    let (c, _) = from_yaml(&yaml, &[]);
    for path in [
        "tracer_provider.sampler.parent_based.remote_parent_sampled",
        "tracer_provider.id_generator.xray",
        "resource.detection/development.detectors[1].container",
        "resource.schema_url",
    ] {
        warning_at(&c, path);
    }
    let file_exporter = "tracer_provider.processors[0].batch.exporter.otlp_file/development";
    if cfg!(feature = "otlp-file") {
        assert_eq!(c.traces.exporters, vec![ExporterKind::OtlpFile]);
        assert!(
            !c.warnings
                .iter()
                .any(|w| w.variable.ends_with(file_exporter))
        );
    } else {
        let w = warning_at(&c, file_exporter);
        assert!(w.problem.contains("`otlp-file` cargo feature"), "{w:?}");
        assert!(c.traces.exporters.is_empty());
    }
}

#[cfg(feature = "otlp-file")]
fn file_exporter_yaml(traces: &str) -> String {
    with_format(&format!(
        "tracer_provider:\n  processors:\n    - batch:\n        max_export_batch_size: 7\n        exporter:\n          otlp_file/development:{traces}\n\
         meter_provider:\n  readers:\n    - periodic:\n        interval: 1500\n        exporter:\n          otlp_file/development:\n            output_stream: file:///tmp/metrics.jsonl\n            temporality_preference: delta\n\
         logger_provider:\n  processors:\n    - simple:\n        exporter:\n          otlp_file/development:\n            output_stream: stdout\n"
    ))
}

#[cfg(feature = "otlp-file")]
#[test]
fn the_otlp_file_exporter_writes_each_signal_where_its_output_stream_says() {
    use crate::config::OtlpFileOutput;
    let (c, _) = from_yaml(&file_exporter_yaml(" {}"), &[]);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    for signal in crate::config::Signal::ALL {
        assert_eq!(c.signal(signal).exporters, vec![ExporterKind::OtlpFile]);
    }
    assert_eq!(c.traces.otlp_file, OtlpFileOutput::Stdout);
    assert_eq!(
        c.metrics.otlp_file,
        OtlpFileOutput::File("/tmp/metrics.jsonl".into())
    );
    assert_eq!(c.logs.otlp_file, OtlpFileOutput::Stdout);
    // The file exporter's processor holds the signal's batch settings, as the OTLP one would.
    assert_eq!(c.span_batch.max_export_batch_size, 7);
    assert_eq!(c.log_batch.max_export_batch_size, 1);
    assert_eq!(c.metric_export_interval, Duration::from_millis(1500));
    assert_eq!(c.temporality, TemporalityPreference::Delta);
    assert!(
        c.to_string()
            .contains("exporters=otlp_file(/tmp/metrics.jsonl)"),
        "{c}"
    );
}

#[cfg(feature = "otlp-file")]
#[test]
fn an_unusable_output_stream_falls_back_to_stdout_with_a_warning() {
    use crate::config::OtlpFileOutput;
    for (stream, shown) in [
        ("file://relative/path.jsonl", "file://relative/path.jsonl"),
        ("s3://bucket/key", "s3://bucket/key"),
        ("", ""),
    ] {
        let yaml = file_exporter_yaml(&format!("\n            output_stream: \"{stream}\""));
        let (c, _) = from_yaml(&yaml, &[]);
        let w = warning_at(
            &c,
            "tracer_provider.processors[0].batch.exporter.otlp_file/development.output_stream",
        );
        assert_eq!(w.value, shown);
        assert_eq!(w.fallback, "stdout");
        assert_eq!(c.traces.otlp_file, OtlpFileOutput::Stdout);
        assert_eq!(c.traces.exporters, vec![ExporterKind::OtlpFile]);
    }
}

#[cfg(feature = "otlp-file")]
#[test]
fn one_otlp_file_exporter_per_signal_beside_an_otlp_one() {
    let yaml = with_format(
        "tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development:\n            output_stream: file:///tmp/a.jsonl\n\
         \x20   - batch:\n        exporter:\n          otlp_file/development:\n            output_stream: file:///tmp/b.jsonl\n\
         \x20   - batch:\n        max_export_batch_size: 3\n        exporter:\n          otlp_http:\n            endpoint: http://127.0.0.1:4318/v1/traces\n",
    );
    let (c, _) = from_yaml(&yaml, &[]);
    let w = warning_at(
        &c,
        "tracer_provider.processors[1].batch.exporter.otlp_file/development",
    );
    assert_eq!(w.fallback, "the first one");
    assert_eq!(
        c.traces.exporters,
        vec![ExporterKind::Otlp, ExporterKind::OtlpFile]
    );
    assert_eq!(
        c.traces.otlp_file,
        crate::config::OtlpFileOutput::File("/tmp/a.jsonl".into())
    );
    assert_eq!(c.span_batch.max_export_batch_size, 3);
}

#[test]
fn meter_provider_views_limits_and_family_settings() {
    let yaml = with_format(
        "meter_provider:\n  readers:\n    - periodic:\n        interval: 1000\n        exporter:\n          otlp_http:\n            default_histogram_aggregation: base2_exponential_bucket_histogram\n        cardinality_limits:\n          default: 300\n          histogram: 50\n  views:\n    - selector:\n        instrument_name: http.server.request.duration\n        instrument_type: histogram\n      stream:\n        name: http.latency\n        attribute_keys:\n          included: [http.route]\n          excluded: [user.id]\n        aggregation:\n          explicit_bucket_histogram:\n            boundaries: [1, 5, 10]\n        aggregation_cardinality_limit: 20\n  exemplar_filter: always_on\n\
         distribution:\n  ferrotel:\n    console:\n      format: off\n    redaction:\n      enabled: false\n    runtime_metrics:\n      enabled: false\n    log_filter: debug\n  someone_else:\n    anything: goes\n",
    );
    let (c, extras) = from_yaml(&yaml, &[]);
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    assert_eq!(c.metric_export_interval, Duration::from_secs(1));
    assert_eq!(c.exemplar_filter, ExemplarFilter::AlwaysOn);
    assert_eq!(c.metrics.exporters, vec![ExporterKind::Otlp]);
    assert!(extras.exponential_histograms);
    assert_eq!(extras.cardinality.default, Some(300));
    assert_eq!(extras.cardinality.histogram, Some(50));
    let view = &extras.views[0];
    assert_eq!(view.path, "meter_provider.views[0]");
    assert_eq!(
        view.selector.instrument_name.as_deref(),
        Some("http.server.request.duration")
    );
    assert_eq!(view.name.as_deref(), Some("http.latency"));
    assert_eq!(view.attribute_keys, Some(vec!["http.route".to_owned()]));
    assert_eq!(view.excluded_attribute_keys, vec!["user.id".to_owned()]);
    assert_eq!(view.cardinality_limit, Some(20));
    assert_eq!(extras.redaction, Some(false));
    assert_eq!(extras.runtime_metrics, Some(false));
    assert_eq!(c.console_format, crate::config::ConsoleFormat::Off);
    assert_eq!(c.log_filter, "debug");

    // The SDK renames one instrument only.
    let (c, extras) = from_yaml(
        &with_format(
            "meter_provider:\n  views:\n    - selector:\n        instrument_name: http.*\n      stream:\n        name: renamed\n",
        ),
        &[],
    );
    assert!(extras.views.is_empty());
    let w = warning_at(&c, "meter_provider.views[0].stream.name");
    assert_eq!(w.fallback, "the view is left out");
}

#[test]
fn a_file_of_many_problems_gets_bounded_warnings() {
    let mut yaml = with_format("resource:\n  attributes:\n");
    for i in 0..1500 {
        yaml.push_str(&format!(
            "    - name: k{i}\n      value: {}\n      type: int\n",
            "x".repeat(400)
        ));
    }
    let (c, _) = from_yaml(&yaml, &[]);
    assert!(c.config_file.is_some());
    assert!(c.warnings.len() <= 70, "{}", c.warnings.len());
    let last = c.warnings.last().unwrap();
    assert!(
        last.problem.contains("further problems are not listed"),
        "{last}"
    );
    for w in &c.warnings {
        assert!(w.value.len() < 256 + 32, "{} bytes shown", w.value.len());
    }
}

#[test]
fn resource_detection_follows_the_file() {
    use super::keeps_detected;
    // No detection section: nothing detected, as the schema says.
    let (_, none) = from_yaml(&with_format("resource: {}\n"), &[]);
    assert!(!keeps_detected(&none, "host.name"));
    assert!(!keeps_detected(&none, "process.pid"));
    let (c, extras) = from_yaml(
        &with_format(
            "resource:\n  detection/development:\n    attributes:\n      included: [process.*, host.*]\n      excluded: [process.command_args]\n    detectors:\n      - process:\n      - service:\n",
        ),
        &[],
    );
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    assert!(keeps_detected(&extras, "process.pid"));
    assert!(!keeps_detected(&extras, "process.command_args"));
    // The host detector is not enabled.
    assert!(!keeps_detected(&extras, "host.name"));
    assert!(!keeps_detected(&extras, "os.type"));
}

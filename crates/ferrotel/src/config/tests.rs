//! One test per environment variable: its effect, and the warning a garbage value produces.

use super::*;

fn cfg(pairs: &[(&str, &str)]) -> Config {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

fn warning_for<'a>(c: &'a Config, var: &str) -> &'a ConfigWarning {
    c.warnings
        .iter()
        .find(|w| w.variable == var)
        .unwrap_or_else(|| panic!("no warning for {var}: {:?}", c.warnings))
}

#[test]
fn defaults_follow_the_seeds() {
    let c = cfg(&[]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(!c.sdk_disabled);
    assert_eq!(c.traces.otlp.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(c.metrics.otlp.endpoint, "http://localhost:4318/v1/metrics");
    assert_eq!(c.logs.otlp.endpoint, "http://localhost:4318/v1/logs");
    assert_eq!(c.traces.otlp.protocol, Protocol::HttpProtobuf);
    assert_eq!(c.traces.exporters, vec![ExporterKind::Otlp]);
    assert_eq!(c.span_batch.schedule_delay, Duration::from_secs(5));
    assert_eq!(c.span_batch.max_export_batch_size, 512);
    assert_eq!(c.metric_export_interval, Duration::from_secs(60));
    assert_eq!(c.sampler, SamplerSetting::ParentBasedAlwaysOn);
    assert_eq!(
        c.propagators,
        vec![PropagatorSetting::TraceContext, PropagatorSetting::Baggage]
    );
    assert!(c.service_name.starts_with("unknown_service:"));
    assert_eq!(c.service_instance_id.len(), 36);
    assert_eq!(c.temporality, TemporalityPreference::Cumulative);
}

#[test]
fn sdk_disabled() {
    assert!(cfg(&[("OTEL_SDK_DISABLED", "TRUE")]).sdk_disabled);
    let c = cfg(&[("OTEL_SDK_DISABLED", "maybe")]);
    assert!(!c.sdk_disabled);
    assert_eq!(warning_for(&c, "OTEL_SDK_DISABLED").fallback, "false");
}

#[test]
fn service_identity_and_resource_attributes() {
    let c = cfg(&[
        ("OTEL_SERVICE_NAME", "contextd"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=ignored,service.version=1.2.3,team=core%20infra,deployment.environment.name=prod",
        ),
        ("OTEL_ENVIRONMENT", "development"),
    ]);
    assert_eq!(c.service_name, "contextd");
    assert_eq!(c.service_version.as_deref(), Some("1.2.3"));
    // The standard attribute wins over the seeds' alias.
    assert_eq!(c.deployment_environment.as_deref(), Some("prod"));
    assert_eq!(
        c.resource_attributes,
        vec![("team".to_string(), "core infra".to_string())]
    );
    let c = cfg(&[("OTEL_ENVIRONMENT", "development")]);
    assert_eq!(c.deployment_environment.as_deref(), Some("development"));
    let c = cfg(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs")]);
    assert_eq!(c.service_name, "from-attrs");
}

#[test]
fn resource_attribute_garbage_is_reported_and_skipped() {
    let c = cfg(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1,garbage,b=2")]);
    assert_eq!(c.resource_attributes.len(), 2);
    let w = warning_for(&c, "OTEL_RESOURCE_ATTRIBUTES");
    assert!(w.problem.contains("no `=`"), "{w}");
}

#[test]
fn generic_endpoint_gets_signal_paths_and_per_signal_is_used_as_is() {
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://logs:9999/custom",
        ),
    ]);
    assert_eq!(c.traces.otlp.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(c.metrics.otlp.endpoint, "http://collector:4318/v1/metrics");
    assert_eq!(c.logs.otlp.endpoint, "http://logs:9999/custom");
}

#[test]
fn endpoint_that_is_not_a_url_falls_back_with_a_clear_message() {
    let c = cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]);
    assert_eq!(c.traces.otlp.endpoint, "http://localhost:4318/v1/traces");
    let w = warning_for(&c, "OTEL_EXPORTER_OTLP_ENDPOINT");
    assert!(w.problem.contains("not a URL"), "{w}");
    assert_eq!(w.fallback, "http://localhost:4318/v1/traces");
    let c = cfg(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x/y")]);
    assert!(
        warning_for(&c, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .problem
            .contains("scheme `ftp`")
    );
}

#[cfg(feature = "grpc")]
#[test]
fn insecure_picks_the_scheme_of_a_scheme_less_grpc_endpoint() {
    let grpc = ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    let c = cfg(&[
        grpc,
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "FALSE"),
    ]);
    assert_eq!(c.traces.otlp.endpoint, "http://collector:4317");
    assert_eq!(c.metrics.otlp.endpoint, "http://collector:4317");
    // The per-signal variable wins.
    assert_eq!(c.logs.otlp.endpoint, "https://collector:4317");
    // Unset means secure, as the specification says.
    let c = cfg(&[grpc, ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]);
    assert_eq!(c.traces.otlp.endpoint, "https://collector:4317");
    // A scheme given explicitly is kept whatever the variable says.
    let c = cfg(&[
        grpc,
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
    ]);
    assert_eq!(c.traces.otlp.endpoint, "https://collector:4317");
    // A bad value names the variable and falls back to secure.
    let c = cfg(&[
        grpc,
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "yes please"),
    ]);
    assert_eq!(c.traces.otlp.endpoint, "https://collector:4317");
    let w = warning_for(&c, "OTEL_EXPORTER_OTLP_INSECURE");
    assert_eq!(w.fallback, "false");
    // HTTP protocols do not read it: a scheme-less endpoint is still not a URL there.
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
    ]);
    assert_eq!(c.traces.otlp.endpoint, "http://localhost:4318/v1/traces");
}

#[test]
fn endpoint_credentials_are_masked_in_warnings_and_display() {
    let c = cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "gopher://user:hunter2@host")]);
    let shown = c.to_string();
    assert!(!shown.contains("hunter2"), "{shown}");
    let c = cfg(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "https://user:hunter2@host:4318",
    )]);
    assert!(!c.to_string().contains("hunter2"));
    // Without the `tls` feature an https endpoint is reported; with it, it is simply used.
    let tls_warning = c
        .warnings
        .iter()
        .any(|w| w.problem.contains("no TLS support"));
    assert_eq!(tls_warning, cfg!(not(feature = "tls")), "{:?}", c.warnings);
    for w in &c.warnings {
        assert!(!w.to_string().contains("hunter2"), "{w}");
    }
}

#[test]
fn protocol_per_signal_and_garbage() {
    let c = cfg(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")]);
    assert_eq!(c.traces.otlp.protocol, Protocol::HttpProtobuf);
    let w = warning_for(&c, "OTEL_EXPORTER_OTLP_PROTOCOL");
    assert_eq!(w.value, "carrier-pigeon");
    assert_eq!(w.fallback, "http/protobuf");
    if cfg!(feature = "grpc") {
        let c = cfg(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")]);
        assert_eq!(c.traces.otlp.protocol, Protocol::Grpc);
        assert_eq!(c.traces.otlp.endpoint, "http://localhost:4317");
        assert_eq!(c.metrics.otlp.protocol, Protocol::HttpProtobuf);
    }
    if cfg!(feature = "http-json") {
        let c = cfg(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
        assert_eq!(c.logs.otlp.protocol, Protocol::HttpJson);
    }
}

#[test]
fn headers_generic_and_per_signal_with_garbage() {
    let c = cfg(&[
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=secret1,x-tenant=a%20b",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "authorization"),
    ]);
    assert_eq!(
        c.traces.otlp.headers,
        vec![
            ("api-key".to_string(), "secret1".to_string()),
            ("x-tenant".to_string(), "a b".to_string())
        ]
    );
    assert!(c.metrics.otlp.headers.is_empty());
    let w = warning_for(&c, "OTEL_EXPORTER_OTLP_METRICS_HEADERS");
    assert!(w.problem.contains("no `=`"));
    assert!(!c.to_string().contains("secret1"), "{c}");
}

#[test]
fn timeouts() {
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "abc"),
    ]);
    assert_eq!(c.traces.otlp.timeout, Duration::from_millis(2500));
    // A bad per-signal value falls back to the default rather than the generic value.
    assert_eq!(c.logs.otlp.timeout, Duration::from_secs(10));
    assert!(
        warning_for(&c, "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT")
            .problem
            .contains("milliseconds")
    );
    let c = cfg(&[("OTEL_METRIC_EXPORT_TIMEOUT", "1234")]);
    assert_eq!(c.metric_export_timeout, Duration::from_millis(1234));
    assert_eq!(c.metrics.otlp.timeout, Duration::from_millis(1234));
}

#[test]
fn compression() {
    let c = cfg(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli")]);
    assert_eq!(c.traces.otlp.compression, Compression::None);
    assert!(
        warning_for(&c, "OTEL_EXPORTER_OTLP_COMPRESSION")
            .problem
            .contains("gzip")
    );
    let c = cfg(&[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")]);
    if cfg!(feature = "gzip") {
        assert_eq!(c.traces.otlp.compression, Compression::Gzip);
    } else {
        assert!(
            warning_for(&c, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION")
                .problem
                .contains("feature")
        );
    }
}

#[test]
fn certificate_must_be_a_readable_pem_file() {
    let c = cfg(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")]);
    assert_eq!(c.traces.otlp.certificate, None);
    assert!(
        warning_for(&c, "OTEL_EXPORTER_OTLP_CERTIFICATE")
            .problem
            .contains("cannot read")
    );
    let dir = std::env::temp_dir().join(format!("telemetry-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("ca.pem");
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let c = cfg(&[(
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        pem.to_str().unwrap(),
    )]);
    if cfg!(feature = "tls") {
        // Looks like PEM, but the DER inside is no certificate.
        assert_eq!(c.traces.otlp.certificate, None);
        let w = warning_for(&c, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE");
        assert!(w.problem.contains("usable X.509"), "{w}");
        assert_eq!(w.fallback, "the system roots");
    } else {
        assert_eq!(c.traces.otlp.certificate.as_deref(), Some(pem.as_path()));
        // A valid file is accepted; without TLS support the warning says plainly it is not used.
        assert!(
            c.warnings
                .iter()
                .any(|w| w.problem.contains("no TLS support")),
            "{:?}",
            c.warnings
        );
    }
    assert_eq!(c.logs.otlp.certificate, None);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn exporters_lists_none_and_garbage() {
    let c = cfg(&[
        ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "zipkin"),
    ]);
    // Without the `stdout` feature `console` is skipped with a warning naming the feature.
    let console = if cfg!(feature = "stdout") {
        vec![ExporterKind::Console]
    } else {
        vec![]
    };
    assert_eq!(
        c.traces.exporters,
        [vec![ExporterKind::Otlp], console].concat()
    );
    assert!(c.metrics.exporters.is_empty());
    assert!(c.logs.exporters.is_empty());
    assert!(
        warning_for(&c, "OTEL_LOGS_EXPORTER")
            .problem
            .contains("zipkin")
    );
}

#[test]
fn samplers() {
    let c = cfg(&[
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
    ]);
    assert_eq!(c.sampler, SamplerSetting::ParentBasedTraceIdRatio(0.25));
    let c = cfg(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "abc"),
    ]);
    assert_eq!(c.sampler, SamplerSetting::TraceIdRatio(1.0));
    let w = warning_for(&c, "OTEL_TRACES_SAMPLER_ARG");
    assert_eq!((w.value.as_str(), w.fallback.as_str()), ("abc", "1.0"));
    let c = cfg(&[("OTEL_TRACES_SAMPLER", "always_off")]);
    assert_eq!(c.sampler, SamplerSetting::AlwaysOff);
    let c = cfg(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
    assert_eq!(c.sampler, SamplerSetting::ParentBasedAlwaysOn);
    assert!(
        warning_for(&c, "OTEL_TRACES_SAMPLER")
            .problem
            .contains("unsupported")
    );
}

#[test]
fn propagators_setting() {
    let c = cfg(&[("OTEL_PROPAGATORS", "baggage")]);
    assert_eq!(c.propagators, vec![PropagatorSetting::Baggage]);
    let c = cfg(&[("OTEL_PROPAGATORS", "none")]);
    assert!(c.propagators.is_empty());
    let c = cfg(&[("OTEL_PROPAGATORS", "tracecontext,b3")]);
    assert_eq!(c.propagators, vec![PropagatorSetting::TraceContext]);
    assert!(warning_for(&c, "OTEL_PROPAGATORS").problem.contains("b3"));
}

#[test]
fn batch_span_and_log_processor_settings() {
    let c = cfg(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "2000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "-3"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "200"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "20"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "300"),
    ]);
    assert_eq!(c.span_batch.schedule_delay, Duration::from_millis(100));
    assert_eq!(c.span_batch.export_timeout, Duration::from_secs(2));
    assert_eq!(c.span_batch.max_queue_size, 64);
    // -3 is rejected; the default 512 is then clamped to the queue size.
    assert_eq!(c.span_batch.max_export_batch_size, 64);
    let w = warning_for(&c, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
    assert_eq!(w.value, "-3");
    assert_eq!(c.log_batch.schedule_delay, Duration::from_millis(200));
    assert_eq!(c.log_batch.export_timeout, Duration::from_millis(300));
    assert_eq!(c.log_batch.max_export_batch_size, 10);
    assert!(
        warning_for(&c, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE")
            .problem
            .contains("must not exceed")
    );
}

#[test]
fn metric_interval_and_temporality() {
    let c = cfg(&[
        ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
    ]);
    assert_eq!(c.metric_export_interval, Duration::from_millis(1500));
    assert_eq!(c.temporality, TemporalityPreference::Delta);
    let c = cfg(&[
        ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sideways",
        ),
    ]);
    assert_eq!(c.metric_export_interval, Duration::from_secs(60));
    assert_eq!(c.temporality, TemporalityPreference::Cumulative);
    warning_for(&c, "OTEL_METRIC_EXPORT_INTERVAL");
    warning_for(&c, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
    let c = cfg(&[(
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "lowmemory",
    )]);
    assert_eq!(c.temporality, TemporalityPreference::LowMemory);
}

#[test]
fn attribute_limits() {
    let c = cfg(&[
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "10"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "7"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "3"),
        ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "2"),
        ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50"),
    ]);
    let l = c.limits;
    assert_eq!(l.span_attribute_value_length, 100);
    assert_eq!(l.span_attribute_count, 5);
    assert_eq!(l.event_attribute_count, 10);
    assert_eq!(l.link_attribute_count, 2);
    assert_eq!(l.span_event_count, 7);
    assert_eq!(l.span_link_count, 3);
    assert_eq!(l.log_attribute_value_length, 50);
    assert_eq!(l.log_attribute_count, 10);
    let c = cfg(&[
        ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "7"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "lots"),
    ]);
    assert_eq!(c.limits.span_attribute_value_length, 7);
    assert_eq!(c.limits.span_event_count, 128);
    warning_for(&c, "OTEL_SPAN_EVENT_COUNT_LIMIT");
}

#[test]
fn console_format_and_sdk_log_level() {
    let c = cfg(&[
        ("TELEMETRY_LOG_FORMAT", "json"),
        ("OTEL_LOG_LEVEL", "debug"),
        ("RUST_LOG", "warn,contextd=debug"),
    ]);
    assert_eq!(c.console_format, ConsoleFormat::Json);
    assert_eq!(c.sdk_log_level, tracing::Level::DEBUG);
    assert_eq!(c.log_filter, "warn,contextd=debug");
    let c = cfg(&[("TELEMETRY_LOG_FORMAT", "xml"), ("OTEL_LOG_LEVEL", "loud")]);
    warning_for(&c, "TELEMETRY_LOG_FORMAT");
    assert_eq!(c.sdk_log_level, tracing::Level::WARN);
}

#[test]
fn console_schema_names_parse_in_any_case_and_a_bad_one_falls_back_to_default() {
    assert_eq!(cfg(&[]).console_schema, ConsoleSchema::Default);
    for (raw, schema) in [
        ("default", ConsoleSchema::Default),
        ("zap", ConsoleSchema::Zap),
        ("ZAP", ConsoleSchema::Zap),
        ("ecs", ConsoleSchema::Ecs),
        (" Ecs ", ConsoleSchema::Ecs),
        ("gcp", ConsoleSchema::GoogleCloud),
        ("GCP", ConsoleSchema::GoogleCloud),
    ] {
        let c = cfg(&[("TELEMETRY_LOG_SCHEMA", raw)]);
        assert_eq!(c.console_schema, schema, "{raw:?}");
        assert!(c.warnings.is_empty(), "{raw:?}: {:?}", c.warnings);
    }
    let c = cfg(&[("TELEMETRY_LOG_SCHEMA", "logfmt")]);
    assert_eq!(c.console_schema, ConsoleSchema::Default);
    let w = warning_for(&c, "TELEMETRY_LOG_SCHEMA");
    assert_eq!(w.value, "logfmt");
    assert_eq!(w.fallback, "default");
    assert!(w.problem.contains("`zap`"), "{w}");
    assert!(c.to_string().contains("schema=Default"), "{c}");
    let code = Overrides {
        console_schema: Some(ConsoleSchema::Ecs),
        ..Default::default()
    };
    let env = |name: &str| (name == "TELEMETRY_LOG_SCHEMA").then(|| "gcp".to_string());
    assert_eq!(
        Config::resolve(&env, &code).console_schema,
        ConsoleSchema::Ecs
    );
}

#[test]
fn builder_overrides_win_over_environment() {
    let o = Overrides {
        service_name: Some("code".into()),
        endpoint: Some("http://code:4318".into()),
        ..Default::default()
    };
    let env = |name: &str| match name {
        "OTEL_SERVICE_NAME" => Some("env".to_string()),
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://env:4318".to_string()),
        _ => None,
    };
    let c = Config::resolve(&env, &o);
    assert_eq!(c.service_name, "code");
    assert_eq!(c.traces.otlp.endpoint, "http://code:4318/v1/traces");
}

#[test]
fn display_lists_everything_and_every_warning() {
    let c = cfg(&[
        ("OTEL_TRACES_SAMPLER_ARG", "abc"),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
    ]);
    let shown = c.to_string();
    for needle in [
        "service.name",
        "traces",
        "metrics",
        "logs",
        "sampler",
        "warning: OTEL_TRACES_SAMPLER_ARG=\"abc\"",
    ] {
        assert!(shown.contains(needle), "missing {needle} in\n{shown}");
    }
}

#[test]
fn client_certificate_without_key_is_reported_and_not_used() {
    let dir = std::env::temp_dir().join(format!("telemetry-client-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("client.pem");
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let c = cfg(&[(
        "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
        pem.to_str().unwrap(),
    )]);
    let w = warning_for(&c, "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE");
    assert!(
        w.problem.contains("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY"),
        "{w}"
    );
    assert!(w.fallback.contains("no client certificate"), "{w}");
    assert_eq!(c.metrics.otlp.client_certificate, None);
    assert!(!c.metrics.otlp.tls.has_client_identity());
    // Only metrics named a certificate.
    assert!(
        c.warnings
            .iter()
            .all(|w| !w.variable.contains("TRACES") && !w.variable.contains("LOGS")),
        "{:?}",
        c.warnings
    );
    let c = cfg(&[("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/nonexistent/client.key")]);
    assert!(
        warning_for(&c, "OTEL_EXPORTER_OTLP_CLIENT_KEY")
            .problem
            .contains("cannot read")
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// With real certificates: per-signal variables win, the pair is checked, key material never
/// shows in `Display`/`Debug`.
#[cfg(feature = "tls")]
#[test]
fn tls_files_are_validated_and_per_signal_values_win() {
    let pki = ferrotel_testing::TestPki::generate().unwrap();
    let other = ferrotel_testing::TestPki::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("telemetry-tls-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = pki.write_files(&dir).unwrap();
    let other_key = dir.join("other.key");
    std::fs::write(&other_key, other.client_key_pem()).unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "hello").unwrap();
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (ca, cert, key) = (p(&files.ca), p(&files.client_cert), p(&files.client_key));
    let (garbage, other_key) = (p(&garbage), p(&other_key));
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", &garbage),
        ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", &ca),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cert),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &other_key),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", &key),
    ]);
    // Logs: its own valid CA. Traces and metrics: the generic garbage one, reported.
    assert_eq!(c.logs.otlp.tls.ca_pem(), Some(pki.ca_pem().as_bytes()));
    assert_eq!(c.logs.otlp.certificate.as_deref(), Some(files.ca.as_path()));
    assert_eq!(c.traces.otlp.tls.ca_pem(), None);
    let w = warning_for(&c, "OTEL_EXPORTER_OTLP_CERTIFICATE");
    assert_eq!(w.value, garbage);
    assert!(w.problem.contains("no PEM certificate"), "{w}");
    // Traces: the matching per-signal key. Metrics and logs: the generic key of another cert.
    assert!(c.traces.otlp.tls.has_client_identity());
    assert_eq!(
        c.traces.otlp.client_key.as_deref(),
        Some(files.client_key.as_path())
    );
    assert!(!c.metrics.otlp.tls.has_client_identity());
    assert!(!c.logs.otlp.tls.has_client_identity());
    let mismatches: Vec<_> = c
        .warnings
        .iter()
        .filter(|w| w.variable == "OTEL_EXPORTER_OTLP_CLIENT_KEY")
        .collect();
    // Metrics and logs read the same generic variables: one warning, not one per signal.
    assert_eq!(mismatches.len(), 1, "{:?}", c.warnings);
    assert!(
        mismatches[0].problem.contains("does not match"),
        "{}",
        mismatches[0]
    );
    let shown = format!("{c}{c:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(shown.contains("client_certificate="), "{shown}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn huge_numeric_settings_are_clamped_with_a_warning() {
    let max = u64::MAX.to_string();
    let c = cfg(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", max.as_str()),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "10000000"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", max.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", max.as_str()),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "999999999"),
        ("OTEL_METRIC_EXPORT_INTERVAL", max.as_str()),
    ]);
    assert_eq!(c.span_batch.max_queue_size, MAX_QUEUE_SIZE);
    assert_eq!(c.log_batch.max_queue_size, MAX_QUEUE_SIZE);
    assert!(c.span_batch.max_export_batch_size <= MAX_QUEUE_SIZE);
    for signal in [&c.traces, &c.metrics, &c.logs] {
        assert_eq!(signal.otlp.timeout, MAX_EXPORT_WAIT);
    }
    assert_eq!(c.span_batch.schedule_delay, MAX_EXPORT_WAIT);
    assert_eq!(c.log_batch.export_timeout, MAX_EXPORT_WAIT);
    assert_eq!(c.metric_export_interval, MAX_METRIC_EXPORT_INTERVAL);
    for var in [
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BLRP_MAX_QUEUE_SIZE",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BLRP_EXPORT_TIMEOUT",
        "OTEL_METRIC_EXPORT_INTERVAL",
    ] {
        let w = warning_for(&c, var);
        assert!(w.problem.contains("above the maximum"), "{w}");
    }
}

#[test]
fn insecure_garbage_is_reported_whatever_the_endpoint() {
    // HTTP protocol, default endpoint: the variable has no effect, but a typo is still a typo.
    let c = cfg(&[("OTEL_EXPORTER_OTLP_INSECURE", "ture")]);
    assert_eq!(
        warning_for(&c, "OTEL_EXPORTER_OTLP_INSECURE").fallback,
        "false"
    );
    assert_eq!(
        c.warnings
            .iter()
            .filter(|w| w.variable == "OTEL_EXPORTER_OTLP_INSECURE")
            .count(),
        1,
        "one warning, not one per signal: {:?}",
        c.warnings
    );
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "1"),
    ]);
    warning_for(&c, "OTEL_EXPORTER_OTLP_METRICS_INSECURE");
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_the_tls_feature_an_https_endpoint_disables_its_signal_with_a_warning() {
    let c = cfg(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "https://user:secret@collector:4318/v1/traces",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://collector:4318/v1/metrics",
        ),
    ]);
    assert!(c.traces.exporters.is_empty(), "{:?}", c.traces.exporters);
    assert_eq!(c.metrics.exporters, vec![ExporterKind::Otlp]);
    assert_eq!(c.logs.exporters, vec![ExporterKind::Otlp]);
    let w = warning_for(&c, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    assert!(w.problem.contains("`tls` cargo feature"), "{w}");
    assert!(
        w.fallback.contains("OTLP export of traces is disabled"),
        "{w}"
    );
    assert!(!w.value.contains("secret"), "credentials masked: {w}");
}

#[cfg(all(feature = "grpc", not(feature = "tls")))]
#[test]
fn without_the_tls_feature_a_scheme_less_grpc_endpoint_is_not_downgraded_to_plaintext() {
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
    ]);
    for s in [&c.traces, &c.metrics, &c.logs] {
        assert!(s.exporters.is_empty(), "{:?}", s.exporters);
    }
    let w = c
        .warnings
        .iter()
        .find(|w| w.problem.contains("without a scheme"))
        .unwrap_or_else(|| panic!("{:?}", c.warnings));
    assert!(
        w.problem.contains("OTEL_EXPORTER_OTLP_INSECURE=true"),
        "{w}"
    );
    // With the variable, plaintext was asked for: exports stay on.
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
    ]);
    assert_eq!(c.traces.exporters, vec![ExporterKind::Otlp]);
    // And `init()` starts, with the warning, rather than failing.
    let guard = crate::builder()
        .protocol(Protocol::Grpc)
        .endpoint("https://collector:4317")
        .env_lookup(|_| None)
        .global(false)
        .console_format(ConsoleFormat::Off)
        .init()
        .expect("init starts without TLS support");
    assert!(
        guard
            .config()
            .warnings
            .iter()
            .any(|w| w.problem.contains("`tls` cargo feature")),
        "{:?}",
        guard.config().warnings
    );
    assert!(guard.config().traces.exporters.is_empty());
}

#[cfg(feature = "tls")]
#[test]
fn with_the_tls_feature_an_https_endpoint_keeps_its_export() {
    let c = cfg(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "https://collector:4318/v1/traces",
    )]);
    assert_eq!(c.traces.exporters, vec![ExporterKind::Otlp]);
}

#[test]
fn certificate_paths_to_devices_fifos_and_huge_files_are_refused_without_reading_them() {
    // Each would hold init: /dev/zero never ends, a FIFO blocks the open until a writer comes.
    let dir = std::env::temp_dir().join(format!("ferrotel-cert-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("ca.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let huge = dir.join("huge.pem");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(super::tls::MAX_PEM_FILE_BYTES + 1).unwrap();
    for (path, problem) in [
        ("/dev/zero", "not a regular file"),
        (fifo.to_str().unwrap(), "not a regular file"),
        (huge.to_str().unwrap(), "above the maximum"),
    ] {
        let c = cfg(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", path)]);
        assert_eq!(c.traces.otlp.certificate, None, "{path}");
        let w = warning_for(&c, "OTEL_EXPORTER_OTLP_CERTIFICATE");
        assert!(w.problem.contains(problem), "{path}: {}", w.problem);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn value_length_limits_are_clamped_to_the_documented_maximum() {
    let huge = u64::MAX.to_string();
    let c = cfg(&[
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", huge.as_str()),
        ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "99999999"),
    ]);
    assert_eq!(
        c.limits.span_attribute_value_length,
        super::MAX_ATTRIBUTE_VALUE_LENGTH
    );
    assert_eq!(
        c.limits.log_attribute_value_length,
        super::MAX_ATTRIBUTE_VALUE_LENGTH
    );
    for var in [
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    ] {
        assert!(warning_for(&c, var).problem.contains("above the maximum"));
    }
}

#[test]
fn exemplar_filter_from_the_environment_with_a_warning_for_nonsense() {
    assert_eq!(cfg(&[]).exemplar_filter, ExemplarFilter::TraceBased);
    let c = cfg(&[("OTEL_METRICS_EXEMPLAR_FILTER", "ALWAYS_ON")]);
    assert_eq!(c.exemplar_filter, ExemplarFilter::AlwaysOn);
    assert!(c.to_string().contains("exemplars=always_on"), "{c}");
    let c = cfg(&[("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")]);
    assert_eq!(c.exemplar_filter, ExemplarFilter::AlwaysOff);
    let c = cfg(&[("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")]);
    assert_eq!(c.exemplar_filter, ExemplarFilter::TraceBased);
    let w = warning_for(&c, "OTEL_METRICS_EXEMPLAR_FILTER");
    assert_eq!(w.value, "sometimes");
    assert_eq!(w.fallback, "trace_based");
}

//! The resource: service identity from the configuration plus host, OS and process detectors.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::TelemetryResourceDetector;

use crate::config::Config;

/// Builds the resource every signal carries.
pub(crate) fn build(config: &Config) -> Resource {
    build_keeping(config, &|_| true)
}

/// Like [`build`], keeping only the detected attributes `keep` accepts (a configuration
/// file's detector selection).
pub(crate) fn build_keeping(config: &Config, keep: &dyn Fn(&str) -> bool) -> Resource {
    let mut attrs = vec![
        KeyValue::new("service.name", config.service_name.clone()),
        KeyValue::new("service.instance.id", config.service_instance_id.clone()),
    ];
    if let Some(v) = &config.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    if let Some(env) = &config.deployment_environment {
        attrs.push(KeyValue::new("deployment.environment.name", env.clone()));
    }
    attrs.extend(detected().into_iter().filter(|kv| keep(kv.key.as_str())));
    // Explicit attributes last: they override what was detected.
    attrs.extend(
        config
            .resource_attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(attrs)
        .build()
}

/// Host, OS and process attributes (semconv names), from the standard library only.
fn detected() -> Vec<KeyValue> {
    let mut out = vec![
        KeyValue::new("os.type", os_type()),
        KeyValue::new("host.arch", host_arch()),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("process.runtime.name", "rust"),
    ];
    if let Some(host) = host_name() {
        out.push(KeyValue::new("host.name", host));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(name) = exe.file_name() {
            out.push(KeyValue::new(
                "process.executable.name",
                name.to_string_lossy().into_owned(),
            ));
        }
        out.push(KeyValue::new(
            "process.executable.path",
            exe.to_string_lossy().into_owned(),
        ));
    }
    let args: Vec<opentelemetry::StringValue> = std::env::args().map(Into::into).collect();
    if !args.is_empty() {
        out.push(KeyValue::new(
            "process.command_args",
            Value::Array(opentelemetry::Array::String(args)),
        ));
    }
    out
}

fn os_type() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("COMPUTERNAME").ok().filter(|s| !s.is_empty()))
}

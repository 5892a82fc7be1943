//! Reads the declarative configuration model (`file_format` 1.x) out of the YAML tree.
//!
//! Every property with an `OTEL_*` equivalent becomes that variable's value in a set of
//! variables private to the file, which the environment resolver then reads: one validation
//! path for both, so a file and the variables it migrates from give the same effective
//! configuration, with the same bounds and fallbacks. Each such variable remembers the path it
//! came from, so a rejected value is reported at `tracer_provider.processors[0].batch...`, not
//! under a variable nobody set. What no variable can express (typed resource values, views,
//! reader cardinality limits, the Prometheus pull reader, the family's own switches) is kept
//! in [`FileExtras`].

use std::collections::BTreeMap;

use opentelemetry::{Array, KeyValue, StringValue, Value};

use super::yaml::Node;
use crate::config::{ConfigWarning, OtlpFileOutput};

/// Newest schema minor this build knows.
pub(crate) const KNOWN_MINOR: u64 = 1;

/// The result of reading a file's model.
#[derive(Debug, Default)]
pub(crate) struct Model {
    /// `OTEL_*` variables the file sets (private to it; the process environment is not read).
    pub vars: BTreeMap<String, String>,
    /// For each of `vars`, the path of the property it came from.
    pub origins: BTreeMap<String, String>,
    /// Problems found in the file, already naming the file and the path.
    pub warnings: Vec<ConfigWarning>,
    /// What no variable can carry.
    pub extras: FileExtras,
}

/// Settings of the file that have no `OTEL_*` variable.
#[derive(Debug, Default, Clone)]
pub struct FileExtras {
    /// Resource attributes with their declared types (`int`, `bool`, arrays...).
    pub typed_resource: Vec<KeyValue>,
    /// `meter_provider.views`, in order.
    pub views: Vec<ViewSpec>,
    /// Cardinality limits of the metric readers (`cardinality_limits`).
    pub cardinality: CardinalityLimits,
    /// `default_histogram_aggregation: base2_exponential_bucket_histogram`.
    pub exponential_histograms: bool,
    /// A pull reader's Prometheus exporter (`host`, `port`).
    pub prometheus: Option<(String, u16)>,
    /// `distribution.ferrotel.redaction.enabled`.
    pub redaction: Option<bool>,
    /// `distribution.ferrotel.runtime_metrics.enabled`.
    pub runtime_metrics: Option<bool>,
    /// `resource.detection/development`; `None`: no detection, as the schema says.
    pub detection: Option<Detection>,
    /// The `otlp_file/development` exporter of traces, metrics and logs (in `Signal::ALL`
    /// order) and its output stream.
    pub otlp_file: [Option<OtlpFileOutput>; 3],
}

/// The resource detectors a file enables and the detected attributes it keeps.
#[derive(Debug, Default, Clone)]
pub struct Detection {
    /// `host`: `host.*` and `os.*`.
    pub host: bool,
    /// `process`: `process.*`.
    pub process: bool,
    /// `attributes.included` patterns (`None`: all).
    pub included: Option<Vec<String>>,
    /// `attributes.excluded` patterns.
    pub excluded: Vec<String>,
}

/// Which instruments a view applies to; `None` matches anything.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ViewSelector {
    /// Instrument name, with `*` and `?` wildcards.
    pub instrument_name: Option<String>,
    /// `counter`, `histogram`... as the schema spells them.
    pub instrument_type: Option<String>,
    /// Instrument unit, exactly.
    pub unit: Option<String>,
    /// Meter (instrumentation scope) name, exactly.
    pub meter_name: Option<String>,
    /// Meter version, exactly.
    pub meter_version: Option<String>,
    /// Meter schema URL, exactly.
    pub meter_schema_url: Option<String>,
}

/// The aggregation a view asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewAggregation {
    /// The instrument kind's default.
    Default,
    /// Nothing is recorded.
    Drop,
    /// A sum.
    Sum,
    /// The last value.
    LastValue,
    /// Explicit buckets.
    ExplicitBucketHistogram {
        /// Bucket boundaries (`None`: the SDK's defaults).
        boundaries: Option<Vec<f64>>,
        /// Whether min and max are recorded.
        record_min_max: bool,
    },
    /// Base-2 exponential buckets.
    Base2ExponentialHistogram {
        /// Maximum number of buckets.
        max_size: u32,
        /// Maximum scale.
        max_scale: i8,
        /// Whether min and max are recorded.
        record_min_max: bool,
    },
}

/// One `meter_provider.views[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSpec {
    /// Where it is in the file, for reports.
    pub path: String,
    /// Which instruments.
    pub selector: ViewSelector,
    /// New stream name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Aggregation (`None`: unchanged).
    pub aggregation: Option<ViewAggregation>,
    /// Attribute keys kept (`None`: all).
    pub attribute_keys: Option<Vec<String>>,
    /// Attribute keys removed.
    pub excluded_attribute_keys: Vec<String>,
    /// Cardinality limit of the stream.
    pub cardinality_limit: Option<usize>,
}

/// `cardinality_limits` of a reader: a default and per instrument kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CardinalityLimits {
    /// Every kind without its own limit.
    pub default: Option<usize>,
    /// Counters.
    pub counter: Option<usize>,
    /// Gauges.
    pub gauge: Option<usize>,
    /// Histograms.
    pub histogram: Option<usize>,
    /// Observable counters.
    pub observable_counter: Option<usize>,
    /// Observable gauges.
    pub observable_gauge: Option<usize>,
    /// Observable up-down counters.
    pub observable_up_down_counter: Option<usize>,
    /// Up-down counters.
    pub up_down_counter: Option<usize>,
}

impl CardinalityLimits {
    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        *self != CardinalityLimits::default()
    }
}

/// Reads `root` (a mapping whose `file_format` was checked) into a [`Model`]. `label` names the
/// file in warnings.
pub(crate) fn read(root: &Node, label: &str) -> Model {
    let mut r = Reader {
        label: label.to_owned(),
        model: Model::default(),
        unlisted: 0,
    };
    let top = r.fields(
        root,
        "",
        &[
            "file_format",
            "disabled",
            "log_level",
            "attribute_limits",
            "logger_provider",
            "meter_provider",
            "propagator",
            "tracer_provider",
            "resource",
            "distribution",
        ],
        &["instrumentation/development"],
    );
    if let Some(b) = r.boolean(get(top, "disabled"), "disabled") {
        r.set("OTEL_SDK_DISABLED", b.to_string(), "disabled");
    }
    if let Some(level) = r.text(get(top, "log_level"), "log_level") {
        let base = level.trim_end_matches(['2', '3', '4']);
        let mapped = match base {
            "trace" | "debug" | "info" | "warn" | "error" => base.to_owned(),
            "fatal" => "error".to_owned(),
            // Left for the resolver to reject, at this path.
            _ => level,
        };
        r.set("OTEL_LOG_LEVEL", mapped, "log_level");
    }
    if let Some(node) = get(top, "attribute_limits") {
        let limits = r.fields(
            node,
            "attribute_limits",
            &["attribute_value_length_limit", "attribute_count_limit"],
            &[],
        );
        r.int_var(
            limits,
            "attribute_limits",
            "attribute_value_length_limit",
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        );
        r.int_var(
            limits,
            "attribute_limits",
            "attribute_count_limit",
            "OTEL_ATTRIBUTE_COUNT_LIMIT",
        );
    }
    r.resource(get(top, "resource"));
    r.propagator(get(top, "propagator"));
    r.tracer_provider(get(top, "tracer_provider"));
    r.meter_provider(get(top, "meter_provider"));
    r.logger_provider(get(top, "logger_provider"));
    r.distribution(get(top, "distribution"));
    if r.unlisted > 0 {
        let label = r.label.clone();
        r.model.warnings.push(ConfigWarning {
            variable: label,
            value: String::new(),
            problem: format!("{} further problems are not listed", r.unlisted),
            fallback: "each as its path's fallback".to_owned(),
        });
    }
    r.model
}

/// A present, non-null value of a mapping.
fn get<'n>(entries: &'n [(String, Node)], key: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| **v != Node::Null)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Percent-encodes what would break an `OTEL_*` key-value list entry.
fn list_value(value: &str) -> String {
    const BREAKS_LIST: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b',')
        .add(b'=')
        .add(b'%')
        .add(b' ');
    percent_encoding::utf8_percent_encode(value, BREAKS_LIST).to_string()
}

/// Warnings listed for one file; a file of thousands of bad entries must neither flood the log
/// nor slow start-up.
const MAX_LISTED_WARNINGS: usize = 64;

struct Reader {
    label: String,
    model: Model,
    /// Problems past [`MAX_LISTED_WARNINGS`], counted.
    unlisted: usize,
}

/// One exporter of a processor or reader.
enum Exporter {
    Otlp,
    Console,
    /// Recorded in [`FileExtras::otlp_file`]: no `OTEL_*` variable names it.
    OtlpFile,
    Unsupported,
}

impl Reader {
    fn warn(&mut self, path: &str, value: &str, problem: &str, fallback: &str) {
        let warning = ConfigWarning {
            variable: format!("{}: {}", self.label, path),
            value: crate::config::env::shown_value(value),
            problem: problem.to_owned(),
            fallback: fallback.to_owned(),
        };
        if self.model.warnings.contains(&warning) {
            return;
        }
        if self.model.warnings.len() >= MAX_LISTED_WARNINGS {
            self.unlisted += 1;
        } else {
            self.model.warnings.push(warning);
        }
    }

    fn set(&mut self, var: &str, value: String, path: &str) {
        self.model.vars.insert(var.to_owned(), value);
        self.model.origins.insert(var.to_owned(), path.to_owned());
    }

    /// The entries of a mapping, warning about keys the schema does not have (`known`) or
    /// that this build does not implement (`unsupported`). A non-mapping is reported and read
    /// as empty.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&str],
        unsupported: &[&str],
    ) -> &'n [(String, Node)] {
        match node {
            Node::Map(entries) => {
                for (key, value) in entries {
                    if unsupported.contains(&key.as_str()) {
                        if *value != Node::Null {
                            self.warn(
                                &join(path, key),
                                "",
                                "not supported by ferrotel",
                                "nothing (ignored)",
                            );
                        }
                    } else if !known.contains(&key.as_str()) {
                        self.warn(
                            &join(path, key),
                            "",
                            "unknown property (not in the configuration schema this build knows)",
                            "nothing (ignored)",
                        );
                    }
                }
                entries
            }
            Node::Null => &[],
            other => {
                let shown = other.as_text().unwrap_or_default();
                let path = if path.is_empty() { "(top level)" } else { path };
                self.warn(
                    path,
                    &shown,
                    &format!("expected a mapping, found {}", other.kind()),
                    "nothing (ignored)",
                );
                &[]
            }
        }
    }

    fn text(&mut self, node: Option<&Node>, path: &str) -> Option<String> {
        let node = node?;
        match node.as_text() {
            Some(t) => Some(t),
            None => {
                self.warn(
                    path,
                    "",
                    &format!("expected a string, found {}", node.kind()),
                    "nothing (ignored)",
                );
                None
            }
        }
    }

    fn int(&mut self, node: Option<&Node>, path: &str) -> Option<i64> {
        match node? {
            Node::Int(i) => Some(*i),
            other => {
                self.warn(
                    path,
                    &other.as_text().unwrap_or_default(),
                    &format!("expected an integer, found {}", other.kind()),
                    "the default",
                );
                None
            }
        }
    }

    fn non_negative(&mut self, node: Option<&Node>, path: &str) -> Option<usize> {
        let i = self.int(node, path)?;
        match usize::try_from(i) {
            Ok(n) => Some(n),
            Err(_) => {
                self.warn(path, &i.to_string(), "must not be negative", "the default");
                None
            }
        }
    }

    fn number(&mut self, node: Option<&Node>, path: &str) -> Option<f64> {
        match node? {
            Node::Int(i) => Some(*i as f64),
            Node::Float(f) => Some(*f),
            other => {
                self.warn(
                    path,
                    &other.as_text().unwrap_or_default(),
                    &format!("expected a number, found {}", other.kind()),
                    "the default",
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: Option<&Node>, path: &str) -> Option<bool> {
        match node? {
            Node::Bool(b) => Some(*b),
            other => {
                self.warn(
                    path,
                    &other.as_text().unwrap_or_default(),
                    &format!("expected true or false, found {}", other.kind()),
                    "the default",
                );
                None
            }
        }
    }

    fn seq<'n>(&mut self, node: Option<&'n Node>, path: &str) -> &'n [Node] {
        match node {
            None => &[],
            Some(Node::Seq(items)) => items,
            Some(other) => {
                self.warn(
                    path,
                    &other.as_text().unwrap_or_default(),
                    &format!("expected a sequence, found {}", other.kind()),
                    "nothing (ignored)",
                );
                &[]
            }
        }
    }

    fn strings(&mut self, node: Option<&Node>, path: &str) -> Option<Vec<String>> {
        let node = node?;
        let items = self.seq(Some(node), path);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(t) = self.text(Some(item), &format!("{path}[{i}]")) {
                out.push(t);
            }
        }
        Some(out)
    }

    /// An integer property copied into `var` (the resolver checks its range).
    fn int_var(&mut self, entries: &[(String, Node)], path: &str, key: &str, var: &str) {
        let p = join(path, key);
        if let Some(i) = self.int(get(entries, key), &p) {
            self.set(var, i.to_string(), &p);
        }
    }

    /// The single key of a `{ kind: {...} }` mapping (processors, exporters, samplers...).
    fn one_of<'n>(&mut self, node: &'n Node, path: &str) -> Option<(&'n str, &'n Node)> {
        match node {
            Node::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                Some((k.as_str(), v))
            }
            Node::Map(entries) => {
                let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                self.warn(
                    path,
                    &keys.join(", "),
                    "expected exactly one kind",
                    "nothing (ignored)",
                );
                None
            }
            other => {
                self.warn(
                    path,
                    &other.as_text().unwrap_or_default(),
                    &format!("expected a mapping, found {}", other.kind()),
                    "nothing (ignored)",
                );
                None
            }
        }
    }

    fn resource(&mut self, node: Option<&Node>) {
        let Some(node) = node else { return };
        let entries = self.fields(
            node,
            "resource",
            &[
                "attributes",
                "attributes_list",
                "schema_url",
                "detection/development",
            ],
            &[],
        );
        self.detection(get(entries, "detection/development"));
        if get(entries, "schema_url").is_some() {
            self.warn(
                "resource.schema_url",
                "",
                "not supported by ferrotel",
                "the resource has no schema URL",
            );
        }
        let mut listed: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let attributes = self.seq(get(entries, "attributes"), "resource.attributes");
        for (i, attr) in attributes.iter().enumerate() {
            let path = format!("resource.attributes[{i}]");
            let fields = self.fields(attr, &path, &["name", "value", "type"], &[]);
            let Some(name) = self.text(get(fields, "name"), &join(&path, "name")) else {
                self.warn(
                    &path,
                    "",
                    "an attribute needs a `name`",
                    "nothing (ignored)",
                );
                continue;
            };
            let ty = self
                .text(get(fields, "type"), &join(&path, "type"))
                .unwrap_or_else(|| "string".to_owned());
            let Some(value) = get(fields, "value") else {
                self.warn(
                    &path,
                    &name,
                    "an attribute needs a `value`",
                    "nothing (ignored)",
                );
                continue;
            };
            let Some(value) = self.typed_value(value, &ty, &path) else {
                continue;
            };
            listed.push(format!("{}={}", name, list_value(&value.as_str())));
            names.push(name.clone());
            self.model
                .extras
                .typed_resource
                .push(KeyValue::new(name, value));
        }
        let mut list: Vec<String> = Vec::new();
        if let Some(raw) = self.text(get(entries, "attributes_list"), "resource.attributes_list") {
            // `attributes` wins over `attributes_list` for the same key.
            for entry in raw.split(',').filter(|e| !e.trim().is_empty()) {
                let key = entry.split('=').next().unwrap_or("").trim();
                if !names.iter().any(|n| n == key) {
                    list.push(entry.trim().to_owned());
                }
            }
        }
        list.extend(listed);
        if !list.is_empty() {
            self.set(
                "OTEL_RESOURCE_ATTRIBUTES",
                list.join(","),
                "resource.attributes",
            );
        }
    }

    fn detection(&mut self, node: Option<&Node>) {
        let Some(node) = node else { return };
        let p = "resource.detection/development";
        let f = self.fields(node, p, &["attributes", "detectors"], &[]);
        let mut detection = Detection::default();
        if let Some(attributes) = get(f, "attributes") {
            let ap = join(p, "attributes");
            let a = self.fields(attributes, &ap, &["included", "excluded"], &[]);
            detection.included = self.strings(get(a, "included"), &join(&ap, "included"));
            detection.excluded = self
                .strings(get(a, "excluded"), &join(&ap, "excluded"))
                .unwrap_or_default();
        }
        let dp = join(p, "detectors");
        for (i, item) in self.seq(get(f, "detectors"), &dp).iter().enumerate() {
            let ip = format!("{dp}[{i}]");
            let Some((kind, _)) = self.one_of(item, &ip) else {
                continue;
            };
            match kind {
                "host" => detection.host = true,
                "process" => detection.process = true,
                // service.name and service.instance.id are always set.
                "service" => {}
                other => self.warn(
                    &join(&ip, other),
                    "",
                    "no such detector in ferrotel (it has host, process and service)",
                    "nothing (ignored)",
                ),
            }
        }
        self.model.extras.detection = Some(detection);
    }

    fn typed_value(&mut self, node: &Node, ty: &str, path: &str) -> Option<Value> {
        let vpath = join(path, "value");
        let mismatch = |r: &mut Reader, found: &Node| {
            r.warn(
                &vpath,
                &found.as_text().unwrap_or_default(),
                &format!("a `{ty}` attribute cannot hold {}", found.kind()),
                "the attribute is left out",
            );
            None
        };
        let items = |r: &mut Reader| -> Option<&[Node]> {
            match node {
                Node::Seq(items) => Some(items.as_slice()),
                other => {
                    mismatch(r, other);
                    None
                }
            }
        };
        match ty {
            "string" => match node.as_text() {
                Some(t) => Some(Value::from(t)),
                None => mismatch(self, node),
            },
            "bool" => match node {
                Node::Bool(b) => Some(Value::Bool(*b)),
                other => mismatch(self, other),
            },
            "int" => match node {
                Node::Int(i) => Some(Value::I64(*i)),
                other => mismatch(self, other),
            },
            "double" => match node {
                Node::Int(i) => Some(Value::F64(*i as f64)),
                Node::Float(f) => Some(Value::F64(*f)),
                other => mismatch(self, other),
            },
            "string_array" => {
                let items = items(self)?;
                let v: Option<Vec<StringValue>> = items
                    .iter()
                    .map(|n| n.as_text().map(StringValue::from))
                    .collect();
                v.map(|v| Value::Array(Array::String(v)))
                    .or_else(|| mismatch(self, node))
            }
            "bool_array" => {
                let items = items(self)?;
                let v: Option<Vec<bool>> = items
                    .iter()
                    .map(|n| match n {
                        Node::Bool(b) => Some(*b),
                        _ => None,
                    })
                    .collect();
                v.map(|v| Value::Array(Array::Bool(v)))
                    .or_else(|| mismatch(self, node))
            }
            "int_array" => {
                let items = items(self)?;
                let v: Option<Vec<i64>> = items
                    .iter()
                    .map(|n| match n {
                        Node::Int(i) => Some(*i),
                        _ => None,
                    })
                    .collect();
                v.map(|v| Value::Array(Array::I64(v)))
                    .or_else(|| mismatch(self, node))
            }
            "double_array" => {
                let items = items(self)?;
                let v: Option<Vec<f64>> = items
                    .iter()
                    .map(|n| match n {
                        Node::Int(i) => Some(*i as f64),
                        Node::Float(f) => Some(*f),
                        _ => None,
                    })
                    .collect();
                v.map(|v| Value::Array(Array::F64(v)))
                    .or_else(|| mismatch(self, node))
            }
            other => {
                self.warn(
                    &join(path, "type"),
                    other,
                    "expected string, bool, int, double or one of their _array forms",
                    "the attribute is left out",
                );
                None
            }
        }
    }

    fn propagator(&mut self, node: Option<&Node>) {
        let Some(node) = node else {
            // No `propagator`: the spec's default is a no-op propagator.
            self.set("OTEL_PROPAGATORS", "none".to_owned(), "propagator");
            return;
        };
        let entries = self.fields(node, "propagator", &["composite", "composite_list"], &[]);
        let mut names: Vec<String> = Vec::new();
        let composite = self.seq(get(entries, "composite"), "propagator.composite");
        for (i, item) in composite.iter().enumerate() {
            if let Some((name, _)) = self.one_of(item, &format!("propagator.composite[{i}]")) {
                names.push(name.to_owned());
            }
        }
        if let Some(list) = self.text(get(entries, "composite_list"), "propagator.composite_list") {
            names.extend(
                list.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
            );
        }
        let mut unique: Vec<String> = Vec::new();
        for n in names {
            if !unique.contains(&n) {
                unique.push(n);
            }
        }
        let value = if unique.is_empty() {
            "none".to_owned()
        } else {
            unique.join(",")
        };
        self.set("OTEL_PROPAGATORS", value, "propagator");
    }

    /// The exporter of a processor or periodic reader. `infix` is the signal's variable infix
    /// (`TRACES`); `otlp_taken` says whether an OTLP exporter was already configured.
    fn exporter(
        &mut self,
        node: Option<&Node>,
        path: &str,
        infix: &str,
        otlp_taken: bool,
    ) -> Exporter {
        let Some(node) = node else {
            self.warn(
                path,
                "",
                "a processor or reader needs an `exporter`",
                "nothing (ignored)",
            );
            return Exporter::Unsupported;
        };
        let Some((kind, settings)) = self.one_of(node, path) else {
            return Exporter::Unsupported;
        };
        let path = join(path, kind);
        let metrics = infix == "METRICS";
        match kind {
            "otlp_http" | "otlp_grpc" => {
                let mut known = vec![
                    "endpoint",
                    "tls",
                    "headers",
                    "headers_list",
                    "compression",
                    "timeout",
                ];
                if kind == "otlp_http" {
                    known.push("encoding");
                }
                if metrics {
                    known.extend(["temporality_preference", "default_histogram_aggregation"]);
                }
                let fields = self.fields(settings, &path, &known, &[]);
                if otlp_taken {
                    self.warn(
                        &path,
                        "",
                        "a second OTLP exporter for this signal: ferrotel sends each signal to one OTLP endpoint",
                        "the first OTLP exporter",
                    );
                    return Exporter::Unsupported;
                }
                self.otlp(fields, &path, kind, infix);
                Exporter::Otlp
            }
            "console" => {
                let known: &[&str] = if metrics {
                    &["temporality_preference", "default_histogram_aggregation"]
                } else {
                    &[]
                };
                self.fields(settings, &path, known, &[]);
                Exporter::Console
            }
            "otlp_file/development" => self.otlp_file(settings, &path, infix),
            _ => {
                self.warn(
                    &path,
                    "",
                    "unknown exporter (expected otlp_http, otlp_grpc or console)",
                    "nothing (ignored)",
                );
                Exporter::Unsupported
            }
        }
    }

    /// `otlp_file/development`: its `output_stream`, kept per signal in the extras.
    fn otlp_file(&mut self, settings: &Node, path: &str, infix: &str) -> Exporter {
        let metrics = infix == "METRICS";
        let mut known = vec!["output_stream"];
        if metrics {
            known.extend(["temporality_preference", "default_histogram_aggregation"]);
        }
        let fields = self.fields(settings, path, &known, &[]);
        if !cfg!(feature = "otlp-file") {
            self.warn(
                path,
                "",
                "the OTLP file exporter needs the `otlp-file` cargo feature of `ferrotel`",
                "nothing (ignored)",
            );
            return Exporter::Unsupported;
        }
        let index = match infix {
            "TRACES" => 0,
            "METRICS" => 1,
            _ => 2,
        };
        if self.model.extras.otlp_file[index].is_some() {
            self.warn(
                path,
                "",
                "a second OTLP file exporter for this signal: ferrotel writes each signal to one stream",
                "the first one",
            );
            return Exporter::Unsupported;
        }
        let stream_path = join(path, "output_stream");
        let output = match self.text(get(fields, "output_stream"), &stream_path) {
            None => OtlpFileOutput::Stdout,
            Some(stream) if stream == "stdout" => OtlpFileOutput::Stdout,
            Some(stream) => match stream.strip_prefix("file://") {
                Some(file) if file.starts_with('/') => OtlpFileOutput::File(file.into()),
                _ => {
                    self.warn(
                        &stream_path,
                        &stream,
                        "expected `stdout` or a `file:///absolute/path` URI",
                        "stdout",
                    );
                    OtlpFileOutput::Stdout
                }
            },
        };
        if metrics {
            self.metric_exporter_options(fields, path);
        }
        self.model.extras.otlp_file[index] = Some(output);
        Exporter::OtlpFile
    }

    fn otlp(&mut self, fields: &[(String, Node)], path: &str, kind: &str, infix: &str) {
        let var = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{infix}_{suffix}");
        let protocol = if kind == "otlp_grpc" {
            "grpc".to_owned()
        } else {
            match self
                .text(get(fields, "encoding"), &join(path, "encoding"))
                .as_deref()
            {
                None | Some("protobuf") => "http/protobuf".to_owned(),
                Some("json") => "http/json".to_owned(),
                Some(other) => {
                    self.warn(
                        &join(path, "encoding"),
                        other,
                        "expected protobuf or json",
                        "protobuf",
                    );
                    "http/protobuf".to_owned()
                }
            }
        };
        self.set(&var("PROTOCOL"), protocol, path);
        if let Some(endpoint) = self.text(get(fields, "endpoint"), &join(path, "endpoint")) {
            self.set(&var("ENDPOINT"), endpoint, &join(path, "endpoint"));
        }
        if let Some(tls) = get(fields, "tls") {
            let tls_path = join(path, "tls");
            let mut known = vec!["ca_file", "key_file", "cert_file"];
            if kind == "otlp_grpc" {
                known.push("insecure");
            }
            let t = self.fields(tls, &tls_path, &known, &[]);
            for (key, suffix) in [
                ("ca_file", "CERTIFICATE"),
                ("key_file", "CLIENT_KEY"),
                ("cert_file", "CLIENT_CERTIFICATE"),
            ] {
                let p = join(&tls_path, key);
                if let Some(file) = self.text(get(t, key), &p) {
                    self.set(&var(suffix), file, &p);
                }
            }
            let p = join(&tls_path, "insecure");
            if let Some(insecure) = self.boolean(get(t, "insecure"), &p) {
                self.set(&var("INSECURE"), insecure.to_string(), &p);
            }
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        let list_path = join(path, "headers_list");
        if let Some(list) = self.text(get(fields, "headers_list"), &list_path) {
            for entry in list.split(',').filter(|e| !e.trim().is_empty()) {
                let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let header_path = join(path, "headers");
        let items = self.seq(get(fields, "headers"), &header_path);
        for (i, item) in items.iter().enumerate() {
            let p = format!("{header_path}[{i}]");
            let h = self.fields(item, &p, &["name", "value"], &[]);
            let Some(name) = self.text(get(h, "name"), &join(&p, "name")) else {
                self.warn(&p, "", "a header needs a `name`", "nothing (ignored)");
                continue;
            };
            // The value is never shown: headers carry credentials.
            let value = get(h, "value").and_then(Node::as_text).unwrap_or_default();
            // `headers` wins over `headers_list` for the same name.
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
            headers.push((name, list_value(&value)));
        }
        if !headers.is_empty() {
            let joined: Vec<String> = headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.set(&var("HEADERS"), joined.join(","), &header_path);
        }
        if let Some(c) = self.text(get(fields, "compression"), &join(path, "compression")) {
            self.set(&var("COMPRESSION"), c, &join(path, "compression"));
        }
        let p = join(path, "timeout");
        if let Some(t) = self.int(get(fields, "timeout"), &p) {
            self.set(&var("TIMEOUT"), t.to_string(), &p);
        }
        if infix == "METRICS" {
            self.metric_exporter_options(fields, path);
        }
    }

    /// A metric exporter's `temporality_preference` and `default_histogram_aggregation`.
    fn metric_exporter_options(&mut self, fields: &[(String, Node)], path: &str) {
        {
            let p = join(path, "temporality_preference");
            if let Some(t) = self.text(get(fields, "temporality_preference"), &p) {
                let mapped = if t == "low_memory" {
                    "lowmemory".to_owned()
                } else {
                    t
                };
                self.set(
                    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                    mapped,
                    &p,
                );
            }
            let p = join(path, "default_histogram_aggregation");
            match self
                .text(get(fields, "default_histogram_aggregation"), &p)
                .as_deref()
            {
                None | Some("explicit_bucket_histogram") => {}
                Some("base2_exponential_bucket_histogram") => {
                    self.model.extras.exponential_histograms = true;
                }
                Some(other) => self.warn(
                    &p,
                    other,
                    "expected explicit_bucket_histogram or base2_exponential_bucket_histogram",
                    "explicit_bucket_histogram",
                ),
            }
        }
    }

    /// `processors` of the tracer or logger provider. `prefix` is the batch variables' prefix
    /// (`OTEL_BSP`).
    fn processors(&mut self, node: Option<&Node>, path: &str, infix: &str, prefix: &str) {
        let items = self.seq(node, path);
        let mut exporters: Vec<&str> = Vec::new();
        let mut otlp_at: Option<String> = None;
        let mut file_batch_set = false;
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some((kind, settings)) = self.one_of(item, &p) else {
                continue;
            };
            let p = join(&p, kind);
            let batch = match kind {
                "batch" => true,
                "simple" => false,
                "event_to_span_event_bridge/development" => {
                    self.warn(&p, "", "not supported by ferrotel", "nothing (ignored)");
                    continue;
                }
                other => {
                    self.warn(
                        &p,
                        other,
                        "unknown processor (expected batch or simple)",
                        "nothing (ignored)",
                    );
                    continue;
                }
            };
            let known: &[&str] = if batch {
                &[
                    "schedule_delay",
                    "export_timeout",
                    "max_queue_size",
                    "max_export_batch_size",
                    "exporter",
                ]
            } else {
                &["exporter"]
            };
            let fields = self.fields(settings, &p, known, &[]);
            let exporter = self.exporter(
                get(fields, "exporter"),
                &join(&p, "exporter"),
                infix,
                otlp_at.is_some(),
            );
            // The batch settings are the signal's (one queue): the OTLP processor's, else the
            // file exporter's.
            let batch_owner = match exporter {
                Exporter::Otlp => true,
                Exporter::OtlpFile => otlp_at.is_none() && !file_batch_set,
                _ => false,
            };
            if let Exporter::OtlpFile = exporter {
                file_batch_set = true;
            }
            if let Exporter::Otlp = exporter {
                otlp_at = Some(p.clone());
                exporters.push("otlp");
            }
            match exporter {
                Exporter::Otlp | Exporter::OtlpFile if batch_owner => {
                    if batch {
                        for (key, suffix) in [
                            ("schedule_delay", "SCHEDULE_DELAY"),
                            ("export_timeout", "EXPORT_TIMEOUT"),
                            ("max_queue_size", "MAX_QUEUE_SIZE"),
                            ("max_export_batch_size", "MAX_EXPORT_BATCH_SIZE"),
                        ] {
                            self.int_var(fields, &p, key, &format!("{prefix}_{suffix}"));
                        }
                    } else {
                        // A simple processor exports each record as it ends. ferrotel never
                        // exports on the caller's thread: the export thread sends records one
                        // at a time, without waiting.
                        self.set(&format!("{prefix}_SCHEDULE_DELAY"), "0".to_owned(), &p);
                        self.set(
                            &format!("{prefix}_MAX_EXPORT_BATCH_SIZE"),
                            "1".to_owned(),
                            &p,
                        );
                    }
                }
                Exporter::Console => {
                    if !exporters.contains(&"console") {
                        exporters.push("console");
                    }
                }
                Exporter::Otlp | Exporter::OtlpFile | Exporter::Unsupported => {}
            }
        }
        let value = if exporters.is_empty() {
            "none".to_owned()
        } else {
            exporters.join(",")
        };
        self.set(&format!("OTEL_{infix}_EXPORTER"), value, path);
    }

    fn tracer_provider(&mut self, node: Option<&Node>) {
        let Some(node) = node else {
            self.set("OTEL_TRACES_EXPORTER", "none".to_owned(), "tracer_provider");
            return;
        };
        let path = "tracer_provider";
        let entries = self.fields(
            node,
            path,
            &["processors", "limits", "sampler", "id_generator"],
            &["tracer_configurator/development"],
        );
        self.processors(
            get(entries, "processors"),
            "tracer_provider.processors",
            "TRACES",
            "OTEL_BSP",
        );
        if let Some(limits) = get(entries, "limits") {
            let p = "tracer_provider.limits";
            let l = self.fields(
                limits,
                p,
                &[
                    "attribute_value_length_limit",
                    "attribute_count_limit",
                    "event_count_limit",
                    "link_count_limit",
                    "event_attribute_count_limit",
                    "link_attribute_count_limit",
                ],
                &[],
            );
            for (key, var) in [
                (
                    "attribute_value_length_limit",
                    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                ),
                ("attribute_count_limit", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"),
                ("event_count_limit", "OTEL_SPAN_EVENT_COUNT_LIMIT"),
                ("link_count_limit", "OTEL_SPAN_LINK_COUNT_LIMIT"),
                (
                    "event_attribute_count_limit",
                    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
                ),
                (
                    "link_attribute_count_limit",
                    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
                ),
            ] {
                self.int_var(l, p, key, var);
            }
        }
        if let Some(sampler) = get(entries, "sampler")
            && let Some((name, arg)) = self.sampler(sampler, "tracer_provider.sampler", true)
        {
            self.set("OTEL_TRACES_SAMPLER", name, "tracer_provider.sampler");
            if let Some(arg) = arg {
                self.set("OTEL_TRACES_SAMPLER_ARG", arg, "tracer_provider.sampler");
            }
        }
        if let Some(generator) = get(entries, "id_generator") {
            let p = "tracer_provider.id_generator";
            if let Some((kind, _)) = self.one_of(generator, p)
                && kind != "random"
            {
                self.warn(
                    &join(p, kind),
                    "",
                    "only the random id generator is supported",
                    "random",
                );
            }
        }
    }

    /// A sampler as `OTEL_TRACES_SAMPLER` and its argument. `top` allows `parent_based`.
    fn sampler(&mut self, node: &Node, path: &str, top: bool) -> Option<(String, Option<String>)> {
        let (kind, settings) = self.one_of(node, path)?;
        let p = join(path, kind);
        match kind {
            "always_on" => {
                self.fields(settings, &p, &[], &[]);
                Some(("always_on".to_owned(), None))
            }
            "always_off" => {
                self.fields(settings, &p, &[], &[]);
                Some(("always_off".to_owned(), None))
            }
            "trace_id_ratio_based" => {
                let f = self.fields(settings, &p, &["ratio"], &[]);
                let ratio = self
                    .number(get(f, "ratio"), &join(&p, "ratio"))
                    .unwrap_or(1.0);
                Some(("traceidratio".to_owned(), Some(ratio.to_string())))
            }
            "parent_based" if top => {
                let f = self.fields(
                    settings,
                    &p,
                    &[
                        "root",
                        "remote_parent_sampled",
                        "remote_parent_not_sampled",
                        "local_parent_sampled",
                        "local_parent_not_sampled",
                    ],
                    &[],
                );
                for (key, default) in [
                    ("remote_parent_sampled", "always_on"),
                    ("remote_parent_not_sampled", "always_off"),
                    ("local_parent_sampled", "always_on"),
                    ("local_parent_not_sampled", "always_off"),
                ] {
                    if let Some(child) = get(f, key) {
                        let cp = join(&p, key);
                        if let Some((name, _)) = self.sampler(child, &cp, false)
                            && name != default
                        {
                            self.warn(
                                &cp,
                                &name,
                                &format!("only the default ({default}) is supported here"),
                                default,
                            );
                        }
                    }
                }
                let root = match get(f, "root") {
                    Some(root) => self.sampler(root, &join(&p, "root"), false),
                    None => Some(("always_on".to_owned(), None)),
                };
                match root {
                    Some((name, arg)) => Some((format!("parentbased_{name}"), arg)),
                    None => Some(("parentbased_always_on".to_owned(), None)),
                }
            }
            other => {
                self.warn(
                    &p,
                    other,
                    "not supported by ferrotel (supported: always_on, always_off, trace_id_ratio_based, parent_based)",
                    "parent_based with an always_on root",
                );
                None
            }
        }
    }

    fn meter_provider(&mut self, node: Option<&Node>) {
        let Some(node) = node else {
            self.set("OTEL_METRICS_EXPORTER", "none".to_owned(), "meter_provider");
            return;
        };
        let entries = self.fields(
            node,
            "meter_provider",
            &["readers", "views", "exemplar_filter"],
            &["meter_configurator/development"],
        );
        let readers = self.seq(get(entries, "readers"), "meter_provider.readers");
        let mut exporters: Vec<&str> = Vec::new();
        let mut periodic_seen = false;
        for (i, reader) in readers.iter().enumerate() {
            let p = format!("meter_provider.readers[{i}]");
            let Some((kind, settings)) = self.one_of(reader, &p) else {
                continue;
            };
            let p = join(&p, kind);
            match kind {
                "periodic" => {
                    let f = self.fields(
                        settings,
                        &p,
                        &["interval", "timeout", "exporter", "cardinality_limits"],
                        &["producers", "max_export_batch_size/development"],
                    );
                    let exporter = self.exporter(
                        get(f, "exporter"),
                        &join(&p, "exporter"),
                        "METRICS",
                        exporters.contains(&"otlp"),
                    );
                    match exporter {
                        Exporter::Otlp => exporters.push("otlp"),
                        Exporter::Console => exporters.push("console"),
                        Exporter::OtlpFile | Exporter::Unsupported => {}
                    }
                    if periodic_seen {
                        for key in ["interval", "timeout"] {
                            if get(f, key).is_some() {
                                self.warn(
                                    &join(&p, key),
                                    "",
                                    "every periodic reader shares the first reader's interval and timeout",
                                    "the first reader's",
                                );
                            }
                        }
                    } else {
                        self.int_var(f, &p, "interval", "OTEL_METRIC_EXPORT_INTERVAL");
                        self.int_var(f, &p, "timeout", "OTEL_METRIC_EXPORT_TIMEOUT");
                    }
                    periodic_seen = true;
                    self.cardinality_limits(get(f, "cardinality_limits"), &p);
                }
                "pull" => {
                    let f = self.fields(
                        settings,
                        &p,
                        &["exporter", "cardinality_limits"],
                        &["producers"],
                    );
                    self.pull_exporter(get(f, "exporter"), &join(&p, "exporter"));
                    self.cardinality_limits(get(f, "cardinality_limits"), &p);
                }
                other => self.warn(
                    &p,
                    other,
                    "unknown reader (expected periodic or pull)",
                    "nothing (ignored)",
                ),
            }
        }
        let value = if exporters.is_empty() {
            "none".to_owned()
        } else {
            exporters.join(",")
        };
        self.set("OTEL_METRICS_EXPORTER", value, "meter_provider.readers");
        let views = self.seq(get(entries, "views"), "meter_provider.views");
        for (i, view) in views.iter().enumerate() {
            let p = format!("meter_provider.views[{i}]");
            if let Some(spec) = self.view(view, &p) {
                self.model.extras.views.push(spec);
            }
        }
        let p = "meter_provider.exemplar_filter";
        if let Some(filter) = self.text(get(entries, "exemplar_filter"), p) {
            self.set("OTEL_METRICS_EXEMPLAR_FILTER", filter, p);
        }
    }

    fn pull_exporter(&mut self, node: Option<&Node>, path: &str) {
        let Some(node) = node else {
            self.warn(
                path,
                "",
                "a pull reader needs an `exporter`",
                "nothing (ignored)",
            );
            return;
        };
        let Some((kind, settings)) = self.one_of(node, path) else {
            return;
        };
        let p = join(path, kind);
        if kind != "prometheus/development" {
            self.warn(
                &p,
                kind,
                "unknown pull exporter (expected prometheus/development)",
                "nothing (ignored)",
            );
            return;
        }
        let f = self.fields(
            settings,
            &p,
            &["host", "port"],
            &[
                "without_scope_info",
                "scope_info_enabled",
                "target_info_enabled/development",
                "resource_constant_labels",
                "translation_strategy",
                "with_resource_constant_labels",
            ],
        );
        let host = self
            .text(get(f, "host"), &join(&p, "host"))
            .unwrap_or_else(|| "localhost".to_owned());
        let port_path = join(&p, "port");
        let port = match self.int(get(f, "port"), &port_path) {
            None => 9464,
            Some(n) => match u16::try_from(n) {
                Ok(port) => port,
                Err(_) => {
                    self.warn(&port_path, &n.to_string(), "not a TCP port", "9464");
                    9464
                }
            },
        };
        if self.model.extras.prometheus.is_some() {
            self.warn(
                &p,
                "",
                "a second Prometheus pull reader",
                "nothing (ignored)",
            );
        } else {
            self.model.extras.prometheus = Some((host, port));
        }
    }

    fn cardinality_limits(&mut self, node: Option<&Node>, reader: &str) {
        let Some(node) = node else { return };
        let p = join(reader, "cardinality_limits");
        let f = self.fields(
            node,
            &p,
            &[
                "default",
                "counter",
                "gauge",
                "histogram",
                "observable_counter",
                "observable_gauge",
                "observable_up_down_counter",
                "up_down_counter",
            ],
            &[],
        );
        let limit = |r: &mut Reader, key: &str| {
            let kp = join(&p, key);
            let n = r.non_negative(get(f, key), &kp)?;
            if n == 0 {
                r.warn(&kp, "0", "must be positive", "the default");
                None
            } else {
                Some(n)
            }
        };
        let limits = CardinalityLimits {
            default: limit(self, "default"),
            counter: limit(self, "counter"),
            gauge: limit(self, "gauge"),
            histogram: limit(self, "histogram"),
            observable_counter: limit(self, "observable_counter"),
            observable_gauge: limit(self, "observable_gauge"),
            observable_up_down_counter: limit(self, "observable_up_down_counter"),
            up_down_counter: limit(self, "up_down_counter"),
        };
        if self.model.extras.cardinality.is_set() {
            if limits.is_set() && limits != self.model.extras.cardinality {
                self.warn(
                    &p,
                    "",
                    "the readers share one set of cardinality limits",
                    "the first reader's",
                );
            }
        } else {
            self.model.extras.cardinality = limits;
        }
    }

    fn view(&mut self, node: &Node, path: &str) -> Option<ViewSpec> {
        let f = self.fields(node, path, &["selector", "stream"], &[]);
        let sp = join(path, "selector");
        let mut selector = ViewSelector::default();
        if let Some(s) = get(f, "selector") {
            let s = self.fields(
                s,
                &sp,
                &[
                    "instrument_name",
                    "instrument_type",
                    "unit",
                    "meter_name",
                    "meter_version",
                    "meter_schema_url",
                ],
                &[],
            );
            selector.instrument_name =
                self.text(get(s, "instrument_name"), &join(&sp, "instrument_name"));
            selector.instrument_type =
                self.text(get(s, "instrument_type"), &join(&sp, "instrument_type"));
            if let Some(t) = &selector.instrument_type {
                const TYPES: [&str; 7] = [
                    "counter",
                    "gauge",
                    "histogram",
                    "observable_counter",
                    "observable_gauge",
                    "observable_up_down_counter",
                    "up_down_counter",
                ];
                if !TYPES.contains(&t.as_str()) {
                    let t = t.clone();
                    self.warn(
                        &join(&sp, "instrument_type"),
                        &t,
                        &format!("expected one of {}", TYPES.join(", ")),
                        "the view is left out",
                    );
                    return None;
                }
            }
            selector.unit = self.text(get(s, "unit"), &join(&sp, "unit"));
            selector.meter_name = self.text(get(s, "meter_name"), &join(&sp, "meter_name"));
            selector.meter_version =
                self.text(get(s, "meter_version"), &join(&sp, "meter_version"));
            selector.meter_schema_url =
                self.text(get(s, "meter_schema_url"), &join(&sp, "meter_schema_url"));
        }
        let stp = join(path, "stream");
        let mut spec = ViewSpec {
            path: path.to_owned(),
            selector,
            name: None,
            description: None,
            aggregation: None,
            attribute_keys: None,
            excluded_attribute_keys: Vec::new(),
            cardinality_limit: None,
        };
        let Some(stream) = get(f, "stream") else {
            self.warn(path, "", "a view needs a `stream`", "the view is left out");
            return None;
        };
        let s = self.fields(
            stream,
            &stp,
            &[
                "name",
                "description",
                "aggregation",
                "aggregation_cardinality_limit",
                "attribute_keys",
            ],
            &[],
        );
        spec.name = self.text(get(s, "name"), &join(&stp, "name"));
        if spec.name.is_some() {
            let wildcard = spec
                .selector
                .instrument_name
                .as_deref()
                .is_none_or(|n| n.contains(['*', '?']));
            if wildcard {
                self.warn(
                    &join(&stp, "name"),
                    spec.name.as_deref().unwrap_or(""),
                    "a view that renames must select one instrument by its exact name",
                    "the view is left out",
                );
                return None;
            }
        }
        spec.description = self.text(get(s, "description"), &join(&stp, "description"));
        let cp = join(&stp, "aggregation_cardinality_limit");
        spec.cardinality_limit =
            match self.non_negative(get(s, "aggregation_cardinality_limit"), &cp) {
                Some(0) => {
                    self.warn(&cp, "0", "must be positive", "the reader's limit");
                    None
                }
                other => other,
            };
        if let Some(keys) = get(s, "attribute_keys") {
            let kp = join(&stp, "attribute_keys");
            let k = self.fields(keys, &kp, &["included", "excluded"], &[]);
            spec.attribute_keys = self.strings(get(k, "included"), &join(&kp, "included"));
            spec.excluded_attribute_keys = self
                .strings(get(k, "excluded"), &join(&kp, "excluded"))
                .unwrap_or_default();
            if spec.attribute_keys.is_none() && !spec.excluded_attribute_keys.is_empty() {
                self.warn(
                    &join(&kp, "excluded"),
                    &spec.excluded_attribute_keys.join(", "),
                    "the SDK keeps attributes by an allow-list: `excluded` works only beside `included`",
                    "every attribute is kept",
                );
            }
        }
        if let Some(agg) = get(s, "aggregation") {
            spec.aggregation = self.aggregation(agg, &join(&stp, "aggregation"));
        }
        Some(spec)
    }

    fn aggregation(&mut self, node: &Node, path: &str) -> Option<ViewAggregation> {
        let (kind, settings) = self.one_of(node, path)?;
        let p = join(path, kind);
        Some(match kind {
            "default" => ViewAggregation::Default,
            "drop" => ViewAggregation::Drop,
            "sum" => ViewAggregation::Sum,
            "last_value" => ViewAggregation::LastValue,
            "explicit_bucket_histogram" => {
                let f = self.fields(settings, &p, &["boundaries", "record_min_max"], &[]);
                let bp = join(&p, "boundaries");
                let boundaries = match get(f, "boundaries") {
                    None => None,
                    Some(b) => {
                        let items = self.seq(Some(b), &bp);
                        let mut out = Vec::with_capacity(items.len());
                        for (i, item) in items.iter().enumerate() {
                            out.push(self.number(Some(item), &format!("{bp}[{i}]"))?);
                        }
                        if out.windows(2).any(|w| w[0] >= w[1])
                            || out.iter().any(|b| !b.is_finite())
                        {
                            self.warn(
                                &bp,
                                "",
                                "boundaries must be finite and strictly increasing",
                                "the default boundaries",
                            );
                            None
                        } else {
                            Some(out)
                        }
                    }
                };
                let record_min_max = self
                    .boolean(get(f, "record_min_max"), &join(&p, "record_min_max"))
                    .unwrap_or(true);
                ViewAggregation::ExplicitBucketHistogram {
                    boundaries,
                    record_min_max,
                }
            }
            "base2_exponential_bucket_histogram" => {
                let f = self.fields(
                    settings,
                    &p,
                    &["max_scale", "max_size", "record_min_max"],
                    &[],
                );
                let max_size = self
                    .int(get(f, "max_size"), &join(&p, "max_size"))
                    .and_then(|n| u32::try_from(n).ok().filter(|n| (2..=16_384).contains(n)))
                    .unwrap_or(160);
                let max_scale = self
                    .int(get(f, "max_scale"), &join(&p, "max_scale"))
                    .and_then(|n| i8::try_from(n).ok().filter(|n| (-10..=20).contains(n)))
                    .unwrap_or(20);
                let record_min_max = self
                    .boolean(get(f, "record_min_max"), &join(&p, "record_min_max"))
                    .unwrap_or(true);
                ViewAggregation::Base2ExponentialHistogram {
                    max_size,
                    max_scale,
                    record_min_max,
                }
            }
            other => {
                self.warn(&p, other, "unknown aggregation", "the default aggregation");
                return None;
            }
        })
    }

    fn logger_provider(&mut self, node: Option<&Node>) {
        let Some(node) = node else {
            self.set("OTEL_LOGS_EXPORTER", "none".to_owned(), "logger_provider");
            return;
        };
        let entries = self.fields(
            node,
            "logger_provider",
            &["processors", "limits"],
            &["logger_configurator/development"],
        );
        self.processors(
            get(entries, "processors"),
            "logger_provider.processors",
            "LOGS",
            "OTEL_BLRP",
        );
        if let Some(limits) = get(entries, "limits") {
            let p = "logger_provider.limits";
            let l = self.fields(
                limits,
                p,
                &["attribute_value_length_limit", "attribute_count_limit"],
                &[],
            );
            self.int_var(
                l,
                p,
                "attribute_value_length_limit",
                "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            );
            self.int_var(
                l,
                p,
                "attribute_count_limit",
                "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT",
            );
        }
    }

    /// `distribution.ferrotel`: the family's own settings. Other distributions' sections are
    /// theirs and are left alone.
    fn distribution(&mut self, node: Option<&Node>) {
        let Some(Node::Map(entries)) = node else {
            if let Some(other) = node {
                self.warn(
                    "distribution",
                    "",
                    &format!("expected a mapping, found {}", other.kind()),
                    "nothing (ignored)",
                );
            }
            return;
        };
        let Some(ours) = get(entries, "ferrotel") else {
            return;
        };
        let p = "distribution.ferrotel";
        let f = self.fields(
            ours,
            p,
            &["console", "log_filter", "redaction", "runtime_metrics"],
            &[],
        );
        if let Some(console) = get(f, "console") {
            let cp = join(p, "console");
            let c = self.fields(console, &cp, &["format", "schema"], &[]);
            if let Some(format) = self.text(get(c, "format"), &join(&cp, "format")) {
                self.set("TELEMETRY_LOG_FORMAT", format, &join(&cp, "format"));
            }
            if let Some(schema) = self.text(get(c, "schema"), &join(&cp, "schema")) {
                self.set("TELEMETRY_LOG_SCHEMA", schema, &join(&cp, "schema"));
            }
        }
        if let Some(filter) = self.text(get(f, "log_filter"), &join(p, "log_filter")) {
            self.set("RUST_LOG", filter, &join(p, "log_filter"));
        }
        for (key, slot) in [("redaction", 0), ("runtime_metrics", 1)] {
            if let Some(section) = get(f, key) {
                let sp = join(p, key);
                let s = self.fields(section, &sp, &["enabled"], &[]);
                let enabled = self.boolean(get(s, "enabled"), &join(&sp, "enabled"));
                if slot == 0 {
                    self.model.extras.redaction = enabled;
                } else {
                    self.model.extras.runtime_metrics = enabled;
                }
            }
        }
    }
}

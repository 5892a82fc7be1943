//! A small model of Grafana dashboards (rows of panels with PromQL targets) and its JSON.
//!
//! Output is deterministic (sorted object keys, ids and grid positions assigned in order), so
//! the committed files can be compared byte for byte with a fresh generation.

use serde_json::{Value, json};

/// Datasource UID of the metrics backend (VictoriaMetrics in stack A, Prometheus in stack B).
pub const METRICS_DATASOURCE_UID: &str = "metrics";

/// Visualisation of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    /// Lines over time.
    TimeSeries,
    /// One big number.
    Stat,
    /// A dial with thresholds.
    Gauge,
    /// Horizontal bars, one per series.
    BarGauge,
    /// Bucket heatmap of a histogram.
    Heatmap,
    /// Instant values in a table.
    Table,
}

impl PanelKind {
    fn as_str(self) -> &'static str {
        match self {
            PanelKind::TimeSeries => "timeseries",
            PanelKind::Stat => "stat",
            PanelKind::Gauge => "gauge",
            PanelKind::BarGauge => "bargauge",
            PanelKind::Heatmap => "heatmap",
            PanelKind::Table => "table",
        }
    }

    /// Whether targets are evaluated as instant queries.
    fn instant(self) -> bool {
        matches!(self, PanelKind::Table)
    }
}

/// One PromQL query of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// PromQL, possibly with Grafana variables.
    pub expr: String,
    /// Legend template (`{{label}}`).
    pub legend: String,
}

/// One panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// What the panel shows and how to read it.
    pub description: String,
    /// Visualisation.
    pub kind: PanelKind,
    /// Grafana unit id (`reqps`, `s`, `percentunit`, `bytes`, `short`...).
    pub unit: String,
    /// Queries.
    pub targets: Vec<Target>,
    /// Width in grid units (24 = full width).
    pub width: u32,
    /// Threshold steps above the base green: `(value, color)`.
    pub thresholds: Vec<(f64, &'static str)>,
    /// Axis / gauge bounds.
    pub min_max: Option<(f64, f64)>,
}

impl Panel {
    /// A panel with one query.
    pub fn new(kind: PanelKind, title: &str, unit: &str, expr: String, legend: &str) -> Self {
        Panel {
            title: title.to_owned(),
            description: String::new(),
            kind,
            unit: unit.to_owned(),
            targets: vec![Target {
                expr,
                legend: legend.to_owned(),
            }],
            width: match kind {
                PanelKind::Stat | PanelKind::Gauge => 6,
                PanelKind::Table | PanelKind::Heatmap => 24,
                _ => 12,
            },
            thresholds: Vec::new(),
            min_max: None,
        }
    }

    /// Adds a query.
    pub fn target(mut self, expr: String, legend: &str) -> Self {
        self.targets.push(Target {
            expr,
            legend: legend.to_owned(),
        });
        self
    }

    /// Sets the description.
    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    /// Sets the width.
    pub fn width(mut self, width: u32) -> Self {
        self.width = width;
        self
    }

    /// Adds a threshold step.
    pub fn threshold(mut self, value: f64, color: &'static str) -> Self {
        self.thresholds.push((value, color));
        self
    }

    /// Sets min and max.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min_max = Some((min, max));
        self
    }

    fn height(&self) -> u32 {
        match self.kind {
            PanelKind::Stat | PanelKind::Gauge => 5,
            PanelKind::Table => 7,
            _ => 8,
        }
    }

    fn to_json(&self, id: u32, x: u32, y: u32) -> Value {
        let datasource = json!({"type": "prometheus", "uid": METRICS_DATASOURCE_UID});
        let targets: Vec<Value> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut target = json!({
                    "datasource": datasource,
                    "expr": t.expr,
                    "legendFormat": t.legend,
                    "refId": ref_id(i),
                    "range": !self.kind.instant(),
                    "instant": self.kind.instant(),
                });
                if self.kind == PanelKind::Heatmap {
                    target["format"] = json!("heatmap");
                }
                if self.kind == PanelKind::TimeSeries && t.expr.contains("_bucket") {
                    // Latency panels draw the buckets' exemplars; each links to its trace
                    // through the datasource's `exemplarTraceIdDestinations`.
                    target["exemplar"] = json!(true);
                }
                if self.kind == PanelKind::Table {
                    target["format"] = json!("table");
                }
                target
            })
            .collect();
        let mut steps = vec![json!({"color": "green", "value": null})];
        steps.extend(
            self.thresholds
                .iter()
                .map(|(v, c)| json!({"color": c, "value": v})),
        );
        let mut defaults = json!({
            "unit": self.unit,
            "thresholds": {"mode": "absolute", "steps": steps},
        });
        if let Some((min, max)) = self.min_max {
            defaults["min"] = json!(min);
            defaults["max"] = json!(max);
        }
        let options = match self.kind {
            PanelKind::TimeSeries => json!({
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }),
            PanelKind::Stat | PanelKind::Gauge | PanelKind::BarGauge => json!({
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
            }),
            PanelKind::Heatmap => json!({
                "calculate": false,
                "yAxis": {"unit": self.unit},
                "color": {"mode": "scheme", "scheme": "Oranges"},
            }),
            PanelKind::Table => json!({"showHeader": true}),
        };
        json!({
            "id": id,
            "type": self.kind.as_str(),
            "title": self.title,
            "description": self.description,
            "datasource": datasource,
            "gridPos": {"h": self.height(), "w": self.width, "x": x, "y": y},
            "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
        })
    }
}

fn ref_id(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (letters[i % letters.len()] as char).to_string()
}

/// A titled row of panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Title.
    pub title: String,
    /// Panels, laid out left to right and wrapped at 24 grid units.
    pub panels: Vec<Panel>,
}

impl Row {
    /// A row.
    pub fn new(title: &str, panels: Vec<Panel>) -> Self {
        Row {
            title: title.to_owned(),
            panels,
        }
    }
}

/// A dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Stable UID (also the file name: `<uid>.json`).
    pub uid: String,
    /// Title.
    pub title: String,
    /// What it is for.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Rows.
    pub rows: Vec<Row>,
}

impl Dashboard {
    /// Every panel.
    pub fn panels(&self) -> impl Iterator<Item = &Panel> {
        self.rows.iter().flat_map(|r| r.panels.iter())
    }

    /// The Grafana JSON model.
    pub fn to_json(&self) -> Value {
        let mut panels = Vec::new();
        let mut id = 1;
        let mut y = 0;
        for row in &self.rows {
            panels.push(json!({
                "id": id,
                "type": "row",
                "title": row.title,
                "collapsed": false,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }));
            id += 1;
            y += 1;
            let (mut x, mut line_height) = (0, 0);
            for panel in &row.panels {
                if x + panel.width > 24 {
                    x = 0;
                    y += line_height;
                    line_height = 0;
                }
                panels.push(panel.to_json(id, x, y));
                id += 1;
                x += panel.width;
                line_height = line_height.max(panel.height());
            }
            y += line_height;
        }
        json!({
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "editable": false,
            "graphTooltip": 1,
            "refresh": "30s",
            "schemaVersion": 39,
            "version": 1,
            "time": {"from": "now-6h", "to": "now"},
            "timezone": "browser",
            "links": [{
                "title": "Dashboards",
                "type": "dashboards",
                "tags": ["telemetry"],
                "asDropdown": true,
            }],
            "annotations": {"list": [{
                "builtIn": 1,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }]},
            "templating": {"list": [{
                "name": "job",
                "label": "Job",
                "type": "query",
                "datasource": {"type": "prometheus", "uid": METRICS_DATASOURCE_UID},
                "definition": "label_values(job)",
                "query": {"query": "label_values(job)", "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                "includeAll": true,
                "allValue": ".*",
                "multi": true,
                "current": {"selected": true, "text": ["All"], "value": ["$__all"]},
                "refresh": 2,
                "sort": 1,
            }]},
            "panels": panels,
        })
    }

    /// The JSON file content (pretty, keys sorted, trailing newline).
    pub fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(&sorted(self.to_json()))
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

/// Rebuilds objects with their keys in sorted order, so the output does not depend on whether
/// some other crate in the build enables serde_json's `preserve_order` feature.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

//! Prometheus text exposition format 0.0.4.
//!
//! Written from the same [`Family`] list as the OpenMetrics output, with the same label and
//! number spelling (`le="1.0"`, `0.005`), so a series is identical in both formats.

use std::fmt::Write;

use crate::families::{Family, FamilyKind, Labels, Number, SampleValue};

pub(crate) fn escape_help(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

pub(crate) fn write_labels(out: &mut String, labels: &Labels, le: Option<f64>) -> std::fmt::Result {
    if labels.is_empty() && le.is_none() {
        return Ok(());
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if let Some(le) = le {
        if !first {
            out.push(',');
        }
        if le.is_infinite() {
            out.push_str("le=\"+Inf\"");
        } else {
            write!(out, "le=\"{le:?}\"")?;
        }
    }
    out.push('}');
    Ok(())
}

pub(crate) fn write_f64(out: &mut String, v: f64) -> std::fmt::Result {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        write!(out, "{v}")?;
    }
    Ok(())
}

pub(crate) fn write_number(out: &mut String, n: Number) -> std::fmt::Result {
    match n {
        Number::I(v) => write!(out, "{v}"),
        Number::U(v) => write!(out, "{v}"),
        Number::F(v) => write_f64(out, v),
    }
}

/// Encodes `families` in the text format 0.0.4.
pub(crate) fn encode(out: &mut String, families: &[Family]) -> std::fmt::Result {
    for family in families {
        let (name, type_name) = match family.kind {
            FamilyKind::Counter => (format!("{}_total", family.name), "counter"),
            FamilyKind::Gauge => (family.name.clone(), "gauge"),
            FamilyKind::Histogram => (family.name.clone(), "histogram"),
            FamilyKind::Info => (format!("{}_info", family.name), "gauge"),
        };
        out.push_str("# HELP ");
        out.push_str(&name);
        out.push(' ');
        escape_help(&family.help, out);
        out.push('\n');
        writeln!(out, "# TYPE {name} {type_name}")?;
        for (labels, value) in &family.samples {
            match value {
                SampleValue::Number(n) => {
                    out.push_str(&name);
                    write_labels(out, labels, None)?;
                    out.push(' ');
                    write_number(out, *n)?;
                    out.push('\n');
                }
                SampleValue::Histogram {
                    sum,
                    count,
                    buckets,
                    exemplars: _,
                } => {
                    let mut cumulative = 0u64;
                    for (bound, n) in buckets {
                        cumulative = cumulative.saturating_add(*n);
                        write!(out, "{name}_bucket")?;
                        write_labels(out, labels, Some(*bound))?;
                        writeln!(out, " {cumulative}")?;
                    }
                    write!(out, "{name}_sum")?;
                    write_labels(out, labels, None)?;
                    out.push(' ');
                    write_f64(out, *sum)?;
                    out.push('\n');
                    write!(out, "{name}_count")?;
                    write_labels(out, labels, None)?;
                    writeln!(out, " {count}")?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_shapes() {
        let families = vec![
            Family {
                name: "reqs".into(),
                help: "a\\b\nc".into(),
                unit: None,
                kind: FamilyKind::Counter,
                samples: vec![(
                    vec![("k".into(), "q\"\n\\".into())],
                    SampleValue::Number(Number::U(3)),
                )],
            },
            Family {
                name: "lat_seconds".into(),
                help: "h".into(),
                unit: Some("seconds".into()),
                kind: FamilyKind::Histogram,
                samples: vec![(
                    vec![],
                    SampleValue::Histogram {
                        sum: 1.5,
                        count: 3,
                        buckets: vec![(1.0, 2), (f64::INFINITY, 1)],
                        exemplars: Vec::new(),
                    },
                )],
            },
        ];
        let mut out = String::new();
        encode(&mut out, &families).unwrap();
        assert_eq!(
            out,
            "# HELP reqs_total a\\\\b\\nc\n# TYPE reqs_total counter\nreqs_total{k=\"q\\\"\\n\\\\\"} 3\n\
             # HELP lat_seconds h\n# TYPE lat_seconds histogram\nlat_seconds_bucket{le=\"1.0\"} 2\n\
             lat_seconds_bucket{le=\"+Inf\"} 3\nlat_seconds_sum 1.5\nlat_seconds_count 3\n"
        );
    }
}

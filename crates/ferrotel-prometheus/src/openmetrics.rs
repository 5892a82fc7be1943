//! OpenMetrics 1.0 text, written from the scrape's families.
//!
//! Hand-written rather than through `prometheus-client`'s encoder: that encoder takes exemplars
//! only from its own metric types, and ours come from the family's reservoirs joined with the
//! SDK's collected data points. Labels, numbers and escapes are the text format's
//! ([`text004`](crate::text004)), so a series reads the same in both formats.

use std::fmt::Write;
use std::time::UNIX_EPOCH;

use ferrotel_meters::exemplars::Exemplar;

use crate::families::{Family, FamilyKind, SampleValue};
use crate::text004::{write_f64, write_labels, write_number};

/// `HELP` text escapes in OpenMetrics: backslash, newline and double quote.
fn escape_help(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// ` # {trace_id="…",span_id="…"} value timestamp`, the exemplar of a `_bucket` line.
fn write_exemplar(out: &mut String, exemplar: &Exemplar) -> std::fmt::Result {
    out.push_str(" # {");
    if let Some((trace_id, span_id)) = exemplar.trace {
        write!(out, "trace_id=\"{trace_id}\",span_id=\"{span_id}\"")?;
    }
    out.push_str("} ");
    write_f64(out, exemplar.value)?;
    if let Ok(since) = exemplar.time.duration_since(UNIX_EPOCH) {
        write!(out, " {}.{:03}", since.as_secs(), since.subsec_millis())?;
    }
    Ok(())
}

/// Encodes `families` as OpenMetrics text, `# EOF` included.
pub(crate) fn encode(out: &mut String, families: &[Family]) -> std::fmt::Result {
    for family in families {
        let type_name = match family.kind {
            FamilyKind::Counter => "counter",
            FamilyKind::Gauge => "gauge",
            FamilyKind::Histogram => "histogram",
            FamilyKind::Info => "info",
        };
        let name = &family.name;
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        escape_help(&family.help, out);
        out.push('\n');
        writeln!(out, "# TYPE {name} {type_name}")?;
        if let Some(unit) = &family.unit {
            writeln!(out, "# UNIT {name} {unit}")?;
        }
        for (labels, value) in &family.samples {
            match (family.kind, value) {
                (FamilyKind::Info, _) => {
                    write!(out, "{name}_info")?;
                    write_labels(out, labels, None)?;
                    out.push_str(" 1\n");
                }
                (FamilyKind::Counter, SampleValue::Number(n)) => {
                    write!(out, "{name}_total")?;
                    write_labels(out, labels, None)?;
                    out.push(' ');
                    write_number(out, n.at_least_zero())?;
                    out.push('\n');
                }
                (FamilyKind::Gauge, SampleValue::Number(n)) => {
                    out.push_str(name);
                    write_labels(out, labels, None)?;
                    out.push(' ');
                    write_number(out, *n)?;
                    out.push('\n');
                }
                (
                    FamilyKind::Histogram,
                    SampleValue::Histogram {
                        sum,
                        count,
                        buckets,
                        exemplars,
                    },
                ) => {
                    let mut cumulative = 0u64;
                    for (i, (bound, n)) in buckets.iter().enumerate() {
                        cumulative = cumulative.saturating_add(*n);
                        write!(out, "{name}_bucket")?;
                        write_labels(out, labels, Some(*bound))?;
                        write!(out, " {cumulative}")?;
                        if let Some(Some(exemplar)) = exemplars.get(i) {
                            write_exemplar(out, exemplar)?;
                        }
                        out.push('\n');
                    }
                    write!(out, "{name}_count")?;
                    write_labels(out, labels, None)?;
                    writeln!(out, " {count}")?;
                    write!(out, "{name}_sum")?;
                    write_labels(out, labels, None)?;
                    out.push(' ');
                    write_f64(out, *sum)?;
                    out.push('\n');
                }
                _ => {}
            }
        }
    }
    out.push_str("# EOF\n");
    Ok(())
}

#[cfg(test)]
mod tests;

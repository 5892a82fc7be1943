use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, TraceId};

use super::*;
use crate::families::Number;

fn exemplar(value: f64) -> Exemplar {
    Exemplar {
        value,
        time: UNIX_EPOCH + Duration::from_millis(1_764_765_432_120),
        trace: Some((
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            SpanId::from(0x00f0_67aa_0ba9_02b7),
        )),
    }
}

#[test]
fn families_exemplars_and_eof() {
    let families = vec![
        Family {
            name: "reqs".into(),
            help: "a\\b\nc \"q\"".into(),
            unit: None,
            kind: FamilyKind::Counter,
            samples: vec![
                (
                    vec![("k".into(), "q\"\n\\".into())],
                    SampleValue::Number(Number::U(3)),
                ),
                (vec![], SampleValue::Number(Number::I(-2))),
            ],
        },
        Family {
            name: "lat_seconds".into(),
            help: "h".into(),
            unit: Some("seconds".into()),
            kind: FamilyKind::Histogram,
            samples: vec![(
                vec![("r".into(), "/a".into())],
                SampleValue::Histogram {
                    sum: 1.5,
                    count: 3,
                    buckets: vec![(1.0, 2), (f64::INFINITY, 1)],
                    exemplars: vec![None, Some(exemplar(1.25))],
                },
            )],
        },
        Family {
            name: "target".into(),
            help: "Target metadata".into(),
            unit: None,
            kind: FamilyKind::Info,
            samples: vec![(
                vec![("service_name".into(), "s".into())],
                SampleValue::Number(Number::U(1)),
            )],
        },
    ];
    let mut out = String::new();
    encode(&mut out, &families).unwrap();
    assert_eq!(
        out,
        "# HELP reqs a\\\\b\\nc \\\"q\\\"\n# TYPE reqs counter\n\
         reqs_total{k=\"q\\\"\\n\\\\\"} 3\nreqs_total 0\n\
         # HELP lat_seconds h\n# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\n\
         lat_seconds_bucket{r=\"/a\",le=\"1.0\"} 2\n\
         lat_seconds_bucket{r=\"/a\",le=\"+Inf\"} 3 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",\
         span_id=\"00f067aa0ba902b7\"} 1.25 1764765432.120\n\
         lat_seconds_count{r=\"/a\"} 3\nlat_seconds_sum{r=\"/a\"} 1.5\n\
         # HELP target Target metadata\n# TYPE target info\ntarget_info{service_name=\"s\"} 1\n\
         # EOF\n"
    );
}

#[test]
fn an_exemplar_without_a_trace_has_an_empty_label_set() {
    let mut e = exemplar(0.5);
    e.trace = None;
    let mut out = String::new();
    write_exemplar(&mut out, &e).unwrap();
    assert_eq!(out, " # {} 0.5 1764765432.120");
}

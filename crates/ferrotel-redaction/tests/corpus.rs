//! The labelled corpus: recall and false positives per kind.
//!
//! Run `cargo test -p ferrotel-redaction --test corpus -- --nocapture` to see
//! the table.

mod support;

use ferrotel_redaction::{Redactor, kinds};
use std::borrow::Cow;
use std::collections::BTreeMap;
use support::{Rng, negatives, positives};

#[derive(Default)]
struct Row {
    cases: usize,
    removed: usize,
    labelled: usize,
    false_positives: usize,
}

#[test]
fn corpus_recall_and_false_positive_rate_per_kind() {
    let redactor = Redactor::default();
    let positives = positives(6, 0x5eed_0001);
    let negatives = negatives(12, 0x5eed_0002);
    let mut table: BTreeMap<&str, Row> = BTreeMap::new();
    let mut misses = Vec::new();

    for case in &positives {
        let out = redactor.redact(&case.text);
        let row = table.entry(case.kind).or_default();
        row.cases += 1;
        // The secret, and any 8-byte tail of it, must be gone.
        let tail = &case.secret[case.secret.len().saturating_sub(8)..];
        if !out.contains(case.secret.as_str()) && !out.contains(tail) {
            row.removed += 1;
        } else {
            misses.push(format!(
                "{} / {}: {:?} -> {:?}",
                case.kind, case.context, case.text, out
            ));
        }
        if out.contains(case.marker.as_str()) {
            row.labelled += 1;
        }
    }

    let mut fp_examples = Vec::new();
    for (label, text) in &negatives {
        let out = redactor.redact(text);
        if let Cow::Owned(changed) = &out {
            fp_examples.push(format!("{label}: {text:?} -> {changed:?}"));
            for kind in kinds::ALL {
                if changed.contains(&format!("[REDACTED:{kind}]")) {
                    table.entry(kind).or_default().false_positives += 1;
                }
            }
        }
    }

    // By-key: whole values of sensitive keys, whatever they contain.
    let mut r = Rng::new(0x5eed_0003);
    let keys = [
        "authorization",
        "http.request.header.authorization",
        "http.request.header.cookie",
        "http.response.header.set-cookie",
        "X-API-Key",
        "db.password",
        "oauth.client_secret",
        "app.refresh_token",
        "aws.secret_key",
        "private_key",
    ];
    for key in keys {
        for _ in 0..5 {
            let value = format!("{} {}", r.alnum(6), r.alnum(10));
            let row = table.entry(kinds::SENSITIVE_KEY).or_default();
            row.cases += 1;
            let out = redactor.redact_value(key, &value.clone().into());
            match out {
                Some(v) if !v.as_str().contains(&value) => {
                    row.removed += 1;
                    if v.as_str() == "[REDACTED:sensitive_key]" {
                        row.labelled += 1;
                    }
                }
                other => misses.push(format!("sensitive_key {key}: {value:?} -> {other:?}")),
            }
        }
    }
    for key in [
        "http.route",
        "url.full",
        "gen_ai.usage.input_tokens",
        "trace_id",
        "user.id",
    ] {
        if redactor
            .redact_value(key, &"GET /api/v1/items".into())
            .is_some()
        {
            table
                .entry(kinds::SENSITIVE_KEY)
                .or_default()
                .false_positives += 1;
            fp_examples.push(format!("key {key} treated as sensitive"));
        }
    }

    let total_pos: usize = table.values().map(|r| r.cases).sum();
    let total_neg = negatives.len() + 5;
    println!(
        "\n{:<20} {:>6} {:>8} {:>9} {:>6} {:>8}",
        "kind", "cases", "recall", "labelled", "FP", "FP rate"
    );
    for (kind, row) in &table {
        println!(
            "{:<20} {:>6} {:>7.1}% {:>8.1}% {:>6} {:>7.2}%",
            kind,
            row.cases,
            100.0 * row.removed as f64 / row.cases.max(1) as f64,
            100.0 * row.labelled as f64 / row.cases.max(1) as f64,
            row.false_positives,
            100.0 * row.false_positives as f64 / total_neg as f64,
        );
    }
    println!("{total_pos} positive cases, {total_neg} negative cases");

    assert!(total_pos >= 500, "corpus too small: {total_pos}");
    assert!(total_neg >= 200, "too few negatives: {total_neg}");
    for kind in support::VALUE_KINDS {
        assert!(
            table.get(kind).is_some_and(|r| r.cases > 0),
            "no cases for {kind}"
        );
    }
    assert!(
        misses.is_empty(),
        "{} secrets not removed:\n{}",
        misses.len(),
        misses.join("\n")
    );
    assert!(
        fp_examples.is_empty(),
        "{} negatives changed:\n{}",
        fp_examples.len(),
        fp_examples.join("\n")
    );
    // Every kind's replacement names the kind (or is the semconv literal).
    for (kind, row) in &table {
        assert_eq!(
            row.labelled, row.cases,
            "{kind}: some redactions carry another kind's label"
        );
    }
}

//! The PromQL recipes of docs/troubleshooting.md parse (promtool checks them as recording
//! rules) and name only series that exist: an instrument of the catalog (with labels it has;
//! the SDK's own `otel_sdk_*` metrics are in it), the collector's `otelcol_*`, or the hippius
//! worker's (declared in its example, outside the catalog).

mod common;

use ferrotel_deploy_gen::Catalog;

fn promql_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim();
        match &mut current {
            None if trimmed == "```promql" => current = Some(String::new()),
            Some(block) if trimmed == "```" => {
                blocks.push(block.trim().to_owned());
                current = None;
            }
            Some(block) => {
                block.push_str(trimmed);
                block.push(' ');
            }
            None => {}
        }
    }
    blocks
}

/// The metric names of `expr`, each with the label names its selector matches on.
fn selectors(expr: &str) -> Vec<(String, Vec<String>)> {
    const NOT_METRICS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut i = 0;
    let mut after_grouping = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1 + usize::from(chars[i] == '\\');
            }
            i += 1;
        } else if c == '[' {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
        } else if c == '(' && after_grouping {
            // `by (a, b)`: label names, not metrics.
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            after_grouping = false;
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let next = chars.get(j).copied();
            if next == Some('(') && !NOT_METRICS.contains(&word.as_str()) {
                // A function call.
            } else if NOT_METRICS.contains(&word.as_str()) {
                after_grouping = matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                );
            } else {
                let mut labels = Vec::new();
                if next == Some('{') {
                    let end = (j..chars.len())
                        .find(|&k| chars[k] == '}')
                        .unwrap_or(chars.len());
                    // Label names: the word before each matcher's operator, outside quotes.
                    let mut in_quotes = false;
                    let mut expecting_name = true;
                    let mut name = String::new();
                    for &ch in &chars[j + 1..end] {
                        match ch {
                            '"' => in_quotes = !in_quotes,
                            _ if in_quotes => {}
                            ',' => expecting_name = true,
                            c if expecting_name && (c.is_ascii_alphanumeric() || c == '_') => {
                                name.push(c)
                            }
                            _ if expecting_name && !name.is_empty() => {
                                labels.push(std::mem::take(&mut name));
                                expecting_name = false;
                            }
                            _ => {}
                        }
                    }
                    i = end + 1;
                }
                out.push((word, labels));
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn the_troubleshooting_promql_parses_and_names_real_series() {
    let doc = std::fs::read_to_string(common::deploy().join("../docs/troubleshooting.md"))
        .expect("docs/troubleshooting.md");
    let blocks = promql_blocks(&doc);
    assert!(
        blocks.len() >= 15,
        "only {} PromQL recipes found",
        blocks.len()
    );

    let catalog = Catalog::load();
    for expr in &blocks {
        let found = selectors(expr);
        assert!(!found.is_empty(), "no metric in {expr}");
        for (metric, labels) in found {
            if ["otelcol_", "hippius_worker_"]
                .iter()
                .any(|p| metric.starts_with(p))
            {
                continue;
            }
            let instrument = catalog
                .instrument_of_series(&metric)
                .unwrap_or_else(|| panic!("{metric} (in `{expr}`) is no catalog series"));
            for label in labels {
                assert!(
                    instrument.has_label(&label),
                    "{metric} has no label {label} (in `{expr}`)"
                );
            }
        }
    }

    // promtool parses every expression (as recording rules, its only offline PromQL check).
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rules = String::from("groups:\n  - name: troubleshooting-recipes\n    rules:\n");
    for (n, expr) in blocks.iter().enumerate() {
        rules.push_str(&format!(
            "      - record: docs:recipe_{n}\n        expr: {}\n",
            serde_json::to_string(expr).expect("quoted")
        ));
    }
    std::fs::write(dir.path().join("recipes.rules.yml"), rules).expect("write rules");
    common::run_ok(
        "promtool",
        &["check", "rules", "recipes.rules.yml"],
        dir.path(),
    );
}

#[test]
fn the_selector_reader_finds_metrics_and_their_labels() {
    let found = selectors(
        r#"sum by (job, error_type) (rate(foo_total{error_type="x", b=~"a,b"}[5m])) / bar"#,
    );
    assert_eq!(
        found,
        [
            (
                "foo_total".to_owned(),
                vec!["error_type".to_owned(), "b".to_owned()]
            ),
            ("bar".to_owned(), vec![])
        ]
    );
}

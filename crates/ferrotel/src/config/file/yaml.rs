//! The YAML of a configuration file as a small tree, with environment substitution applied to
//! scalar values (never to keys) before their types are resolved, as the declarative
//! configuration spec requires: `${BOOL}` in a plain scalar becomes a boolean, `"${BOOL}"` stays
//! a string, and a substituted value can never inject YAML structure (it is substituted after
//! parsing).
//!
//! Bounded: nesting depth and node count (aliases included, so an alias bomb is cut off) are
//! limited; every failure is an error value, never a panic.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use super::substitute::substitute;
use crate::config::EnvSource;

/// Deepest nesting of mappings and sequences accepted.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most nodes a file may expand to (aliases count each time they are used).
pub(crate) const MAX_NODES: usize = 100_000;

/// A YAML value after substitution and type resolution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// `null`, `~`, an empty value, or a plain scalar that substitution left empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Any other scalar (and every quoted or block scalar).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order (keys are plain text; duplicates keep the last value).
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The YAML type name, for warnings.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a sequence",
            Node::Map(_) => "a mapping",
        }
    }

    /// A scalar as text (what a string-typed property receives: the spec's coercion).
    pub(crate) fn as_text(&self) -> Option<String> {
        match self {
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Str(s) => Some(s.clone()),
            Node::Null | Node::Seq(_) | Node::Map(_) => None,
        }
    }
}

/// Why a file could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError(pub String);

/// Parses `text` (the first document) and substitutes `${VAR}` references from `env` in its
/// scalar values.
pub(crate) fn parse(text: &str, env: &dyn EnvSource) -> Result<Node, YamlError> {
    let mut builder = TreeBuilder {
        parser: Parser::new_from_str(text),
        env,
        anchors: HashMap::new(),
        nodes: 0,
    };
    loop {
        match builder.next()? {
            Event::StreamStart | Event::DocumentStart => continue,
            Event::StreamEnd | Event::DocumentEnd => return Ok(Node::Null),
            event => return builder.node(event, 0, &mut String::new()),
        }
    }
}

struct TreeBuilder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    env: &'a dyn EnvSource,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

impl TreeBuilder<'_> {
    fn next(&mut self) -> Result<Event, YamlError> {
        self.parser
            .next_token()
            .map(|(event, _)| event)
            .map_err(|e| YamlError(e.to_string()))
    }

    fn count(&mut self, n: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            Err(YamlError(format!(
                "more than {MAX_NODES} values (aliases included)"
            )))
        } else {
            Ok(())
        }
    }

    /// Builds the node starting with `event`. `path` is where it sits, for substitution errors.
    fn node(&mut self, event: Event, depth: usize, path: &mut String) -> Result<Node, YamlError> {
        if depth > MAX_DEPTH {
            return Err(YamlError(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.count(1)?;
        let (node, anchor) = match event {
            Event::Scalar(value, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let substituted = substitute(&value, self.env)
                    .map_err(|e| YamlError(format!("{}: {e}", shown_path(path))))?;
                let node = if style == TScalarStyle::Plain && !forced_string {
                    resolve_plain(&substituted)
                } else {
                    Node::Str(substituted)
                };
                (node, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Event::SequenceEnd => break,
                        event => {
                            let len = path.len();
                            path.push_str(&format!("[{}]", items.len()));
                            let item = self.node(event, depth + 1, path);
                            path.truncate(len);
                            items.push(item?);
                        }
                    }
                }
                (Node::Seq(items), anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(String, Node)> = Vec::new();
                loop {
                    let key = match self.next()? {
                        Event::MappingEnd => break,
                        Event::Scalar(key, ..) => key,
                        Event::Alias(id) => match self.anchors.get(&id) {
                            Some(n) => n.as_text().unwrap_or_default(),
                            None => return Err(YamlError(format!("unknown alias *{id}"))),
                        },
                        _ => {
                            return Err(YamlError(format!(
                                "{}: a mapping key must be a plain value",
                                shown_path(path)
                            )));
                        }
                    };
                    let event = self.next()?;
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&key);
                    let value = self.node(event, depth + 1, path);
                    path.truncate(len);
                    let value = value?;
                    entries.retain(|(k, _)| *k != key);
                    entries.push((key, value));
                }
                (Node::Map(entries), anchor)
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| YamlError(format!("unknown alias *{id}")))?;
                self.count(size(&node))?;
                return Ok(node);
            }
            other => return Err(YamlError(format!("unexpected YAML event {other:?}"))),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn shown_path(path: &str) -> &str {
    if path.is_empty() { "(top level)" } else { path }
}

fn size(node: &Node) -> usize {
    match node {
        Node::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Node::Map(entries) => 1 + entries.iter().map(|(_, n)| size(n)).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.2 core-schema resolution of a plain scalar.
fn resolve_plain(text: &str) -> Node {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        "true" | "True" | "TRUE" => return Node::Bool(true),
        "false" | "False" | "FALSE" => return Node::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Node::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Node::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Node::Int(i);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Node::Int(i);
    }
    let numeric = !digits.is_empty()
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if numeric && let Ok(f) = text.parse::<f64>() {
        return Node::Float(f);
    }
    Node::Str(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn get<'n>(node: &'n Node, key: &str) -> &'n Node {
        match node {
            Node::Map(entries) => &entries.iter().find(|(k, _)| k == key).expect(key).1,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn substituted_plain_scalars_take_their_types_quoted_ones_stay_strings() {
        let vars = env(&[("ON", "true"), ("N", "42"), ("R", "0.25"), ("S", "text")]);
        let doc = parse(
            "a: ${ON}\nb: \"${ON}\"\nc: ${N}\nd: ${R}\ne: ${S}\nf: ${UNSET}\ng: '${N}'\n",
            &vars,
        )
        .unwrap();
        assert_eq!(get(&doc, "a"), &Node::Bool(true));
        assert_eq!(get(&doc, "b"), &Node::Str("true".into()));
        assert_eq!(get(&doc, "c"), &Node::Int(42));
        assert_eq!(get(&doc, "d"), &Node::Float(0.25));
        assert_eq!(get(&doc, "e"), &Node::Str("text".into()));
        assert_eq!(get(&doc, "f"), &Node::Null);
        assert_eq!(get(&doc, "g"), &Node::Str("42".into()));
    }

    #[test]
    fn keys_are_never_substituted_and_values_cannot_inject_structure() {
        let vars = env(&[("K", "x"), ("V", "a\nb: c")]);
        let doc = parse("${K}: ${V}\n", &vars).unwrap();
        assert_eq!(
            doc,
            Node::Map(vec![("${K}".into(), Node::Str("a\nb: c".into()))])
        );
    }

    #[test]
    fn anchors_and_aliases_resolve_and_an_alias_bomb_is_cut_off() {
        let doc = parse("a: &x {k: 1}\nb: *x\n", &env(&[])).unwrap();
        assert_eq!(get(&doc, "b"), get(&doc, "a"));
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "l{i}: &l{i} [*l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}]\n"
            ));
        }
        let err = parse(&bomb, &env(&[])).unwrap_err();
        assert!(err.0.contains("values"), "{err:?}");
    }

    #[test]
    fn syntax_errors_and_deep_nesting_are_errors() {
        assert!(parse("a: [1, 2\n", &env(&[])).is_err());
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(parse(&deep, &env(&[])).is_err());
        let err = parse("a:\n  b: ${bad name}\n", &env(&[])).unwrap_err();
        assert!(err.0.starts_with("a.b:"), "{err:?}");
    }

    #[test]
    fn core_schema_resolution() {
        assert_eq!(resolve_plain("0x1F"), Node::Int(31));
        assert_eq!(resolve_plain("-7"), Node::Int(-7));
        assert_eq!(resolve_plain("1e3"), Node::Float(1000.0));
        assert_eq!(resolve_plain("inf"), Node::Str("inf".into()));
        assert_eq!(resolve_plain("~"), Node::Null);
        assert_eq!(resolve_plain("1.2.3"), Node::Str("1.2.3".into()));
    }
}

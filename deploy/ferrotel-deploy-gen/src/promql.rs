//! PromQL inspection with the `promql-parser` crate: parse a query and list the series it
//! selects, so tests can check every dashboard query against the catalog.

use promql_parser::parser::{self, Expr, VectorSelector};

use crate::Error;

/// One series selector found in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Metric name.
    pub name: String,
    /// Label names used in matchers (besides `__name__`).
    pub labels: Vec<String>,
}

/// Parses `expr` (plain PromQL, Grafana variables already replaced) and returns every
/// selector it contains. A selector without a metric name is an error: dashboards must say
/// which instrument they read.
pub fn selected_series(expr: &str) -> Result<Vec<Selected>, Error> {
    let ast = parser::parse(expr).map_err(|reason| Error::PromQl {
        expr: expr.to_owned(),
        reason,
    })?;
    let mut out = Vec::new();
    walk(&ast, &mut out).map_err(|reason| Error::PromQl {
        expr: expr.to_owned(),
        reason,
    })?;
    Ok(out)
}

fn walk(e: &Expr, out: &mut Vec<Selected>) -> Result<(), String> {
    match e {
        Expr::Aggregate(a) => {
            walk(&a.expr, out)?;
            if let Some(p) = &a.param {
                walk(p, out)?;
            }
        }
        Expr::Unary(u) => walk(&u.expr, out)?,
        Expr::Binary(b) => {
            walk(&b.lhs, out)?;
            walk(&b.rhs, out)?;
        }
        Expr::Paren(p) => walk(&p.expr, out)?,
        Expr::Subquery(s) => walk(&s.expr, out)?,
        Expr::VectorSelector(vs) => out.push(selector(vs)?),
        Expr::MatrixSelector(ms) => out.push(selector(&ms.vs)?),
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(a, out)?;
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
    Ok(())
}

fn selector(vs: &VectorSelector) -> Result<Selected, String> {
    let matchers = vs
        .matchers
        .matchers
        .iter()
        .chain(vs.matchers.or_matchers.iter().flatten());
    let mut name = vs.name.clone();
    let mut labels = Vec::new();
    for m in matchers {
        if m.name == "__name__" {
            name.get_or_insert_with(|| m.value.clone());
        } else {
            labels.push(m.name.clone());
        }
    }
    let name = name.ok_or_else(|| format!("selector without a metric name: {vs}"))?;
    Ok(Selected { name, labels })
}

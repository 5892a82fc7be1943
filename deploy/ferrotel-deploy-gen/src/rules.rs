//! Reads the Prometheus rule files of `deploy/rules` (alerting and recording rules).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// A rule file.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleFile {
    /// Rule groups.
    pub groups: Vec<RuleGroup>,
}

/// A rule group.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleGroup {
    /// Group name.
    pub name: String,
    /// Rules.
    pub rules: Vec<Rule>,
}

/// An alerting or recording rule.
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// Alert name (alerting rules).
    pub alert: Option<String>,
    /// Recorded series name (recording rules).
    pub record: Option<String>,
    /// PromQL.
    pub expr: String,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The `*.rules.yml` files of a directory, sorted by name.
pub fn rule_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".rules.yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Parses one rule file.
pub fn load(path: &Path) -> Result<RuleFile, Error> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_yaml::from_str(&text).map_err(|e| Error::Yaml {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Every rule of every rule file in `dir`.
pub fn all_rules(dir: &Path) -> Result<Vec<Rule>, Error> {
    let mut rules = Vec::new();
    for f in rule_files(dir)? {
        for g in load(&f)?.groups {
            rules.extend(g.rules);
        }
    }
    Ok(rules)
}

/// Recording rules: recorded name → expression.
pub fn recording_rules(dir: &Path) -> Result<BTreeMap<String, String>, Error> {
    Ok(all_rules(dir)?
        .into_iter()
        .filter_map(|r| r.record.map(|name| (name, r.expr)))
        .collect())
}

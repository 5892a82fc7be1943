//! Declarative configuration files (`OTEL_CONFIG_FILE`, [`crate::Builder::config_file`]): the
//! OpenTelemetry configuration schema, `file_format` 1.x, read into the same effective
//! [`Config`](super::Config) the environment gives. docs/configuration.md has the support
//! table, property by property.
//!
//! When a file is used, the `OTEL_*` variables are not read, except through `${VAR}`
//! references in the file, as the spec requires. A file that cannot be used at all (missing,
//! unreadable, too large, not YAML, no supported `file_format`) is reported in one warning and
//! the environment is used instead; a bad or unknown property is reported at its path and
//! skipped.

mod model;
mod substitute;
mod views;
mod yaml;

use std::path::PathBuf;

pub(crate) use model::FileExtras;
pub(crate) use views::metric_views;

use super::{ConfigWarning, EnvSource};
use yaml::Node;

/// Whether a detected resource attribute stays when a file configured the SDK: only those of
/// the detectors it enables, filtered by its include and exclude patterns.
pub(crate) fn keeps_detected(extras: &FileExtras, key: &str) -> bool {
    let Some(d) = &extras.detection else {
        return false;
    };
    let by_detector = if key.starts_with("host.") || key.starts_with("os.") {
        d.host
    } else if key.starts_with("process.") {
        d.process
    } else {
        true
    };
    by_detector
        && d.included
            .as_ref()
            .is_none_or(|inc| inc.iter().any(|p| views::wildcard_match(p, key)))
        && !d.excluded.iter().any(|p| views::wildcard_match(p, key))
}

/// Largest configuration file read.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Where a configuration file comes from.
#[derive(Debug, Clone)]
pub(crate) enum ConfigSource {
    /// A path (`OTEL_CONFIG_FILE`, [`crate::Builder::config_file`]).
    Path(PathBuf),
    /// YAML text given to [`crate::Builder::config_yaml`].
    Text(String),
}

impl ConfigSource {
    fn label(&self) -> String {
        match self {
            ConfigSource::Path(p) => p.display().to_string(),
            ConfigSource::Text(_) => "(configuration text)".to_owned(),
        }
    }
}

/// Which file configured the SDK, as [`Config::config_file`](super::Config::config_file)
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileReport {
    /// The file's path, or `(configuration text)` for YAML given to the builder.
    pub source: String,
    /// Its `file_format`.
    pub file_format: String,
}

/// What a usable file gave.
pub(crate) struct Loaded {
    pub model: model::Model,
    pub report: ConfigFileReport,
}

/// Reads and checks a file. `Err` is the one warning saying why the environment is used
/// instead.
pub(crate) fn load(source: &ConfigSource, env: &dyn EnvSource) -> Result<Loaded, ConfigWarning> {
    let label = source.label();
    let fail = |problem: String| ConfigWarning {
        variable: "OTEL_CONFIG_FILE".to_owned(),
        value: label.clone(),
        problem,
        fallback: "the OTEL_* environment variables".to_owned(),
    };
    let text = match source {
        ConfigSource::Text(t) => {
            if t.len() as u64 > MAX_FILE_BYTES {
                return Err(fail(format!("longer than {MAX_FILE_BYTES} bytes")));
            }
            t.clone()
        }
        ConfigSource::Path(path) => read_bounded(path).map_err(fail)?,
    };
    let root = yaml::parse(&text, env).map_err(|e| fail(format!("not usable YAML: {}", e.0)))?;
    let Node::Map(entries) = &root else {
        return Err(fail(format!(
            "the top level must be a mapping, found {}",
            root.kind()
        )));
    };
    let format = entries
        .iter()
        .find(|(k, _)| k == "file_format")
        .and_then(|(_, v)| v.as_text())
        .ok_or_else(|| fail("no `file_format` (the schema requires it)".to_owned()))?;
    let mut model = model::read(&root, &label);
    if let Some(note) = check_file_format(&format).map_err(fail)? {
        model.warnings.insert(
            0,
            ConfigWarning {
                variable: format!("{label}: file_format"),
                value: format.clone(),
                problem: note,
                fallback: "read as 1.1; what this build does not know is reported and ignored"
                    .to_owned(),
            },
        );
    }
    Ok(Loaded {
        model,
        report: ConfigFileReport {
            source: label,
            file_format: format,
        },
    })
}

fn read_bounded(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be opened: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

/// `Ok(None)`: a version this build knows; `Ok(Some(note))`: a newer 1.x minor, read with a
/// note; `Err`: unsupported.
fn check_file_format(format: &str) -> Result<Option<String>, String> {
    let unsupported = || {
        format!(
            "file_format {format:?} is not supported (this build reads 1.0 to 1.{})",
            model::KNOWN_MINOR
        )
    };
    if format.contains('-') {
        // Pre-releases (`1.0-rc.3`) had a different shape in places.
        return Err(unsupported());
    }
    let mut parts = format.split('.');
    let major = parts.next().and_then(|m| m.parse::<u64>().ok());
    let minor = match parts.next() {
        None => Some(0),
        Some(m) => m.parse::<u64>().ok(),
    };
    match (major, minor, parts.next()) {
        (Some(1), Some(minor), None) if minor <= model::KNOWN_MINOR => Ok(None),
        (Some(1), Some(minor), None) => Ok(Some(format!(
            "file_format 1.{minor} is newer than this build knows (1.{})",
            model::KNOWN_MINOR
        ))),
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests;

//! A file-based data source for the repository gauges: test counts, bug records, regression
//! tests and the coverage report.
//!
//! Scanning the file system is blocking and may be slow: run [`RepoScanner::scan`] from a
//! refresher ([`CachedSource::spawn_refresher`](ferrotel_meters::CachedSource::spawn_refresher)) and
//! register the cache with
//! [`ContextdMeters::register_repo_source`](super::ContextdMeters::register_repo_source).
//!
//! Layout read (every part optional, configured with the builder):
//!
//! * **coverage report**: a Go cover profile (`go test -coverprofile`), `go tool cover -func`
//!   output, an lcov tracefile (`LF:`/`LH:`), a Cobertura XML (`line-rate`), or a file holding
//!   just a percentage (`85.2%`);
//! * **tests by type**: one directory per [`TestType`]; test functions are counted in source
//!   files (`func TestX` in `*_test.go`, `#[test]`/`#[tokio::test]` in `.rs`, `def test_` in
//!   `.py`);
//! * **regression tests**: `<dir>/bugs`, `<dir>/security`, `<dir>/performance`, counted the same
//!   way (a missing category directory counts 0);
//! * **bug records**: in the bugs directory (`tests/regression/bugs/`), every `.md`, `.yaml`,
//!   `.yml`, `.json` or `.toml` file (or a directory holding one) is a bug with
//!   `severity: critical|high|medium|low` and optionally `status: open|fixed|verified`
//!   (default `open`); front matter, YAML, JSON and `**Severity**: High` all parse.
//!
//! A missing or malformed file is a [`ScanError`] naming the path and what was wrong; it never
//! panics. The scan is bounded ([`MAX_SCANNED_ENTRIES`] entries, [`MAX_DEPTH`] levels,
//! files above [`MAX_FILE_BYTES`] are skipped for test counting).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{BugStatus, RegressionCategory, Severity, TestType};

/// Maximum directory entries visited by one scan.
pub const MAX_SCANNED_ENTRIES: usize = 100_000;
/// Maximum directory depth below each configured directory.
pub const MAX_DEPTH: usize = 24;
/// Source files larger than this are not read when counting tests.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A configured file or directory does not exist.
    #[error("{what} not found at {}", path.display())]
    Missing {
        /// What was expected there.
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A file was read but its content is not what was expected.
    #[error("malformed {what} {}: {reason}", path.display())]
    Malformed {
        /// What the file should be.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The scan visited more than [`MAX_SCANNED_ENTRIES`] entries.
    #[error("scan of {} stopped after {MAX_SCANNED_ENTRIES} entries", path.display())]
    TooLarge {
        /// The directory being scanned.
        path: PathBuf,
    },
}

/// Number of bug records with a given (severity, status).
pub type BugCount = ((Severity, BugStatus), u64);

/// What one scan found. `None` means that part is not configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepoInventory {
    /// Line coverage in percent.
    pub coverage_percent: Option<f64>,
    /// Test functions per type.
    pub tests_by_type: Option<Vec<(TestType, u64)>>,
    /// Bug records per (severity, status), all 12 combinations (zeros included).
    pub bugs: Option<Vec<BugCount>>,
    /// Regression test functions per category.
    pub regression_tests: Option<Vec<(RegressionCategory, u64)>>,
}

/// Scans a repository for the repository gauges. Paths are relative to the root.
#[derive(Debug, Clone)]
pub struct RepoScanner {
    root: PathBuf,
    coverage: Option<PathBuf>,
    test_dirs: Vec<(TestType, PathBuf)>,
    regression_dir: Option<PathBuf>,
    bugs_dir: Option<PathBuf>,
}

impl RepoScanner {
    /// A scanner rooted at `root` with nothing configured.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RepoScanner {
            root: root.into(),
            coverage: None,
            test_dirs: Vec::new(),
            regression_dir: None,
            bugs_dir: None,
        }
    }

    /// The contextd layout: `coverage.out`, unit tests under `pkg/`, `tests/integration`,
    /// `tests/e2e`, regression tests under `tests/regression/` and bug records in
    /// `tests/regression/bugs/`.
    pub fn contextd_layout(root: impl Into<PathBuf>) -> Self {
        Self::new(root)
            .coverage_report("coverage.out")
            .tests(TestType::Unit, "pkg")
            .tests(TestType::Integration, "tests/integration")
            .tests(TestType::E2e, "tests/e2e")
            .regression_dir("tests/regression")
            .bugs_dir("tests/regression/bugs")
    }

    /// Reads coverage from this report.
    pub fn coverage_report(mut self, path: impl Into<PathBuf>) -> Self {
        self.coverage = Some(path.into());
        self
    }

    /// Counts tests of type `kind` under `dir`.
    pub fn tests(mut self, kind: TestType, dir: impl Into<PathBuf>) -> Self {
        self.test_dirs.retain(|(k, _)| *k != kind);
        self.test_dirs.push((kind, dir.into()));
        self
    }

    /// Counts regression tests under `dir/<category>`.
    pub fn regression_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.regression_dir = Some(dir.into());
        self
    }

    /// Reads bug records from `dir`.
    pub fn bugs_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bugs_dir = Some(dir.into());
        self
    }

    /// Scans everything configured. Blocking: call it off the async runtime.
    pub fn scan(&self) -> Result<RepoInventory, ScanError> {
        let mut budget = MAX_SCANNED_ENTRIES;
        let mut inv = RepoInventory::default();
        if let Some(p) = &self.coverage {
            inv.coverage_percent = Some(read_coverage(&self.root.join(p))?);
        }
        if !self.test_dirs.is_empty() {
            let mut out = Vec::new();
            for t in TestType::ALL {
                if let Some((_, dir)) = self.test_dirs.iter().find(|(k, _)| k == t) {
                    let dir = self.root.join(dir);
                    require_dir(&dir, "test directory")?;
                    out.push((*t, count_tests(&dir, &mut budget)?));
                }
            }
            inv.tests_by_type = Some(out);
        }
        if let Some(dir) = &self.regression_dir {
            let dir = self.root.join(dir);
            require_dir(&dir, "regression test directory")?;
            let mut out = Vec::new();
            for cat in RegressionCategory::ALL {
                let sub = dir.join(cat.as_str());
                let n = if sub.is_dir() {
                    count_tests(&sub, &mut budget)?
                } else {
                    0
                };
                out.push((*cat, n));
            }
            inv.regression_tests = Some(out);
        }
        if let Some(dir) = &self.bugs_dir {
            let dir = self.root.join(dir);
            require_dir(&dir, "bug directory")?;
            inv.bugs = Some(scan_bugs(&dir)?);
        }
        Ok(inv)
    }
}

fn require_dir(path: &Path, what: &'static str) -> Result<(), ScanError> {
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(ScanError::Malformed {
            what,
            path: path.to_owned(),
            reason: "not a directory".into(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ScanError::Missing {
            what,
            path: path.to_owned(),
        }),
        Err(source) => Err(ScanError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn read_text(path: &Path, what: &'static str) -> Result<String, ScanError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| ScanError::Malformed {
            what,
            path: path.to_owned(),
            reason: "not valid UTF-8".into(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ScanError::Missing {
            what,
            path: path.to_owned(),
        }),
        Err(source) => Err(ScanError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Reads a coverage report and returns the line coverage in percent (0..=100).
pub fn read_coverage(path: &Path) -> Result<f64, ScanError> {
    const WHAT: &str = "coverage report";
    let text = read_text(path, WHAT)?;
    let malformed = |reason: String| ScanError::Malformed {
        what: WHAT,
        path: path.to_owned(),
        reason,
    };
    let pct = parse_coverage(&text).map_err(malformed)?;
    if !(0.0..=100.0).contains(&pct) {
        return Err(ScanError::Malformed {
            what: WHAT,
            path: path.to_owned(),
            reason: format!("coverage {pct}% is outside 0..=100"),
        });
    }
    Ok(pct)
}

fn parse_coverage(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("file is empty".into());
    }
    // Go cover profile: "mode: set" then "file:a.b,c.d numStmts count".
    if trimmed.starts_with("mode:") {
        let (mut total, mut covered) = (0u64, 0u64);
        for (i, line) in trimmed.lines().enumerate().skip(1) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut f = line.rsplitn(3, ' ');
            let (count, stmts) = (f.next(), f.next());
            let parsed = count
                .and_then(|c| c.parse::<u64>().ok())
                .zip(stmts.and_then(|s| s.parse::<u64>().ok()));
            let Some((count, stmts)) = parsed else {
                return Err(format!(
                    "line {}: expected `file:range statements count`",
                    i + 1
                ));
            };
            total += stmts;
            if count > 0 {
                covered += stmts;
            }
        }
        return ratio(covered, total, "no statements in the cover profile");
    }
    // lcov tracefile.
    if trimmed.lines().any(|l| l.starts_with("LF:")) {
        let (mut found, mut hit) = (0u64, 0u64);
        for (i, line) in trimmed.lines().enumerate() {
            let bad = || format!("line {}: bad number in `{line}`", i + 1);
            if let Some(v) = line.strip_prefix("LF:") {
                found += v.trim().parse::<u64>().map_err(|_| bad())?;
            } else if let Some(v) = line.strip_prefix("LH:") {
                hit += v.trim().parse::<u64>().map_err(|_| bad())?;
            }
        }
        return ratio(hit, found, "no instrumented lines (LF) in the lcov file");
    }
    // Cobertura XML: <coverage line-rate="0.852" ...>.
    if let Some(start) = trimmed.find("<coverage") {
        let tag = &trimmed[start..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let rate = tag
            .split("line-rate=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .ok_or("Cobertura <coverage> element has no line-rate attribute")?;
        return rate
            .parse::<f64>()
            .map(|r| r * 100.0)
            .map_err(|_| format!("line-rate `{rate}` is not a number"));
    }
    // `go tool cover -func` output: "total:\t(statements)\t68.4%".
    if let Some(line) = trimmed.lines().rev().find(|l| l.starts_with("total:")) {
        return parse_percent(line.split_whitespace().last().unwrap_or(""))
            .ok_or_else(|| format!("cannot read a percentage from `{line}`"));
    }
    // A bare percentage.
    if let (false, Some(p)) = (trimmed.contains('\n'), parse_percent(trimmed)) {
        return Ok(p);
    }
    Err("unrecognised format (expected a Go cover profile, `go tool cover -func` output, lcov, Cobertura XML or a percentage)".into())
}

fn parse_percent(s: &str) -> Option<f64> {
    s.trim().trim_end_matches('%').trim().parse::<f64>().ok()
}

fn ratio(part: u64, total: u64, empty: &str) -> Result<f64, String> {
    if total == 0 {
        return Err(empty.into());
    }
    Ok(part as f64 * 100.0 / total as f64)
}

/// Counts test functions in the source files under `dir` (recursively, bounded).
fn count_tests(dir: &Path, budget: &mut usize) -> Result<u64, ScanError> {
    let mut total = 0;
    let mut stack = vec![(dir.to_owned(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let entries = fs::read_dir(&d).map_err(|source| ScanError::Io {
            path: d.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ScanError::Io {
                path: d.clone(),
                source,
            })?;
            *budget = budget.checked_sub(1).ok_or_else(|| ScanError::TooLarge {
                path: dir.to_owned(),
            })?;
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if ft.is_file() {
                total += count_tests_in_file(&path)?;
            }
        }
    }
    Ok(total)
}

fn count_tests_in_file(path: &Path) -> Result<u64, ScanError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let marker: fn(&str) -> bool = match ext {
        "go" if name.ends_with("_test.go") => |l| {
            l.strip_prefix("func Test").is_some_and(|r| {
                r.starts_with(|c: char| c.is_ascii_uppercase() || c == '_' || c == '(')
            })
        },
        "rs" => |l| {
            l.starts_with("#[test]") || l.starts_with("#[tokio::test") || l.starts_with("#[rstest")
        },
        "py" => |l| l.starts_with("def test_") || l.starts_with("async def test_"),
        _ => return Ok(0),
    };
    match fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => return Ok(0),
        _ => {}
    }
    let text = match fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(source) => {
            return Err(ScanError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    Ok(text.lines().filter(|l| marker(l.trim_start())).count() as u64)
}

const RECORD_EXTS: &[&str] = &["md", "yaml", "yml", "json", "toml"];

fn is_record_file(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let stem = path.file_stem().and_then(|e| e.to_str()).unwrap_or("");
    RECORD_EXTS.contains(&ext.to_ascii_lowercase().as_str())
        && !stem.eq_ignore_ascii_case("readme")
        && !stem.eq_ignore_ascii_case("index")
}

fn scan_bugs(dir: &Path) -> Result<Vec<BugCount>, ScanError> {
    let mut counts = [[0u64; 3]; 4];
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|source| ScanError::Io {
            path: dir.to_owned(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    if entries.len() > MAX_SCANNED_ENTRIES {
        return Err(ScanError::TooLarge {
            path: dir.to_owned(),
        });
    }
    for path in entries {
        let record = if path.is_dir() {
            // A bug directory: its record is the first metadata file that names a severity.
            let mut files: Vec<PathBuf> = fs::read_dir(&path)
                .map_err(|source| ScanError::Io {
                    path: path.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && has_record_ext(p))
                .collect();
            files.sort();
            let mut found = None;
            for f in files {
                let text = read_text(&f, "bug record")?;
                if field(&text, "severity").is_some() {
                    found = Some((f, text));
                    break;
                }
            }
            match found {
                Some(r) => r,
                None => {
                    return Err(ScanError::Malformed {
                        what: "bug directory",
                        path,
                        reason: "no .md/.yaml/.json/.toml file with a `severity` field".into(),
                    });
                }
            }
        } else if is_record_file(&path) {
            let text = read_text(&path, "bug record")?;
            (path, text)
        } else {
            continue; // test sources and other files
        };
        let (sev, status) = parse_bug(&record.0, &record.1)?;
        counts[sev as usize][status as usize] += 1;
    }
    let mut out = Vec::with_capacity(12);
    for sev in Severity::ALL {
        for st in BugStatus::ALL {
            out.push(((*sev, *st), counts[*sev as usize][*st as usize]));
        }
    }
    Ok(out)
}

fn has_record_ext(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    RECORD_EXTS.contains(&ext.to_ascii_lowercase().as_str())
}

fn parse_bug(path: &Path, text: &str) -> Result<(Severity, BugStatus), ScanError> {
    let malformed = |reason: String| ScanError::Malformed {
        what: "bug record",
        path: path.to_owned(),
        reason,
    };
    let sev = field(text, "severity").ok_or_else(|| malformed("no `severity` field".into()))?;
    let sev: Severity = sev
        .parse()
        .map_err(|e: ferrotel_meters::ParseLabelError| malformed(e.to_string()))?;
    let status = match field(text, "status") {
        Some(s) => s
            .parse()
            .map_err(|e: ferrotel_meters::ParseLabelError| malformed(e.to_string()))?,
        None => BugStatus::Open,
    };
    Ok((sev, status))
}

/// Finds `key: value`, `key = value`, `"key": "value"` (also inline JSON) or
/// `**Key**: value`, case-insensitively, and returns the value.
fn field<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let key_lower = key.to_ascii_lowercase();
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        let mut from = 0;
        while let Some(pos) = lower[from..].find(&key_lower).map(|p| p + from) {
            from = pos + key.len();
            let boundary = line[..pos]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            if !boundary {
                continue;
            }
            let rest = line[from..].trim_start_matches(['"', '\'', '*', ' ', '\t']);
            let Some(value) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) else {
                continue;
            };
            let value = value.trim_start();
            let value = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
                _ => value
                    .split([',', '}'])
                    .next()
                    .and_then(|v| v.split(" #").next())
                    .unwrap_or(""),
            };
            let value = value.trim().trim_matches(|c: char| matches!(c, '*' | '`'));
            if !value.is_empty() {
                return Some(value);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_formats() {
        let go = "mode: set\na.go:1.1,2.2 3 1\na.go:3.1,4.2 1 0\n";
        assert_eq!(parse_coverage(go), Ok(75.0));
        assert_eq!(
            parse_coverage("TN:\nSF:a\nLF:10\nLH:5\nend_of_record\n"),
            Ok(50.0)
        );
        let xml = r#"<?xml version="1.0"?><coverage line-rate="0.852" branch-rate="0">"#;
        assert!((parse_coverage(xml).unwrap() - 85.2).abs() < 1e-9);
        assert_eq!(
            parse_coverage("a.go:1:\tF\t100.0%\ntotal:\t(statements)\t68.4%\n"),
            Ok(68.4)
        );
        assert_eq!(parse_coverage("85.5%\n"), Ok(85.5));
        assert!(parse_coverage("").unwrap_err().contains("empty"));
        assert!(
            parse_coverage("hello world\nfoo")
                .unwrap_err()
                .contains("unrecognised")
        );
        assert!(
            parse_coverage("mode: set\ngarbage\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(parse_coverage("LF:0\nLH:0\n").is_err());
    }

    #[test]
    fn fields() {
        assert_eq!(field("---\nseverity: High\n---", "severity"), Some("High"));
        assert_eq!(field("{\"severity\": \"low\",", "severity"), Some("low"));
        assert_eq!(
            field("- **Severity**: critical", "severity"),
            Some("critical")
        );
        assert_eq!(field("severity = \"medium\"", "severity"), Some("medium"));
        assert_eq!(field("severityx: no", "severity"), None);
        assert_eq!(
            field("{\"severity\": \"low\", \"status\": \"fixed\"}", "status"),
            Some("fixed")
        );
        assert_eq!(
            field("id: 3\nSeverity: High # triaged", "severity"),
            Some("High")
        );
    }
}

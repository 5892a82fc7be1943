//! The repository file scanner and the contextd repository gauges fed from it.

// The metric-reading helpers of the mechanism crate's tests, shared rather than copied.
#[path = "../../ferrotel-meters/tests/common/mod.rs"]
mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Pipeline;
use ferrotel_catalog::contextd::files::{RepoScanner, ScanError};
use ferrotel_catalog::contextd::*;
use ferrotel_meters::CachedSource;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(
        r,
        "coverage.out",
        "mode: set\na.go:1.1,2.2 3 1\na.go:3.1,4.2 1 0\n",
    );
    write(
        r,
        "pkg/store/store_test.go",
        "package store\nfunc TestA(t *testing.T) {}\nfunc TestB(t *testing.T) {}\nfunc helper() {}\n",
    );
    write(
        r,
        "pkg/store/store.go",
        "package store\nfunc TestNotATest() {}\n",
    );
    write(
        r,
        "tests/integration/api_test.go",
        "func TestAPI(t *testing.T) {}\n",
    );
    write(
        r,
        "tests/e2e/flow.rs",
        "#[test]\nfn a() {}\n#[tokio::test]\nasync fn b() {}\n",
    );
    write(
        r,
        "tests/regression/bugs/bug_001_test.go",
        "func TestBug001(t *testing.T) {}\n",
    );
    write(
        r,
        "tests/regression/security/redact_test.go",
        "func TestRedact(t *testing.T) {}\nfunc TestRedact2(t *testing.T) {}\n",
    );
    write(
        r,
        "tests/regression/bugs/BUG-001.md",
        "---\nseverity: High\nstatus: fixed\n---\n# Crash\n",
    );
    write(
        r,
        "tests/regression/bugs/BUG-002.yaml",
        "id: 2\nseverity: critical\n",
    );
    write(
        r,
        "tests/regression/bugs/BUG-003/bug.json",
        "{\"severity\": \"low\", \"status\": \"verified\"}",
    );
    write(r, "tests/regression/bugs/README.md", "How to file a bug.\n");
    dir
}

#[test]
fn scanner_reads_the_contextd_layout() {
    let dir = repo();
    let inv = RepoScanner::contextd_layout(dir.path())
        .scan()
        .expect("scan");
    assert_eq!(inv.coverage_percent, Some(75.0));
    assert_eq!(
        inv.tests_by_type,
        Some(vec![
            (TestType::Unit, 2),
            (TestType::Integration, 1),
            (TestType::E2e, 2)
        ])
    );
    assert_eq!(
        inv.regression_tests,
        Some(vec![
            (RegressionCategory::Bugs, 1),
            (RegressionCategory::Security, 2),
            (RegressionCategory::Performance, 0),
        ])
    );
    let bugs = inv.bugs.unwrap();
    assert_eq!(bugs.len(), 12);
    let get = |s, st| bugs.iter().find(|(k, _)| *k == (s, st)).unwrap().1;
    assert_eq!(get(Severity::High, BugStatus::Fixed), 1);
    assert_eq!(get(Severity::Critical, BugStatus::Open), 1);
    assert_eq!(get(Severity::Low, BugStatus::Verified), 1);
    assert_eq!(bugs.iter().map(|b| b.1).sum::<u64>(), 3);
}

#[test]
fn missing_and_malformed_files_are_clear_errors() {
    let dir = repo();
    let err = RepoScanner::new(dir.path())
        .coverage_report("nope/lcov.info")
        .scan()
        .unwrap_err();
    assert!(matches!(err, ScanError::Missing { .. }));
    assert!(
        err.to_string().contains("coverage report not found at"),
        "{err}"
    );
    assert!(err.to_string().contains("nope/lcov.info"), "{err}");

    write(dir.path(), "cov.txt", "this is not coverage");
    let err = RepoScanner::new(dir.path())
        .coverage_report("cov.txt")
        .scan()
        .unwrap_err();
    assert!(
        err.to_string().starts_with("malformed coverage report"),
        "{err}"
    );

    let err = RepoScanner::new(dir.path())
        .bugs_dir("does/not/exist")
        .scan()
        .unwrap_err();
    assert!(err.to_string().contains("bug directory not found"), "{err}");

    write(
        dir.path(),
        "tests/regression/bugs/BUG-004.md",
        "severity: catastrophic\n",
    );
    let err = RepoScanner::contextd_layout(dir.path()).scan().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("BUG-004.md"), "{msg}");
    assert!(msg.contains("critical, high, medium, low"), "{msg}");

    write(
        dir.path(),
        "tests/regression/bugs/BUG-004.md",
        "status: open\n",
    );
    let msg = RepoScanner::contextd_layout(dir.path())
        .scan()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no `severity` field"), "{msg}");

    fs::write(dir.path().join("coverage.out"), [0xff, 0xfe]).unwrap();
    fs::remove_file(dir.path().join("tests/regression/bugs/BUG-004.md")).unwrap();
    let msg = RepoScanner::contextd_layout(dir.path())
        .scan()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not valid UTF-8"), "{msg}");
}

#[test]
fn repo_gauges_are_exported_from_a_refreshed_cache() {
    let dir = repo();
    let p = Pipeline::new();
    let m = ContextdMeters::new(&p.meter());
    let cache = CachedSource::new("repo", Duration::from_secs(600));
    m.register_repo_source(&cache);

    // Before the first refresh nothing is reported, and the reason is visible.
    let e = p.collect();
    assert!(!e.contains_key("contextd_bugs_total"));
    assert!(
        m.bugs_total
            .health()
            .last_error
            .unwrap()
            .contains("has no value yet")
    );

    let scanner = RepoScanner::contextd_layout(dir.path().to_owned());
    let refresher = cache
        .spawn_refresher(Duration::from_secs(3600), move || scanner.scan())
        .expect("thread");
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.snapshot().refreshes == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    refresher.stop();

    let e = p.collect();
    assert_eq!(e["contextd_test_coverage_percent"].total(), 75.0);
    assert_eq!(e["contextd_tests_total"].total(), 5.0);
    assert_eq!(e["contextd_regression_tests_total"].total(), 3.0);
    assert_eq!(e["contextd_bugs_total"].points.len(), 12);
    assert_eq!(
        e["contextd_bugs_total"]
            .point(&[("severity", "high"), ("status", "fixed")])
            .unwrap()
            .value,
        1.0
    );
}

//! Shared helpers: run a real tool and fail (never skip) when it is missing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Debian packages providing each tool (the README test command installs them).
fn package_of(tool: &str) -> &'static str {
    match tool {
        "promtool" | "prometheus" => "prometheus",
        "amtool" => "prometheus-alertmanager",
        "docker-compose" => "docker-compose",
        _ => "?",
    }
}

/// Runs `tool args...` in `dir`; panics with the install line when the tool is missing.
pub fn run(tool: &str, args: &[&str], dir: &Path) -> Output {
    match Command::new(tool).args(args).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) => panic!(
            "`{tool}` is required by this test and could not be run ({e}); install it with \
             `apt-get install -y {}`",
            package_of(tool)
        ),
    }
}

/// Runs a tool and asserts success, printing its output otherwise.
pub fn run_ok(tool: &str, args: &[&str], dir: &Path) -> String {
    let out = run(tool, args, dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "`{tool} {}` in {} failed:\n{text}",
        args.join(" "),
        dir.display()
    );
    text
}

/// `deploy/`.
pub fn deploy() -> PathBuf {
    ferrotel_deploy_gen::deploy_dir()
}

/// Files under `dir` (recursively) whose name satisfies `pred`, sorted.
pub fn files_matching(dir: &Path, pred: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name()
                .is_some_and(|n| n == "target" || n == "generator")
            {
                continue;
            }
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if pred(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

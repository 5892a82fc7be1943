//! `cargo run -p ferrotel-deploy-gen [-- --check]`: writes (or checks) the generated files
//! of `deploy/` (Grafana dashboards, the seed services' rule files, Kubernetes PrometheusRule).

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let files = match ferrotel_deploy_gen::generated_files() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let root = ferrotel_deploy_gen::deploy_dir();
    let mut stale = 0;
    for (rel, content) in files {
        let path = root.join(&rel);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(content.as_str()) {
            continue;
        }
        if check {
            eprintln!("stale: deploy/{}", rel.display());
            stale += 1;
            continue;
        }
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            eprintln!("error: {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        if let Err(e) = std::fs::write(&path, content) {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote deploy/{}", rel.display());
    }
    if stale > 0 {
        eprintln!("{stale} generated file(s) differ: run `cargo run -p ferrotel-deploy-gen`");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

//! Build information (`build.info` gauge) filled at compile time in the service.
//!
//! Two pieces, both used by the *service* crate:
//! 1. its `build.rs` calls [`build_script::emit`](crate::build_script::emit), which sets
//!    `TELEMETRY_BUILD_GIT_COMMIT`, `TELEMETRY_BUILD_TIME` and `TELEMETRY_BUILD_RUSTC_VERSION`
//!    for the service's compilation;
//! 2. its code calls [`build_info!()`](crate::build_info!), which reads them (and
//!    `CARGO_PKG_VERSION`) with `option_env!`, so the values are the service's, not this
//!    library's. Without the build script the attributes fall back to `unknown`.

use std::borrow::Cow;

use opentelemetry::KeyValue;

use crate::names;

/// Value used for an attribute whose source was not available at build time.
pub const UNKNOWN: &str = "unknown";

/// Version, git commit, build time and rustc version of the service, reported as the
/// `build.info` gauge (value 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    version: Cow<'static, str>,
    git_commit: Cow<'static, str>,
    build_time: Cow<'static, str>,
    rustc_version: Cow<'static, str>,
}

impl BuildInfo {
    /// Build info with the given version and every other attribute `unknown`.
    pub fn new(version: impl Into<Cow<'static, str>>) -> Self {
        Self {
            version: version.into(),
            git_commit: Cow::Borrowed(UNKNOWN),
            build_time: Cow::Borrowed(UNKNOWN),
            rustc_version: Cow::Borrowed(UNKNOWN),
        }
    }

    /// What [`build_info!()`](crate::build_info!) expands to: compile-time values, `None` (or
    /// empty) falling back to `unknown`.
    pub const fn from_compile_time(
        version: &'static str,
        git_commit: Option<&'static str>,
        build_time: Option<&'static str>,
        rustc_version: Option<&'static str>,
    ) -> Self {
        const fn or_unknown(value: Option<&'static str>) -> Cow<'static, str> {
            match value {
                Some(value) if !value.is_empty() => Cow::Borrowed(value),
                _ => Cow::Borrowed(UNKNOWN),
            }
        }
        Self {
            version: or_unknown(Some(version)),
            git_commit: or_unknown(git_commit),
            build_time: or_unknown(build_time),
            rustc_version: or_unknown(rustc_version),
        }
    }

    /// Sets the git commit.
    pub fn with_git_commit(mut self, commit: impl Into<Cow<'static, str>>) -> Self {
        self.git_commit = commit.into();
        self
    }

    /// Sets the build time (RFC 3339 recommended).
    pub fn with_build_time(mut self, time: impl Into<Cow<'static, str>>) -> Self {
        self.build_time = time.into();
        self
    }

    /// Sets the rustc version.
    pub fn with_rustc_version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.rustc_version = version.into();
        self
    }

    /// The service version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The git commit, or `unknown`.
    pub fn git_commit(&self) -> &str {
        &self.git_commit
    }

    /// The build time, or `unknown`.
    pub fn build_time(&self) -> &str {
        &self.build_time
    }

    /// The rustc version, or `unknown`.
    pub fn rustc_version(&self) -> &str {
        &self.rustc_version
    }

    /// The gauge's attributes.
    pub fn attributes(&self) -> Vec<KeyValue> {
        vec![
            KeyValue::new(names::BUILD_VERSION, self.version.clone()),
            KeyValue::new(names::BUILD_GIT_COMMIT, self.git_commit.clone()),
            KeyValue::new(names::BUILD_TIME, self.build_time.clone()),
            KeyValue::new(names::BUILD_RUSTC_VERSION, self.rustc_version.clone()),
        ]
    }
}

/// The calling crate's [`BuildInfo`], read at compile time.
///
/// Expands in the service, so `CARGO_PKG_VERSION` is the service's version; the other values
/// come from [`build_script::emit`](crate::build_script::emit) in the service's `build.rs`
/// and fall back to `unknown` without it.
///
/// ```
/// let info = ferrotel_runtime::build_info!();
/// assert_eq!(info.version(), env!("CARGO_PKG_VERSION"));
/// ```
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::BuildInfo::from_compile_time(
            ::core::env!("CARGO_PKG_VERSION"),
            ::core::option_env!("TELEMETRY_BUILD_GIT_COMMIT"),
            ::core::option_env!("TELEMETRY_BUILD_TIME"),
            ::core::option_env!("TELEMETRY_BUILD_RUSTC_VERSION"),
        )
    };
}

pub mod build_script {
    //! The service's `build.rs` side of [`build_info!()`](crate::build_info!).
    //!
    //! ```toml
    //! [build-dependencies]
    //! ferrotel-runtime = { version = "0.1", default-features = false }
    //! ```
    //! ```no_run
    //! // build.rs: `fn main() { ... }` calls
    //! ferrotel_runtime::build_script::emit();
    //! ```

    use std::path::PathBuf;
    use std::process::Command;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// Environment variable carrying the git commit into the service's compilation.
    pub const GIT_COMMIT_VAR: &str = "TELEMETRY_BUILD_GIT_COMMIT";
    /// Environment variable carrying the build time (RFC 3339, UTC).
    pub const BUILD_TIME_VAR: &str = "TELEMETRY_BUILD_TIME";
    /// Environment variable carrying the rustc version.
    pub const RUSTC_VERSION_VAR: &str = "TELEMETRY_BUILD_RUSTC_VERSION";

    /// Values computed by [`emit`], exposed for tests and custom build scripts.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct BuildValues {
        /// Short git commit (12 hex digits), or `None` outside a git checkout / without git.
        pub git_commit: Option<String>,
        /// Build time, RFC 3339 UTC (`SOURCE_DATE_EPOCH` when set, for reproducible builds).
        pub build_time: String,
        /// `rustc -V` version number, or `None` when rustc could not be run.
        pub rustc_version: Option<String>,
    }

    /// Computes the values without printing anything.
    pub fn values() -> BuildValues {
        let epoch_seconds = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            });
        BuildValues {
            git_commit: git(&["rev-parse", "--short=12", "HEAD"]),
            build_time: rfc3339_utc(epoch_seconds),
            rustc_version: rustc_version(),
        }
    }

    /// Prints the `cargo:rustc-env` lines for [`build_info!()`](crate::build_info!) and the
    /// `rerun-if` lines that refresh them when the git HEAD moves. Missing git or rustc leaves
    /// the variable unset, so the attribute reads `unknown`. Never panics.
    pub fn emit() {
        let values = values();
        if let Some(commit) = &values.git_commit {
            println!("cargo:rustc-env={GIT_COMMIT_VAR}={commit}");
        }
        println!("cargo:rustc-env={BUILD_TIME_VAR}={}", values.build_time);
        if let Some(version) = &values.rustc_version {
            println!("cargo:rustc-env={RUSTC_VERSION_VAR}={version}");
        }
        println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
        // Rerun when HEAD moves (checkout) or the current branch gets a new commit.
        for path in ["HEAD", "refs/heads"] {
            if let Some(path) = git(&["rev-parse", "--git-path", path]) {
                let path = PathBuf::from(path);
                let path = if path.is_relative() {
                    std::env::current_dir()
                        .map(|d| d.join(&path))
                        .unwrap_or(path)
                } else {
                    path
                };
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
        if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"])
            && PathBuf::from(&packed).exists()
        {
            println!("cargo:rerun-if-changed={packed}");
        }
    }

    fn git(args: &[&str]) -> Option<String> {
        let output = Command::new("git").args(args).output().ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8(output.stdout).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    fn rustc_version() -> Option<String> {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let output = Command::new(rustc).arg("-V").output().ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        // "rustc 1.95.0 (59807616e 2026-04-14)" -> "1.95.0"
        text.split_whitespace().nth(1).map(str::to_owned)
    }

    /// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic
    /// Gregorian; avoids a date crate in every service's build script).
    pub fn rfc3339_utc(epoch_seconds: u64) -> String {
        let days = (epoch_seconds / 86_400) as i64;
        let rem = epoch_seconds % 86_400;
        let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn formats_rfc3339() {
            assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
            assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
            assert_eq!(rfc3339_utc(1_705_744_800), "2024-01-20T10:00:00Z");
            assert_eq!(rfc3339_utc(4_102_444_799), "2099-12-31T23:59:59Z");
        }

        #[test]
        fn values_come_from_this_checkout_and_toolchain() {
            let values = values();
            assert_eq!(values.build_time.len(), "1970-01-01T00:00:00Z".len());
            // This crate is built inside the workspace's git checkout with a working rustc.
            let commit = values.git_commit.expect("git commit");
            assert!(commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(values.rustc_version.expect("rustc").starts_with("1."));
        }
    }
}

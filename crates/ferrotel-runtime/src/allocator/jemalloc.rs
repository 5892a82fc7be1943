//! jemalloc heap source (`tikv-jemalloc-ctl`, jemalloc built with stats).
//!
//! jemalloc caches its statistics; `epoch::advance()` refreshes them, once per collection.
//! Live = `stats.allocated` (bytes in live allocations); mapped = `stats.mapped` (bytes in
//! active extents mapped from the OS) + `stats.retained` (virtual memory jemalloc keeps mapped
//! for reuse instead of returning it). These describe the Rust heap only when the application
//! installed jemalloc as its global allocator (e.g. [`crate::Jemalloc`]).

use tikv_jemalloc_ctl::{epoch, stats};

/// Reads jemalloc's statistics through cached MIB lookups.
pub(crate) struct Jemalloc {
    epoch: tikv_jemalloc_ctl::epoch_mib,
    allocated: stats::allocated_mib,
    mapped: stats::mapped_mib,
    /// `stats.retained` has no typed wrapper in `tikv-jemalloc-ctl`: read through its raw MIB.
    retained: [usize; 2],
}

impl std::fmt::Debug for Jemalloc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jemalloc(stats)")
    }
}

impl Jemalloc {
    /// Looks up the MIBs, or `None` when jemalloc was built without statistics.
    pub(crate) fn resolve() -> Option<Self> {
        let source = Self {
            epoch: epoch::mib().ok()?,
            allocated: stats::allocated::mib().ok()?,
            mapped: stats::mapped::mib().ok()?,
            retained: {
                let mut mib = [0usize; 2];
                tikv_jemalloc_ctl::raw::name_to_mib(b"stats.retained\0", &mut mib).ok()?;
                mib
            },
        };
        source.read().map(|_| source)
    }

    /// Advances the stats epoch, then returns `(live, mapped)` bytes.
    pub(crate) fn read(&self) -> Option<(u64, u64)> {
        self.epoch.advance().ok()?;
        let allocated = self.allocated.read().ok()? as u64;
        let mapped = self.mapped.read().ok()? as u64;
        // SAFETY: `stats.retained` is a `size_t` in jemalloc's mallctl namespace.
        let retained =
            unsafe { tikv_jemalloc_ctl::raw::read_mib::<usize>(&self.retained) }.ok()? as u64;
        Some((allocated, mapped.saturating_add(retained)))
    }
}

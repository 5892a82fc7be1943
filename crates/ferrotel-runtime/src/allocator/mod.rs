//! Heap sources: where the live / mapped heap byte numbers come from.
//!
//! A library cannot choose the application's global allocator, so every source sits behind a
//! cargo feature and reports only when its data is real: jemalloc when built with `jemalloc`,
//! glibc when `mallinfo2` resolves, the counting allocator once the application installed
//! [`CountingAlloc`] (it has no notion of mapped memory, so it reports live bytes only).

#[cfg(feature = "counting")]
pub(crate) mod counting;
#[cfg(all(feature = "glibc", target_os = "linux", target_env = "gnu"))]
mod glibc;
#[cfg(feature = "jemalloc")]
mod jemalloc;

#[cfg(feature = "counting")]
pub use counting::{CountingAlloc, SLOT_COUNT, counting_live_bytes};

/// An allocator whose heap numbers can be reported (the `rust.allocator` attribute value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllocatorSource {
    /// jemalloc statistics (feature `jemalloc`).
    Jemalloc,
    /// glibc `mallinfo2` (feature `glibc`, linux-gnu, glibc >= 2.33).
    Glibc,
    /// [`CountingAlloc`] installed as the global allocator (feature `counting`).
    Counting,
}

impl AllocatorSource {
    /// Every source, in reporting order.
    pub const ALL: [AllocatorSource; 3] = [Self::Jemalloc, Self::Glibc, Self::Counting];

    /// The `rust.allocator` attribute value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jemalloc => "jemalloc",
            Self::Glibc => "glibc",
            Self::Counting => "counting",
        }
    }
}

/// One heap reading.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeapSample {
    pub(crate) source: AllocatorSource,
    pub(crate) live: u64,
    pub(crate) mapped: Option<u64>,
}

/// The sources available in this process, resolved once at registration.
#[derive(Debug, Default)]
pub(crate) struct HeapSources {
    #[cfg(feature = "jemalloc")]
    jemalloc: Option<jemalloc::Jemalloc>,
    #[cfg(all(feature = "glibc", target_os = "linux", target_env = "gnu"))]
    glibc: Option<glibc::Glibc>,
    #[cfg(feature = "counting")]
    counting: bool,
}

impl HeapSources {
    /// Resolves the wanted sources that are available now.
    pub(crate) fn resolve(wanted: &[AllocatorSource]) -> Self {
        let _ = wanted;
        #[allow(unused_mut)]
        let mut sources = Self::default();
        #[cfg(feature = "jemalloc")]
        if wanted.contains(&AllocatorSource::Jemalloc) {
            sources.jemalloc = jemalloc::Jemalloc::resolve();
        }
        #[cfg(all(feature = "glibc", target_os = "linux", target_env = "gnu"))]
        if wanted.contains(&AllocatorSource::Glibc) {
            sources.glibc = glibc::Glibc::resolve();
        }
        #[cfg(feature = "counting")]
        if wanted.contains(&AllocatorSource::Counting) {
            sources.counting = counting_live_bytes().is_some();
        }
        sources
    }

    /// Reads every available source once (one jemalloc epoch, one `mallinfo2` call).
    pub(crate) fn read(&self, out: &mut Vec<HeapSample>) {
        let _ = &out;
        #[cfg(feature = "jemalloc")]
        if let Some((live, mapped)) = self.jemalloc.as_ref().and_then(jemalloc::Jemalloc::read) {
            out.push(HeapSample {
                source: AllocatorSource::Jemalloc,
                live,
                mapped: Some(mapped),
            });
        }
        #[cfg(all(feature = "glibc", target_os = "linux", target_env = "gnu"))]
        if let Some(glibc) = &self.glibc {
            let (live, mapped) = glibc.read();
            out.push(HeapSample {
                source: AllocatorSource::Glibc,
                live,
                mapped: Some(mapped),
            });
        }
        #[cfg(feature = "counting")]
        if self.counting
            && let Some(live) = counting_live_bytes()
        {
            out.push(HeapSample {
                source: AllocatorSource::Counting,
                live,
                mapped: None,
            });
        }
    }
}

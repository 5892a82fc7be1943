//! Process sources for the semconv `process.*` metrics.
//!
//! - Linux: `/proc/self/stat` through `procfs` (threads, resident and virtual memory, start time)
//!   and the `/proc/self/fd` count (`procfs::Process::fd_count`, which uses the O(1) `stat`
//!   size of the directory on Linux >= 6.2). One `Process` handle keeps `/proc/self` open, so a
//!   collection is one `stat` read plus one fd count.
//! - Every Unix: `getrusage(RUSAGE_SELF)` for CPU time, page faults and context switches. Unlike
//!   `/proc/self/status` (main thread only) it sums every thread of the process, including
//!   threads that already exited, with microsecond CPU resolution (`/proc/self/stat` has
//!   clock ticks, usually 10 ms), in one system call.
//! - Elsewhere: nothing; those instruments are absent.

use std::time::Instant;

/// CPU seconds by mode.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct CpuTimes {
    pub(crate) user: f64,
    pub(crate) system: f64,
}

/// One reading of the process sources; `None` means unavailable on this platform or failed.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProcessSample {
    pub(crate) cpu: Option<CpuTimes>,
    /// CPU utilisation since the previous sample, by mode (0..=1 of the available CPUs).
    pub(crate) utilization: Option<CpuTimes>,
    pub(crate) memory_usage: Option<u64>,
    pub(crate) memory_virtual: Option<u64>,
    pub(crate) threads: Option<u64>,
    pub(crate) fds: Option<u64>,
    /// `(voluntary, involuntary)`.
    pub(crate) context_switches: Option<(u64, u64)>,
    /// `(minor, major)`.
    pub(crate) page_faults: Option<(u64, u64)>,
    pub(crate) uptime: Option<f64>,
}

/// Reads the process sources; keeps what it needs between readings.
#[derive(Debug)]
pub(crate) struct ProcessSource {
    #[cfg(target_os = "linux")]
    process: Option<procfs::process::Process>,
    #[cfg(target_os = "linux")]
    page_size: u64,
    /// When the process started, on the monotonic clock.
    started: Option<Instant>,
    /// CPUs available to the process (the utilisation denominator).
    cpus: f64,
    previous_cpu: Option<(Instant, CpuTimes)>,
}

impl ProcessSource {
    /// Opens the sources (on Linux, `/proc/self`).
    pub(crate) fn open() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        #[cfg(target_os = "linux")]
        {
            let process = procfs::process::Process::myself().ok();
            let started = process.as_ref().and_then(linux_start_instant);
            Self {
                process,
                page_size: procfs::page_size(),
                started,
                cpus,
                previous_cpu: None,
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            Self {
                started: None,
                cpus,
                previous_cpu: None,
            }
        }
    }

    /// Reads every source once.
    pub(crate) fn read(&mut self) -> ProcessSample {
        let now = Instant::now();
        let mut sample = ProcessSample {
            uptime: self
                .started
                .map(|started| now.duration_since(started).as_secs_f64()),
            ..ProcessSample::default()
        };
        #[cfg(unix)]
        rusage(&mut sample);
        #[cfg(target_os = "linux")]
        if let Some(process) = &self.process {
            if let Ok(stat) = process.stat() {
                sample.threads = u64::try_from(stat.num_threads).ok();
                sample.memory_virtual = Some(stat.vsize);
                sample.memory_usage = Some(stat.rss.saturating_mul(self.page_size));
            }
            sample.fds = process.fd_count().ok().map(|n| n as u64);
        }
        if let Some(cpu) = sample.cpu {
            if let Some((then, before)) = self.previous_cpu {
                let capacity = now.duration_since(then).as_secs_f64() * self.cpus;
                if capacity > 0.0 {
                    sample.utilization = Some(CpuTimes {
                        user: ((cpu.user - before.user) / capacity).clamp(0.0, 1.0),
                        system: ((cpu.system - before.system) / capacity).clamp(0.0, 1.0),
                    });
                }
            }
            self.previous_cpu = Some((now, cpu));
        }
        sample
    }
}

/// The process start as an `Instant`: its age is `/proc/uptime` minus the start time in
/// `/proc/self/stat` (clock ticks since boot). Read once at registration.
#[cfg(target_os = "linux")]
fn linux_start_instant(process: &procfs::process::Process) -> Option<Instant> {
    use procfs::Current;
    let system_uptime = procfs::Uptime::current().ok()?.uptime;
    let started_after_boot =
        process.stat().ok()?.starttime as f64 / procfs::ticks_per_second() as f64;
    let age = (system_uptime - started_after_boot).max(0.0);
    Instant::now().checked_sub(std::time::Duration::from_secs_f64(age))
}

#[cfg(unix)]
fn rusage(sample: &mut ProcessSample) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid out-pointer for `getrusage`.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: `getrusage` succeeded, so it filled the struct (and it was zeroed before).
    let usage = unsafe { usage.assume_init() };
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    let count = |n: libc::c_long| u64::try_from(n).unwrap_or(0);
    sample.cpu = Some(CpuTimes {
        user: seconds(usage.ru_utime),
        system: seconds(usage.ru_stime),
    });
    sample.context_switches = Some((count(usage.ru_nvcsw), count(usage.ru_nivcsw)));
    sample.page_faults = Some((count(usage.ru_minflt), count(usage.ru_majflt)));
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn linux_reads_every_process_source() {
        let mut source = ProcessSource::open();
        let first = source.read();
        assert!(first.cpu.is_some());
        assert!(
            first.utilization.is_none(),
            "no utilisation without a previous sample"
        );
        assert!(first.memory_usage.unwrap() > 0);
        assert!(first.memory_virtual.unwrap() >= first.memory_usage.unwrap());
        assert!(first.threads.unwrap() >= 1);
        assert!(first.fds.unwrap() >= 3);
        assert!(first.context_switches.is_some());
        assert!(first.page_faults.unwrap().0 > 0);
        assert!(first.uptime.unwrap() > 0.0);
        let second = source.read();
        let utilization = second.utilization.unwrap();
        assert!((0.0..=1.0).contains(&utilization.user));
        assert!(second.uptime.unwrap() >= first.uptime.unwrap());
    }
}

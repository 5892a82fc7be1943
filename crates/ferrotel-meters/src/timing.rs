//! Timing helpers: record an operation's duration and its count (with outcome) in one call.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::instruments::{Counter, Histogram};
use crate::labels::LabelSet;

/// Records the time from its creation to [`stop`](Timer::stop) or drop into a histogram.
///
/// ```
/// # ferrotel_meters::label_enum! { pub enum Op { Search = "search", Save = "save" } }
/// # ferrotel_meters::label_enum! { pub enum Status { Success = "success", Error = "error" } }
/// # ferrotel_meters::instrument_set! {
/// #     pub struct M {
/// #         histogram op_duration { name: "op_duration_seconds", unit: "s", description: "d",
/// #             labels: { "operation": Op }, buckets: ferrotel_meters::DURATION_BUCKETS },
/// #         counter ops { name: "ops_total", unit: "{op}", description: "d",
/// #             labels: { "operation": Op, "status": Status } },
/// #     }
/// # }
/// # let m = M::new(&opentelemetry::global::meter("doc"));
/// let timer = m.op_duration.start_timer(Op::Search);
/// // ... search ...
/// let elapsed = timer.stop();
/// # let _ = elapsed;
/// ```
#[must_use = "the duration is recorded when the timer is stopped or dropped"]
pub struct Timer<'a, L: LabelSet> {
    histogram: &'a Histogram<L>,
    labels: L::Values<'a>,
    start: Instant,
    recorded: bool,
}

impl<L: LabelSet> std::fmt::Debug for Timer<'_, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer")
            .field("elapsed", &self.start.elapsed())
            .finish()
    }
}

impl<L: LabelSet> Timer<'_, L> {
    /// Records the elapsed time now and returns it.
    pub fn stop(mut self) -> Duration {
        self.record()
    }

    fn record(&mut self) -> Duration {
        let elapsed = self.start.elapsed();
        if !self.recorded {
            self.recorded = true;
            self.histogram.record_duration(elapsed, self.labels);
        }
        elapsed
    }
}

impl<L: LabelSet> Drop for Timer<'_, L> {
    fn drop(&mut self) {
        self.record();
    }
}

impl<L: LabelSet> Histogram<L> {
    /// Starts a [`Timer`] recording into this histogram with `labels`.
    pub fn start_timer<'a>(&'a self, labels: L::Values<'a>) -> Timer<'a, L> {
        Timer {
            histogram: self,
            labels,
            start: Instant::now(),
            recorded: false,
        }
    }
}

/// A duration histogram and a counter that together describe one kind of operation.
///
/// `observe` runs the operation, records its duration, then increments the counter with labels
/// computed from the outcome (`true` for `Ok`), so a status label can follow the result.
///
/// ```
/// use ferrotel_meters::Operation;
/// # ferrotel_meters::label_enum! { pub enum Op { Search = "search", Save = "save" } }
/// # ferrotel_meters::label_enum! { pub enum Status { Success = "success", Error = "error" } }
/// # ferrotel_meters::instrument_set! {
/// #     pub struct M {
/// #         histogram op_duration { name: "op_duration_seconds", unit: "s", description: "d",
/// #             labels: { "operation": Op }, buckets: ferrotel_meters::DURATION_BUCKETS },
/// #         counter ops { name: "ops_total", unit: "{op}", description: "d",
/// #             labels: { "operation": Op, "status": Status } },
/// #     }
/// # }
/// # let m = M::new(&opentelemetry::global::meter("doc"));
///
/// let op = Operation::new(&m.op_duration, &m.ops);
/// let status = |ok| if ok { Status::Success } else { Status::Error };
/// let r: Result<u32, String> = op.observe(Op::Save, |ok| (Op::Save, status(ok)), || Ok(7));
/// assert_eq!(r, Ok(7));
/// ```
pub struct Operation<'a, HL: LabelSet, CL: LabelSet> {
    duration: &'a Histogram<HL>,
    count: &'a Counter<CL>,
}

impl<HL: LabelSet, CL: LabelSet> std::fmt::Debug for Operation<'_, HL, CL> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation").finish_non_exhaustive()
    }
}

impl<HL: LabelSet, CL: LabelSet> Clone for Operation<'_, HL, CL> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<HL: LabelSet, CL: LabelSet> Copy for Operation<'_, HL, CL> {}

impl<'a, HL: LabelSet, CL: LabelSet> Operation<'a, HL, CL> {
    /// Pairs a duration histogram with an operation counter.
    pub fn new(duration: &'a Histogram<HL>, count: &'a Counter<CL>) -> Self {
        Operation { duration, count }
    }

    /// Records an already measured operation.
    pub fn record(
        &self,
        elapsed: Duration,
        duration_labels: HL::Values<'_>,
        count_labels: CL::Values<'_>,
    ) {
        self.duration.record_duration(elapsed, duration_labels);
        self.count.add(1, count_labels);
    }

    /// Runs `op`, records its duration and counts it with labels derived from its outcome.
    pub fn observe<'l, T, E>(
        &self,
        duration_labels: HL::Values<'l>,
        count_labels: impl FnOnce(bool) -> CL::Values<'l>,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let result = op();
        self.record(
            start.elapsed(),
            duration_labels,
            count_labels(result.is_ok()),
        );
        result
    }

    /// Async form of [`observe`](Self::observe). If the future is dropped before completion
    /// nothing is recorded (the operation neither succeeded nor failed).
    pub async fn observe_async<'l, T, E>(
        &self,
        duration_labels: HL::Values<'l>,
        count_labels: impl FnOnce(bool) -> CL::Values<'l>,
        op: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let result = op.await;
        self.record(
            start.elapsed(),
            duration_labels,
            count_labels(result.is_ok()),
        );
        result
    }
}

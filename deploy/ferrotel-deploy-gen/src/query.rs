//! PromQL builders that only accept catalog instruments and their labels, so a dashboard
//! cannot name a series or a label that no instrument produces.
//!
//! Queries use Grafana's `$job` variable and `$__rate_interval`/`$__range`; [`instantiate`]
//! replaces them with concrete values for parsing and for running against Prometheus.

use crate::Error;
use crate::catalog::{Instrument, SeriesKind};

/// A label matcher: `(label, operator, value)`, e.g. `("status", "=", "error")`.
pub type Matcher<'a> = (&'a str, &'a str, &'a str);

/// Query builder bound to one instrument.
#[derive(Debug, Clone, Copy)]
pub struct Metric<'a> {
    inst: &'a Instrument,
}

impl<'a> Metric<'a> {
    /// Wraps a catalog instrument.
    pub fn new(inst: &'a Instrument) -> Self {
        Metric { inst }
    }

    /// The instrument's Prometheus name.
    pub fn name(&self) -> &str {
        &self.inst.prometheus_name
    }

    fn check_labels<'l>(&self, labels: impl IntoIterator<Item = &'l str>) -> Result<(), Error> {
        for l in labels {
            if !self.inst.has_label(l) {
                return Err(Error::UnknownLabel {
                    instrument: self.inst.prometheus_name.clone(),
                    label: l.to_owned(),
                });
            }
        }
        Ok(())
    }

    fn expect(&self, kind: SeriesKind, what: &str) -> Result<(), Error> {
        if self.inst.kind == kind {
            Ok(())
        } else {
            Err(Error::WrongKind {
                instrument: self.inst.prometheus_name.clone(),
                expected: what.to_owned(),
            })
        }
    }

    /// A plain selector for rule files, `NAME<suffix>{<matchers>}` with no Grafana variable:
    /// `suffix` is `""` for counters and gauges and one of `_bucket`, `_sum`, `_count` for
    /// histograms.
    pub fn series(&self, suffix: &str, matchers: &[Matcher<'_>]) -> Result<String, Error> {
        let fits = match self.inst.kind {
            SeriesKind::Histogram => matches!(suffix, "_bucket" | "_sum" | "_count"),
            SeriesKind::Counter | SeriesKind::Gauge => suffix.is_empty(),
        };
        if !fits {
            return Err(Error::WrongKind {
                instrument: self.inst.prometheus_name.clone(),
                expected: format!("instrument with a `{suffix}` series"),
            });
        }
        self.check_labels(matchers.iter().map(|m| m.0))?;
        let inner: Vec<String> = matchers
            .iter()
            .map(|(label, op, value)| format!("{label}{op}\"{value}\""))
            .collect();
        Ok(if inner.is_empty() {
            format!("{}{suffix}", self.inst.prometheus_name)
        } else {
            format!(
                "{}{suffix}{{{}}}",
                self.inst.prometheus_name,
                inner.join(", ")
            )
        })
    }

    /// Checks that every label of a `by (..)` clause exists on this instrument and returns
    /// them joined for PromQL (`job, queue`).
    pub fn by_labels(&self, labels: &[&str]) -> Result<String, Error> {
        self.check_labels(labels.iter().copied())?;
        Ok(labels.join(", "))
    }

    /// `NAME<suffix>{job=~"$job",<matchers>}`.
    fn selector(&self, suffix: &str, matchers: &[Matcher<'_>]) -> Result<String, Error> {
        self.check_labels(matchers.iter().map(|m| m.0))?;
        let mut s = format!("{}{suffix}{{job=~\"$job\"", self.inst.prometheus_name);
        for (label, op, value) in matchers {
            s.push_str(&format!(",{label}{op}\"{value}\""));
        }
        s.push('}');
        Ok(s)
    }

    fn by(&self, by: &[&str]) -> Result<String, Error> {
        self.check_labels(by.iter().copied())?;
        Ok(if by.is_empty() {
            String::new()
        } else {
            format!(" by ({})", by.join(", "))
        })
    }

    /// Per-second rate of a counter: `sum by (..) (rate(NAME{..}[$__rate_interval]))`.
    pub fn rate(&self, matchers: &[Matcher<'_>], by: &[&str]) -> Result<String, Error> {
        self.expect(SeriesKind::Counter, "counter")?;
        Ok(format!(
            "sum{} (rate({}[$__rate_interval]))",
            self.by(by)?,
            self.selector("", matchers)?
        ))
    }

    /// Increase of a counter over the dashboard's time range.
    pub fn increase_over_range(
        &self,
        matchers: &[Matcher<'_>],
        by: &[&str],
    ) -> Result<String, Error> {
        self.expect(SeriesKind::Counter, "counter")?;
        Ok(format!(
            "sum{} (increase({}[$__range]))",
            self.by(by)?,
            self.selector("", matchers)?
        ))
    }

    /// Share of a counter's rate matching `part` (0..1), 0 while nothing matches.
    pub fn ratio(
        &self,
        part: &[Matcher<'_>],
        whole: &[Matcher<'_>],
        by: &[&str],
    ) -> Result<String, Error> {
        let num = self.rate(part, by)?;
        let den = self.rate(whole, by)?;
        Ok(format!("({num} or {den} * 0) / {den}"))
    }

    /// Requests per second observed by a histogram (`_count`).
    pub fn observation_rate(&self, matchers: &[Matcher<'_>], by: &[&str]) -> Result<String, Error> {
        self.expect(SeriesKind::Histogram, "histogram")?;
        Ok(format!(
            "sum{} (rate({}[$__rate_interval]))",
            self.by(by)?,
            self.selector("_count", matchers)?
        ))
    }

    /// `histogram_quantile(q, sum by (le, ..) (rate(NAME_bucket{..}[$__rate_interval])))`.
    pub fn quantile(&self, q: f64, matchers: &[Matcher<'_>], by: &[&str]) -> Result<String, Error> {
        self.expect(SeriesKind::Histogram, "histogram")?;
        let mut labels = vec!["le"];
        labels.extend_from_slice(by);
        Ok(format!(
            "histogram_quantile({q}, sum{} (rate({}[$__rate_interval])))",
            self.by(&labels)?,
            self.selector("_bucket", matchers)?
        ))
    }

    /// Mean of a histogram: `sum(rate(_sum)) / sum(rate(_count))`.
    pub fn mean(&self, matchers: &[Matcher<'_>], by: &[&str]) -> Result<String, Error> {
        self.expect(SeriesKind::Histogram, "histogram")?;
        let b = self.by(by)?;
        Ok(format!(
            "sum{b} (rate({}[$__rate_interval])) / sum{b} (rate({}[$__rate_interval]))",
            self.selector("_sum", matchers)?,
            self.selector("_count", matchers)?
        ))
    }

    /// Bucket increases for a Grafana heatmap (`format: heatmap`).
    pub fn heatmap(&self, matchers: &[Matcher<'_>]) -> Result<String, Error> {
        self.expect(SeriesKind::Histogram, "histogram")?;
        Ok(format!(
            "sum by (le) (increase({}[$__rate_interval]))",
            self.selector("_bucket", matchers)?
        ))
    }

    /// A gauge aggregated with `agg` (`sum`, `max`, `min`, `avg`).
    pub fn gauge(&self, agg: &str, matchers: &[Matcher<'_>], by: &[&str]) -> Result<String, Error> {
        self.expect(SeriesKind::Gauge, "gauge")?;
        Ok(format!(
            "{agg}{} ({})",
            self.by(by)?,
            self.selector("", matchers)?
        ))
    }

    /// The raw gauge series (for tables that show every label).
    pub fn gauge_series(&self, matchers: &[Matcher<'_>]) -> Result<String, Error> {
        self.expect(SeriesKind::Gauge, "gauge")?;
        self.selector("", matchers)
    }
}

/// Concrete values for the Grafana variables used by the generated queries.
#[derive(Debug, Clone)]
pub struct Variables {
    /// Regex for `$job` (Grafana's "All" is `.*`).
    pub job: String,
    /// `$__rate_interval`.
    pub rate_interval: String,
    /// `$__range`.
    pub range: String,
}

impl Default for Variables {
    fn default() -> Self {
        Variables {
            job: ".*".to_owned(),
            rate_interval: "1m".to_owned(),
            range: "1h".to_owned(),
        }
    }
}

impl Variables {
    /// Values for running against a freshly started Prometheus: every job with at least one
    /// character, 5m rate windows (enough for slow scrapers), 1h ranges.
    pub fn harness() -> Self {
        Variables {
            job: ".+".to_owned(),
            rate_interval: "5m".to_owned(),
            range: "1h".to_owned(),
        }
    }
}

/// Replaces Grafana variables in a dashboard query, giving plain PromQL.
pub fn instantiate(expr: &str, vars: &Variables) -> String {
    expr.replace("$__rate_interval", &vars.rate_interval)
        .replace("$__range", &vars.range)
        .replace("$job", &vars.job)
}

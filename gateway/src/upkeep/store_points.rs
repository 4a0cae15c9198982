//! Service levels written to the time-series store as `sla` points (spec
//! §6, §12): for every completed UTC hour and day not yet written, the
//! figures of each device, kind and the site, computed from the kept
//! history and written through the store's write API.
//!
//! Derived data: the points never go through the journal. The end of the
//! last window written is kept in the history, so a restart resumes with
//! the next window; rewriting a window is idempotent in the store (same
//! series, same timestamp). On first start windows are written from the
//! start of the history, and never more than [`catch_up_ms`] back. A store outage is retried with
//! backoff in this task alone: it never blocks the journal, the outputs or
//! the links. The clock is injected so the due windows can be tested.

use std::sync::Arc;
use std::time::Duration;

use retrofit_protocols::line_protocol::{write_sla, SlaPeriod, SlaPoint};
use retrofit_protocols::Timestamp;
use tokio_util::sync::CancellationToken;

use super::sla::{BadWindow, Figures, SlaReport};
use super::store::{HistoryStore, StoreError};
use crate::backoff::Backoff;
use crate::config::Config;
use crate::forwarder::OutputError;
use crate::sinks::influx::{InfluxConfig, StoreClient, Write};

/// How long after a window ends before it is written, so readings still
/// on their way through the journal reach the history first.
pub const SETTLE_MS: i64 = 120_000;

/// How far back windows are written when nothing (or something older) was
/// written before: the last 48 hours, the last 7 days.
pub fn catch_up_ms(period: SlaPeriod) -> i64 {
    match period {
        SlaPeriod::Hour => 48 * SlaPeriod::Hour.millis(),
        SlaPeriod::Day => 7 * SlaPeriod::Day.millis(),
    }
}

/// The `[from, to)` windows (ms) of `period` due at `now_ms`: complete
/// (ended at least [`SETTLE_MS`] ago), from `resume` on (the end of the
/// last window written, else the start of the history; `None`: nothing
/// to compute from yet), and within the catch-up bound; oldest first.
pub fn due(period: SlaPeriod, resume: Option<i64>, now_ms: i64) -> Vec<(i64, i64)> {
    let Some(resume) = resume else {
        return Vec::new();
    };
    let len = period.millis();
    let last_end = (now_ms.max(0) - SETTLE_MS).div_euclid(len) * len;
    // Aligned down after the max, so no input can overflow.
    let start = resume.max(last_end - catch_up_ms(period));
    let start = start - start.rem_euclid(len);
    (0..)
        .map(|i| start + i * len)
        .take_while(|from| *from < last_end)
        .map(|from| (from, from + len))
        .collect()
}

/// The `sla` lines of one window's report: the site, each kind, each
/// device. A figure line protocol cannot carry is logged and left out.
pub fn sla_lines(report: &SlaReport, period: SlaPeriod) -> Vec<String> {
    let start_ms = report.from.as_millis();
    std::iter::once(&report.site)
        .chain(&report.kinds)
        .chain(&report.devices)
        .filter_map(|f| {
            let mut line = String::with_capacity(200);
            write_sla(&mut line, &point(f, period, start_ms))
                .inspect_err(|e| tracing::error!(error = %e, "sla point has no line protocol form"))
                .ok()?;
            Some(line)
        })
        .collect()
}

fn point(f: &Figures, period: SlaPeriod, start_ms: i64) -> SlaPoint<'_> {
    SlaPoint {
        site: &f.site,
        kind: f.kind,
        device: f.device.as_ref(),
        period,
        start_ms,
        availability_pct: f.availability_pct,
        uptime_pct: f.uptime_pct,
        failures: f.failures,
        mtbf_h: f.mtbf_h,
        mttr_h: f.mttr_h,
        data_completeness_pct: f.data_completeness_pct,
    }
}

/// Why a round of writing stopped; the next round retries.
#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    #[error(transparent)]
    History(#[from] StoreError),
    #[error(transparent)]
    Store(#[from] OutputError),
    #[error(transparent)]
    Window(#[from] BadWindow),
    #[error("history task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Writes the due `sla` points of one site.
pub struct SlaPoints {
    config: Arc<Config>,
    history: HistoryStore,
    store: StoreClient,
    now: Box<dyn Fn() -> Timestamp + Send + Sync>,
}

impl SlaPoints {
    pub fn new(
        config: Arc<Config>,
        influx: &InfluxConfig,
        history: HistoryStore,
        now: impl Fn() -> Timestamp + Send + Sync + 'static,
    ) -> Self {
        Self {
            config,
            history,
            store: StoreClient::new(influx),
            now: Box::new(now),
        }
    }

    /// Writes every window due now, oldest first, marking each once the
    /// store has it; returns the number of points written.
    pub async fn write_due(&self) -> Result<usize, PointsError> {
        let mut written = 0;
        for period in SlaPeriod::ALL {
            let store = self.history.clone();
            let resume = tokio::task::spawn_blocking(move || match store.sla_written(period)? {
                Some(mark) => Ok(Some(mark)),
                None => store.history_start(),
            })
            .await??;
            for window in due(period, resume, (self.now)().as_millis()) {
                written += self.write_window(period, window).await?;
            }
        }
        Ok(written)
    }

    async fn write_window(
        &self,
        period: SlaPeriod,
        (from, to): (i64, i64),
    ) -> Result<usize, PointsError> {
        let (config, store) = (self.config.clone(), self.history.clone());
        let lines = tokio::task::spawn_blocking(move || {
            let (from, to) = (Timestamp::from_millis(from), Timestamp::from_millis(to));
            let history = store.load(&config.gateway.site, from, to)?;
            let report = super::service_levels(&config, &config.devices, (from, to), &history)?;
            Ok::<_, PointsError>(sla_lines(&report, period))
        })
        .await??;
        let written = match self.store.write(&lines).await? {
            Write::Done => lines.len(),
            Write::Refused(reason) => {
                // The same points would be refused again: skip the window.
                tracing::error!(period = period.as_str(), from, %reason, "store refused sla points; window skipped");
                0
            }
        };
        let store = self.history.clone();
        tokio::task::spawn_blocking(move || store.mark_sla_written(period, to)).await??;
        Ok(written)
    }

    /// Writes due windows until `stop`: after each round it sleeps until
    /// the next hour is due; a failed round is retried with backoff.
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        loop {
            // Stopping mid-round is safe: a window is marked only once
            // written, and rewriting it is idempotent.
            let round = tokio::select! {
                _ = stop.cancelled() => return,
                round = self.write_due() => round,
            };
            let pause = match round {
                Ok(n) => {
                    backoff.reset();
                    if n > 0 {
                        tracing::info!(points = n, "sla points written to the store");
                    }
                    self.until_next_hour()
                }
                Err(e) => {
                    let after = match &e {
                        PointsError::Store(OutputError::Retry { after, .. }) => *after,
                        _ => None,
                    };
                    tracing::warn!(error = %e, "sla points not written; retrying");
                    backoff.next_delay(after)
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    fn until_next_hour(&self) -> Duration {
        let now = (self.now)().as_millis();
        let hour = SlaPeriod::Hour.millis();
        let next = (now - SETTLE_MS).div_euclid(hour) * hour + hour + SETTLE_MS;
        Duration::from_millis(u64::try_from(next - now).unwrap_or(0))
    }
}

/// Starts the writer when the store (`[influx]`) and the kept history are
/// both there; it runs on the real clock until `stop`.
pub fn start(
    config: &Config,
    history: Option<&HistoryStore>,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let (influx, history) = (config.influx.as_ref()?, history?);
    let points = SlaPoints::new(
        Arc::new(config.clone()),
        influx,
        history.clone(),
        crate::clock::now,
    );
    Some(tokio::spawn(points.run(stop)))
}

#[cfg(test)]
mod tests;

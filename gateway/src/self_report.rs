//! The gateway's own telemetry: every minute, what its links accepted,
//! rejected and saw lost (gaps in device frame counters), published like
//! any reading (`retrofit/v1/{site}/gateway/{gateway}/telemetry`, and the
//! store's `gateway` measurement), so that loss upstream of the gateway is
//! a number on a dashboard until the HTTP `/metrics` exists.
//!
//! It only reads counters; it never blocks a link and never fails the
//! daemon (a closed intake ends it quietly).

use std::sync::Arc;
use std::time::Duration;

use retrofit_protocols::metric::{MetricName, Value};
use retrofit_protocols::reading::Body;
use tokio_util::sync::CancellationToken;

use crate::counters::{Counters, Totals};
use crate::intake::{record_of, Intake, Submission};

/// How often the gateway reports on itself.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// The metrics of one report.
pub fn report_metrics(totals: Totals) -> Vec<(MetricName, Value)> {
    [
        ("readings_accepted_total", totals.accepted),
        ("readings_rejected_total", totals.rejected),
        ("readings_lost_total", totals.lost),
    ]
    .into_iter()
    .filter_map(|(name, n)| Some((MetricName::parse(name).ok()?, Value::Number(n as f64))))
    .collect()
}

/// Commits a report every `interval` until `stop`.
pub async fn run_self_report(
    intake: Intake,
    counters: Arc<Counters>,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let body = Body::Telemetry(report_metrics(counters.totals()));
        let reading = intake.identity().reading(body);
        let submission = Submission::new(vec![record_of(&reading)], None);
        if intake.submit(submission).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_total_is_a_valid_counter_metric() {
        let metrics = report_metrics(Totals {
            accepted: 7,
            rejected: 2,
            lost: 3,
        });
        let names: Vec<_> = metrics.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "readings_accepted_total",
                "readings_rejected_total",
                "readings_lost_total"
            ]
        );
        assert_eq!(metrics[2].1, Value::Number(3.0));
    }
}

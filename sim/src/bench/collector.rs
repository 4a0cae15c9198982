//! The normalized side of a run: a QoS 1 subscriber to every telemetry
//! topic (`retrofit/v1/+/+/+/telemetry`, spec §5) and the gateways' dead
//! letters. It counts readings and records each one's latency, arrival
//! time minus the reading's `ts` (which the gateway takes from the
//! uplink's `time`, set by the load generator when it publishes).
//!
//! It only observes: it never publishes, and a reading it cannot parse is
//! counted apart, never dropped silently.

use std::time::Duration;

use retrofit_protocols::Timestamp;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::mqtt::{Connection, Received};

/// Every normalized telemetry topic.
pub const TELEMETRY: &str = "retrofit/v1/+/+/+/telemetry";
/// Every gateway's dead letters.
pub const DEAD_LETTERS: &str = "retrofit/v1/+/gateway/+/deadletter";
/// How many unacknowledged messages the broker may send the subscriber.
const INFLIGHT: u16 = 1000;

/// Counts so far, for waiting on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    pub readings: u64,
    pub dead_letters: u64,
    /// Telemetry whose payload had no readable `ts`.
    pub unreadable: u64,
}

/// Everything the subscriber saw.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub progress: Progress,
    /// Latency of each reading, in milliseconds.
    pub latencies_ms: Vec<i64>,
}

#[derive(Deserialize)]
struct ReadingTime<'a> {
    ts: &'a str,
}

/// A running subscriber.
pub struct Collector {
    progress: watch::Receiver<Progress>,
    stop: CancellationToken,
    task: JoinHandle<Tally>,
}

impl Collector {
    /// Subscribes (waiting for the SUBACKs) and starts counting.
    pub async fn start(port: u16, client_id: &str) -> anyhow::Result<Self> {
        let connection =
            Connection::open(port, client_id, INFLIGHT, &[TELEMETRY, DEAD_LETTERS]).await?;
        let (tx, progress) = watch::channel(Progress::default());
        let stop = CancellationToken::new();
        let task = tokio::spawn(collect(connection, tx, stop.clone()));
        Ok(Self {
            progress,
            stop,
            task,
        })
    }

    pub fn progress(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Waits until `done` holds, or nothing new arrived for `stall`, or
    /// `limit` passed; returns the counts then.
    pub async fn settle(
        &mut self,
        done: impl Fn(&Progress) -> bool,
        stall: Duration,
        limit: Duration,
    ) -> Progress {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if done(&self.progress.borrow_and_update()) {
                break;
            }
            let next = tokio::time::timeout(stall, self.progress.changed());
            match tokio::time::timeout_at(deadline, next).await {
                Ok(Ok(Ok(()))) => {}
                _ => break,
            }
        }
        self.progress()
    }

    /// Stops and returns everything seen.
    pub async fn finish(self) -> Tally {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

async fn collect(
    mut connection: Connection,
    progress: watch::Sender<Progress>,
    stop: CancellationToken,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        let received = tokio::select! {
            _ = stop.cancelled() => break,
            r = connection.incoming.recv() => r,
        };
        let Some(message) = received else { break };
        tally.add(&message);
        progress.send_replace(tally.progress);
    }
    if let Some(e) = connection.error() {
        tracing::warn!("normalized-topic subscriber broke: {e}");
    }
    connection.close().await;
    tally
}

impl Tally {
    fn add(&mut self, message: &Received) {
        let topic = message.publish.topic.as_str();
        if topic.ends_with("/deadletter") {
            self.progress.dead_letters += 1;
            return;
        }
        match reading_ts(&message.publish.payload) {
            Some(ts) => {
                self.progress.readings += 1;
                self.latencies_ms.push(message.at_ms - ts.as_millis());
            }
            None => self.progress.unreadable += 1,
        }
    }
}

/// The `ts` of a normalized reading.
fn reading_ts(payload: &[u8]) -> Option<Timestamp> {
    let reading: ReadingTime<'_> = serde_json::from_slice(payload).ok()?;
    reading.ts.parse().ok()
}

/// The `q`-quantile (0..=1) of `values` by nearest rank, sorting them.
pub fn quantile(values: &mut [i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (q * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ts_of_a_spec_payload() {
        let payload = br#"{"v":1,"site":"s","kind":"drainage","device":"d","ts":"2026-11-28T12:00:00.123Z","seq":1,"source":"lorawan","metrics":{"level_m":1.2}}"#;
        let ts = reading_ts(payload).unwrap();
        assert_eq!(ts.as_millis() % 1000, 123);
        assert!(reading_ts(b"{\"ts\":\"yesterday\"}").is_none());
    }

    #[test]
    fn nearest_rank_quantiles() {
        let mut v: Vec<i64> = (1..=100).rev().collect();
        assert_eq!(quantile(&mut v, 0.5), Some(50));
        assert_eq!(quantile(&mut v, 0.99), Some(99));
        assert_eq!(quantile(&mut v, 1.0), Some(100));
        assert_eq!(quantile(&mut [7], 0.99), Some(7));
        assert_eq!(quantile(&mut [], 0.5), None);
    }
}

//! Memory stays flat whatever the backlog: a backlog of realistic ~200-byte
//! readings is built on disk and drained through a test output while the
//! process's peak resident set (VmHWM) is watched.
//!
//! It drains 1,000,000 records (about 250 MB of journal, several times the
//! allowed growth); it runs in the default (debug) test run in about 20 s.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod journal_support;

use std::time::{Duration, Instant};

use journal_support::*;
use retrofit_gateway::forwarder::{run_forwarder, ForwarderConfig, Output, OutputError};
use retrofit_gateway::journal::{Entry, Journal, Lane, NewRecord};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Peak resident growth allowed while building and draining the backlog.
const MAX_GROWTH_KIB: u64 = 48 * 1024;

/// Counts entries and checks they arrive once, in position order.
struct CountingOutput {
    next_pos: u64,
    delivered: watch::Sender<u64>,
}

impl Output for CountingOutput {
    fn name(&self) -> &str {
        "counting"
    }

    async fn deliver(&mut self, batch: &[Entry]) -> Result<(), OutputError> {
        for entry in batch {
            assert_eq!((entry.lane, entry.pos), (Lane::Bulk, self.next_pos));
            self.next_pos += 1;
        }
        self.delivered.send_modify(|n| *n += batch.len() as u64);
        Ok(())
    }
}

/// A `VmRSS`/`VmHWM`-style field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Resets the peak resident set to the current one (Linux >= 4.0).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

fn drain_backlog_with_flat_memory(records: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["counting"]);
    reset_peak();
    let baseline = status_kib("VmRSS:");

    let started = Instant::now();
    append_backlog(&journal, records);
    let appended_in = started.elapsed();
    let after_append = status_kib("VmHWM:");
    let file_bytes = journal.stats().unwrap().file_bytes;
    assert!(
        file_bytes > records * 200,
        "the backlog is on disk: {file_bytes} bytes"
    );

    let started = Instant::now();
    runtime.block_on(drain(journal.clone(), records));
    let drained_in = started.elapsed();
    let peak = status_kib("VmHWM:");
    eprintln!(
        "{records} records, journal {} MiB: appended in {appended_in:?}, drained in {drained_in:?}; \
         RSS baseline {baseline} KiB, peak after append +{} KiB, peak after drain +{} KiB",
        file_bytes >> 20,
        after_append.saturating_sub(baseline),
        peak.saturating_sub(baseline),
    );
    assert!(
        peak.saturating_sub(baseline) < MAX_GROWTH_KIB,
        "peak RSS grew by {} KiB",
        peak - baseline
    );
    assert_eq!(
        journal.stats().unwrap().lane(Lane::Bulk).records,
        0,
        "everything delivered was collected"
    );
}

fn append_backlog(journal: &Journal, records: u64) {
    for start in (0..records).step_by(2000) {
        let batch: Vec<NewRecord> = (start..(start + 2000).min(records))
            .map(telemetry)
            .collect();
        journal.append(&batch).unwrap();
    }
}

async fn drain(journal: Journal, records: u64) {
    let (delivered, mut watcher) = watch::channel(0);
    let output = CountingOutput {
        next_pos: 1,
        delivered,
    };
    let cfg = ForwarderConfig {
        batch_max: 2000,
        drain_rate: 0,
        ..ForwarderConfig::default()
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_forwarder(journal, output, cfg, shutdown.clone()));
    tokio::time::timeout(
        Duration::from_secs(300),
        watcher.wait_for(|&n| n == records),
    )
    .await
    .expect("backlog drained in time")
    .unwrap();
    shutdown.cancel();
    let report = task.await.unwrap().unwrap();
    assert_eq!(report.bulk_delivered, records);
}

/// The only test of this binary, so nothing else moves the peak.
#[test]
fn a_1m_record_backlog_drains_with_flat_memory() {
    drain_backlog_with_flat_memory(1_000_000);
}

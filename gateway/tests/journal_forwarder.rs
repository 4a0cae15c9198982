//! The forwarder against an in-process test output: urgent entries
//! overtake a bulk backlog, retries back off without skipping, pacing,
//! shallow batching, shutdown and fatal errors.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod journal_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use journal_support::*;
use retrofit_gateway::forwarder::{
    run_forwarder, ForwarderConfig, ForwarderError, Output, OutputError,
};
use retrofit_gateway::journal::{Entry, Journal, Lane, NewRecord};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One call of `deliver`.
#[derive(Debug, Clone)]
struct Attempt {
    lane: Lane,
    positions: Vec<u64>,
    at: Instant,
    accepted: bool,
}

/// How the test output answers a call, by call number.
type Script = Box<dyn FnMut(usize) -> Result<(), OutputError> + Send>;

/// Records every attempt; answers by its script; publishes the number of
/// accepted entries per lane.
struct TestOutput {
    name: String,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    script: Script,
    delivered: watch::Sender<[u64; 2]>,
    per_batch: Duration,
    closes: Arc<AtomicUsize>,
}

struct Probe {
    attempts: Arc<Mutex<Vec<Attempt>>>,
    delivered: watch::Receiver<[u64; 2]>,
    closes: Arc<AtomicUsize>,
}

impl Probe {
    /// Waits (bounded) until `pred` holds for the delivered counts.
    async fn until(&mut self, within: Duration, pred: impl Fn(&[u64; 2]) -> bool) -> [u64; 2] {
        let counts = tokio::time::timeout(within, self.delivered.wait_for(|c| pred(c)))
            .await
            .expect("condition reached in time")
            .unwrap();
        *counts
    }

    fn accepted(&self, lane: Lane) -> Vec<Attempt> {
        let attempts = self.attempts.lock().unwrap();
        attempts
            .iter()
            .filter(|a| a.accepted && a.lane == lane)
            .cloned()
            .collect()
    }

    fn all(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }
}

fn test_output(script: Script, per_batch: Duration) -> (TestOutput, Probe) {
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let (delivered, watcher) = watch::channel([0u64; 2]);
    let closes = Arc::new(AtomicUsize::new(0));
    let output = TestOutput {
        name: "test".into(),
        attempts: Arc::clone(&attempts),
        script,
        delivered,
        per_batch,
        closes: Arc::clone(&closes),
    };
    (
        output,
        Probe {
            attempts,
            delivered: watcher,
            closes,
        },
    )
}

fn always_ok() -> Script {
    Box::new(|_| Ok(()))
}

impl Output for TestOutput {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&mut self, batch: &[Entry]) -> Result<(), OutputError> {
        if !self.per_batch.is_zero() {
            tokio::time::sleep(self.per_batch).await;
        }
        let mut attempts = self.attempts.lock().unwrap();
        let result = (self.script)(attempts.len());
        attempts.push(Attempt {
            lane: batch[0].lane,
            positions: batch.iter().map(|e| e.pos).collect(),
            at: Instant::now(),
            accepted: result.is_ok(),
        });
        assert!(
            batch.iter().all(|e| e.lane == batch[0].lane),
            "one lane per batch"
        );
        if result.is_ok() {
            let i = if batch[0].lane == Lane::Urgent { 0 } else { 1 };
            self.delivered.send_modify(|c| c[i] += batch.len() as u64);
        }
        result
    }

    async fn close(&mut self) {
        self.closes.fetch_add(1, Ordering::SeqCst);
    }
}

fn config(batch_max: usize, drain_rate: u32) -> ForwarderConfig {
    ForwarderConfig {
        batch_max,
        drain_rate,
        flush_interval: Duration::from_millis(50),
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        shutdown_deadline: Duration::from_secs(2),
    }
}

/// Appends `n` telemetry records (seq 0..n) in batches of 2000.
fn append_backlog(journal: &Journal, n: u64) {
    for start in (0..n).step_by(2000) {
        let records: Vec<NewRecord> = (start..(start + 2000).min(n)).map(telemetry).collect();
        journal.append(&records).unwrap();
    }
}

/// The positions accepted in one lane, flattened in delivery order.
fn accepted_positions(probe: &Probe, lane: Lane) -> Vec<u64> {
    probe
        .accepted(lane)
        .into_iter()
        .flat_map(|a| a.positions)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_entries_overtake_a_large_bulk_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["test"]);
    const BACKLOG: u64 = 200_000;
    append_backlog(&journal, BACKLOG);
    let (output, mut probe) = test_output(always_ok(), Duration::from_millis(2));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_forwarder(
        journal.clone(),
        output,
        config(1000, 50_000),
        shutdown.clone(),
    ));

    probe
        .until(Duration::from_secs(30), |c| c[1] >= 10_000)
        .await;
    let alarm_journal = journal.clone();
    let appended_at = Instant::now();
    tokio::task::spawn_blocking(move || {
        alarm_journal
            .append(&[event(1), event(2), event(3)])
            .unwrap()
    })
    .await
    .unwrap();
    let counts = probe.until(Duration::from_secs(10), |c| c[0] == 3).await;
    let urgent = probe.accepted(Lane::Urgent);
    let latency = urgent[0].at - appended_at;
    assert!(
        latency < Duration::from_secs(2),
        "alarm took {latency:?} behind the backlog"
    );
    assert!(
        counts[1] < BACKLOG,
        "the alarm went out while the backlog was still draining"
    );

    probe
        .until(Duration::from_secs(60), |c| c[1] == BACKLOG)
        .await;
    shutdown.cancel();
    let report = task.await.unwrap().unwrap();
    assert_eq!(
        (report.urgent_delivered, report.bulk_delivered),
        (3, BACKLOG)
    );
    assert_eq!(
        accepted_positions(&probe, Lane::Bulk),
        (1..=BACKLOG).collect::<Vec<_>>()
    );
    assert_eq!(accepted_positions(&probe, Lane::Urgent), vec![1, 2, 3]);
    assert!(!report.left_pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_back_off_and_then_deliver_everything_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["test"]);
    append_backlog(&journal, 5000);
    journal.append(&[event(1)]).unwrap();
    // Calls 0-3 fail without a hint, call 4 asks for 100 ms, then every
    // third call fails again.
    let script: Script = Box::new(|call| match call {
        0..=3 => Err(OutputError::Retry {
            reason: "connection refused".into(),
            after: None,
        }),
        4 => Err(OutputError::Retry {
            reason: "429".into(),
            after: Some(Duration::from_millis(100)),
        }),
        n if n % 3 == 0 => Err(OutputError::Retry {
            reason: "503".into(),
            after: None,
        }),
        _ => Ok(()),
    });
    let (output, mut probe) = test_output(script, Duration::ZERO);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_forwarder(
        journal.clone(),
        output,
        config(1000, 0),
        shutdown.clone(),
    ));
    probe
        .until(Duration::from_secs(30), |c| *c == [1, 5000])
        .await;
    shutdown.cancel();
    let report = task.await.unwrap().unwrap();

    assert_eq!(accepted_positions(&probe, Lane::Urgent), vec![1]);
    assert_eq!(
        accepted_positions(&probe, Lane::Bulk),
        (1..=5000).collect::<Vec<_>>()
    );
    let attempts = probe.all();
    let failures = attempts.iter().filter(|a| !a.accepted).count() as u64;
    assert_eq!(report.retries, failures);
    assert!(failures >= 7);
    // A failed batch is offered again from the same position.
    for pair in attempts.windows(2) {
        if !pair[0].accepted && pair[0].lane == pair[1].lane {
            assert_eq!(
                pair[1].positions[0], pair[0].positions[0],
                "nothing skipped after a failure"
            );
        }
    }
    // Exponential backoff: 20 ms doubling with jitter, then the 100 ms hint.
    let gaps: Vec<Duration> = attempts
        .windows(2)
        .take(5)
        .map(|p| p[1].at - p[0].at)
        .collect();
    assert!(gaps[0] >= Duration::from_millis(10), "gaps {gaps:?}");
    assert!(gaps[3] >= Duration::from_millis(80), "gaps {gaps:?}");
    assert!(gaps[4] >= Duration::from_millis(100), "gaps {gaps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_is_paced_by_the_drain_rate() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["test"]);
    append_backlog(&journal, 3000);
    let (output, mut probe) = test_output(always_ok(), Duration::ZERO);
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn(run_forwarder(
        journal,
        output,
        config(500, 2000),
        shutdown.clone(),
    ));
    probe.until(Duration::from_secs(20), |c| c[1] == 3000).await;
    let elapsed = started.elapsed();
    shutdown.cancel();
    task.await.unwrap().unwrap();
    // A full bucket of 500, then 2,500 entries at 2,000/s.
    assert!(
        elapsed >= Duration::from_millis(1200),
        "3000 entries at 2000/s took {elapsed:?}"
    );
    assert!(probe
        .accepted(Lane::Bulk)
        .iter()
        .all(|a| a.positions.len() <= 500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shallow_bulk_lane_is_batched_and_alarms_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["test"]);
    let (output, mut probe) = test_output(always_ok(), Duration::ZERO);
    let shutdown = CancellationToken::new();
    let cfg = ForwarderConfig {
        flush_interval: Duration::from_millis(400),
        ..config(100, 0)
    };
    let task = tokio::spawn(run_forwarder(
        journal.clone(),
        output,
        cfg,
        shutdown.clone(),
    ));
    let started = Instant::now();
    for seq in 0..5 {
        let j = journal.clone();
        tokio::task::spawn_blocking(move || j.append(&[telemetry(seq)]).unwrap())
            .await
            .unwrap();
    }
    let j = journal.clone();
    tokio::task::spawn_blocking(move || j.append(&[event(9)]).unwrap())
        .await
        .unwrap();
    probe.until(Duration::from_secs(5), |c| c[0] == 1).await;
    assert_eq!(
        probe.accepted(Lane::Bulk).len(),
        0,
        "the alarm did not wait for the telemetry batch"
    );
    probe.until(Duration::from_secs(5), |c| c[1] == 5).await;
    let bulk = probe.accepted(Lane::Bulk);
    assert_eq!(bulk.len(), 1, "five shallow entries went as one batch");
    assert!(bulk[0].at - started >= Duration::from_millis(350));
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_persists_the_cursor_and_resumes_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = open(dir.path(), &["test"]);
        append_backlog(&journal, 10_000);
        // 1000 entries/s: shutdown comes long before the backlog is done.
        let (output, mut probe) = test_output(always_ok(), Duration::from_millis(20));
        let shutdown = CancellationToken::new();
        let cfg = ForwarderConfig {
            shutdown_deadline: Duration::from_millis(300),
            ..config(200, 1000)
        };
        let task = tokio::spawn(run_forwarder(
            journal.clone(),
            output,
            cfg,
            shutdown.clone(),
        ));
        probe.until(Duration::from_secs(10), |c| c[1] >= 1000).await;
        shutdown.cancel();
        let cancelled_at = Instant::now();
        let report = task.await.unwrap().unwrap();
        assert!(
            cancelled_at.elapsed() < Duration::from_secs(2),
            "shutdown is bounded by its deadline"
        );
        assert!(report.left_pending);
        assert_eq!(
            probe.closes.load(Ordering::SeqCst),
            1,
            "the output was closed once"
        );
        let delivered = accepted_positions(&probe, Lane::Bulk);
        assert_eq!(delivered, (1..=report.bulk_delivered).collect::<Vec<_>>());
        assert!(report.bulk_delivered < 10_000);
    }
    let journal = open(dir.path(), &["test"]);
    let remaining = peek_all(&mut journal.reader("test").unwrap(), Lane::Bulk);
    let acked = journal
        .stats()
        .unwrap()
        .output("test")
        .unwrap()
        .lane(Lane::Bulk)
        .acked_pos;
    assert!(acked >= 1000);
    assert_eq!(remaining.first().map(|e| e.pos), Some(acked + 1));
    assert_eq!(remaining.len() as u64, 10_000 - acked);

    let (output, mut probe) = test_output(always_ok(), Duration::ZERO);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_forwarder(
        journal,
        output,
        config(1000, 0),
        shutdown.clone(),
    ));
    probe
        .until(Duration::from_secs(20), |c| c[1] == 10_000 - acked)
        .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(
        accepted_positions(&probe, Lane::Bulk),
        (acked + 1..=10_000).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_output_error_stops_without_advancing() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["test"]);
    journal.append(&[telemetry(1), telemetry(2)]).unwrap();
    let script: Script = Box::new(|_| {
        Err(OutputError::Fatal {
            reason: "401 unauthorized".into(),
        })
    });
    let (output, _probe) = test_output(script, Duration::ZERO);
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        run_forwarder(
            journal.clone(),
            output,
            config(100, 0),
            CancellationToken::new(),
        ),
    )
    .await
    .unwrap();
    assert!(
        matches!(result, Err(ForwarderError::Output { ref reason, .. }) if reason.contains("401"))
    );
    assert_eq!(
        peek_all(&mut journal.reader("test").unwrap(), Lane::Bulk).len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["mqtt"]);
    let (output, _probe) = test_output(always_ok(), Duration::ZERO);
    let result = run_forwarder(journal, output, config(100, 0), CancellationToken::new()).await;
    assert!(matches!(result, Err(ForwarderError::Journal(_))));
}

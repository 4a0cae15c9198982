//! The intake: the single commit-then-acknowledge path of every input
//! (spec §8).
//!
//! Links submit records with an acknowledgement callback; one writer
//! thread gathers whatever is queued into one journal transaction and runs
//! the callbacks, in submission order, only after that commit is durable.
//! Group commit: a batch is whatever arrived during the previous commit,
//! plus, when readings arrive fast, whatever arrives within a short window
//! (`commit_window`), so a lone reading at a quiet moment is committed at
//! once and batches grow with the load. Journal overflow is announced as a
//! gateway event when dropping starts and stops.
//!
//! A journal that cannot commit (disk full, I/O error) stops the intake:
//! the writer keeps the failed batch, acknowledges none of it and retries
//! it with capped exponential backoff and jitter; meanwhile the bounded
//! queue fills, so links block in [`Intake::submit`] and sources stop
//! receiving acknowledgements and keep their data. The failure is logged
//! at error level at once, shown by [`Intake::journal_health`], and raised
//! as a critical `journal_failure` gateway alarm. The alarm goes through
//! the journal like every reading: it is tried alone at once (a small
//! record may fit where the batch does not, and then reaches users while
//! the failure lasts), otherwise it is committed in the first transaction
//! that succeeds, ahead of the retried batch; the clear (same `alarm_id`)
//! follows as soon as a commit succeeds. A stopping intake (every sender
//! dropped) retries for [`RetryPolicy::shutdown_grace`] and then gives up:
//! what it held was never acknowledged, so its sources still have it.
//!
//! The intake must never acknowledge before the commit, and never reorder.

use std::sync::Arc;
use std::time::{Duration, Instant};

use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Reading};
use retrofit_protocols::{
    DeviceKind, EventName, EventState, Id, KnownEvent, Severity, Source, Timestamp,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::clock::SeqClock;
use crate::commit_window::CommitWindow;
use crate::journal::{AppendOutcome, Journal, JournalError, NewRecord, RecordClass};
use crate::live_view::Committed;

/// Runs once the submission is durable (sends the PUBACK, the ACK frame).
pub type Ack = Box<dyn FnOnce() + Send>;

/// Most records committed in one transaction.
pub const MAX_BATCH_RECORDS: usize = 4096;
/// Submissions queued before links feel back-pressure.
const QUEUE_DEPTH: usize = 8192;

/// Records from one input and what to do once they are durable.
pub struct Submission {
    pub records: Vec<NewRecord>,
    pub ack: Option<Ack>,
}

impl Submission {
    pub fn new(records: Vec<NewRecord>, ack: Option<Ack>) -> Self {
        Self { records, ack }
    }
}

/// The intake is closed (the daemon is stopping).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("intake closed")]
pub struct IntakeClosed;

/// The intake stopped while the journal still failed: the submissions it
/// held were not committed and not acknowledged.
#[derive(Debug, thiserror::Error)]
#[error("intake stopped with the journal still failing; its last submissions were not acknowledged: {0}")]
pub struct CommitAbandoned(#[source] pub JournalError);

/// Whether the journal takes commits (for `/healthz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalHealth {
    /// The last commit succeeded.
    Committing,
    /// Commits fail since `since` (the latest error): intake is stopped,
    /// nothing is acknowledged until a commit succeeds.
    Failing { since: Timestamp, error: String },
}

impl JournalHealth {
    pub fn is_failing(&self) -> bool {
        matches!(self, Self::Failing { .. })
    }
}

/// How the writer retries a failed commit.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Pause between attempts (grows, jittered, capped).
    pub backoff: Backoff,
    /// How long a stopping intake keeps retrying before it gives up.
    pub shutdown_grace: Duration,
}

impl Default for RetryPolicy {
    /// 50 ms doubling up to 5 s; 5 s of grace at shutdown.
    fn default() -> Self {
        Self {
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(5)),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Handle the links submit through; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Submission>,
    identity: Arc<GatewayIdentity>,
    health: watch::Receiver<JournalHealth>,
}

/// Who emits the gateway's own readings.
#[derive(Debug)]
pub struct GatewayIdentity {
    pub site: Id,
    pub gateway: Id,
    pub seq: SeqClock,
}

impl GatewayIdentity {
    /// A reading of the gateway itself (kind `gateway`).
    pub fn reading(&self, body: Body) -> Reading {
        let (ts, seq) = self.seq.next();
        Reading {
            site: self.site.clone(),
            kind: DeviceKind::Gateway,
            device: self.gateway.clone(),
            connector: None,
            ts,
            seq,
            source: Source::Gateway,
            body,
        }
    }

    /// A gateway event; `raise_seq` identifies the alarm across raise/clear.
    pub fn event(
        &self,
        name: KnownEvent,
        severity: Severity,
        state: EventState,
        raise_seq: u64,
        detail: &str,
    ) -> Reading {
        let event = EventName::from(name);
        let alarm_id = AlarmId::for_raise(&self.gateway, &event, raise_seq);
        self.reading(Body::Event(EventBody {
            event,
            severity,
            state,
            alarm_id,
            detail: BoundedText::lossy(detail),
        }))
    }
}

/// The journal record of a reading.
pub fn record_of(reading: &Reading) -> NewRecord {
    let class = match reading.body {
        Body::Telemetry(_) => RecordClass::Telemetry,
        Body::Event(_) => RecordClass::Event,
        Body::Status(_) => RecordClass::Status,
    };
    NewRecord {
        class,
        payload: reading.to_json(),
    }
}

/// Where the writer commits: the journal (a stand-in in tests).
trait CommitLog: Send + 'static {
    fn append(&self, records: &[NewRecord]) -> Result<AppendOutcome, JournalError>;
}

impl CommitLog for Journal {
    fn append(&self, records: &[NewRecord]) -> Result<AppendOutcome, JournalError> {
        Journal::append(self, records)
    }
}

/// The writer thread's handle: `Err` when it gave up on a failing journal.
pub type WriterHandle = JoinHandle<Result<(), CommitAbandoned>>;

impl Intake {
    /// Starts the writer over `journal` with the default retry policy.
    pub fn start(journal: Journal, identity: Arc<GatewayIdentity>) -> (Intake, WriterHandle) {
        Self::start_with(journal, identity, RetryPolicy::default(), None)
    }

    /// [`Intake::start`], announcing every committed batch on `committed`
    /// (after its acknowledgements; only while someone listens).
    pub fn start_observed(
        journal: Journal,
        identity: Arc<GatewayIdentity>,
        committed: Committed,
    ) -> (Intake, WriterHandle) {
        Self::start_with(journal, identity, RetryPolicy::default(), Some(committed))
    }

    fn start_with(
        log: impl CommitLog,
        identity: Arc<GatewayIdentity>,
        retry: RetryPolicy,
        committed: Option<Committed>,
    ) -> (Intake, WriterHandle) {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (health_tx, health) = watch::channel(JournalHealth::Committing);
        let writer = Writer {
            log,
            identity: identity.clone(),
            overflow: None,
            failure: None,
            health: health_tx,
            retry,
            window: CommitWindow::default(),
            committed,
        };
        // A thread of its own for the writer's whole life (the blocking
        // pool's, so the daemon can await its end).
        let task = tokio::task::spawn_blocking(move || writer.run(rx));
        let intake = Intake {
            tx,
            identity,
            health,
        };
        (intake, task)
    }

    /// Queues records; `ack` runs once they are durable. Waits when the
    /// queue is full (back-pressure to the source), for as long as a
    /// failing journal keeps the intake stopped.
    pub async fn submit(&self, submission: Submission) -> Result<(), IntakeClosed> {
        self.tx.send(submission).await.map_err(|_| IntakeClosed)
    }

    /// The gateway's identity, for links that emit gateway readings.
    pub fn identity(&self) -> &GatewayIdentity {
        &self.identity
    }

    /// Whether the journal currently takes commits.
    pub fn journal_health(&self) -> JournalHealth {
        self.health.borrow().clone()
    }

    /// Follows [`Intake::journal_health`] as it changes.
    pub fn journal_health_changes(&self) -> watch::Receiver<JournalHealth> {
        self.health.clone()
    }
}

/// An ongoing journal failure.
struct Failure {
    /// `raise seq` of its `journal_failure` alarm.
    raise_seq: u64,
    /// The alarm's raise, until a transaction has committed it.
    raise: Option<NewRecord>,
}

struct Writer<J> {
    log: J,
    identity: Arc<GatewayIdentity>,
    /// `raise seq` of the active journal-overflow alarm.
    overflow: Option<u64>,
    failure: Option<Failure>,
    health: watch::Sender<JournalHealth>,
    retry: RetryPolicy,
    /// How long a batch may gather before its commit.
    window: CommitWindow,
    /// Where committed batches are announced (the live view).
    committed: Option<Committed>,
}

/// Whatever is queued behind `first`, up to [`MAX_BATCH_RECORDS`]: the
/// records in submission order and their acknowledgements.
fn gather(first: Submission, rx: &mut mpsc::Receiver<Submission>) -> (Vec<NewRecord>, Vec<Ack>) {
    let mut records = first.records;
    let mut acks: Vec<Ack> = first.ack.into_iter().collect();
    while records.len() < MAX_BATCH_RECORDS {
        match rx.try_recv() {
            Ok(s) => {
                records.extend(s.records);
                acks.extend(s.ack);
            }
            Err(_) => break,
        }
    }
    (records, acks)
}

impl<J: CommitLog> Writer<J> {
    /// Runs on its own thread: one wake-up per batch of submissions, one
    /// transaction (one fsync) per batch, acknowledgements after it.
    fn run(mut self, mut rx: mpsc::Receiver<Submission>) -> Result<(), CommitAbandoned> {
        while let Some(first) = rx.blocking_recv() {
            let window = self.window.next();
            if !window.is_zero() {
                std::thread::sleep(window);
            }
            let (records, acks) = gather(first, &mut rx);
            self.window.observe(records.len(), Instant::now());
            let dropped = self.commit(&records, &rx)?;
            for ack in acks {
                ack();
            }
            self.observe(records);
            self.announce_recovery(&rx)?;
            self.announce_overflow(dropped, &rx)?;
        }
        Ok(())
    }

    /// Commits, retrying with backoff until the journal takes the batch;
    /// gives up only once the intake is stopping and the grace has passed.
    /// Returns how many older records the journal dropped to make room.
    fn commit(
        &mut self,
        records: &[NewRecord],
        rx: &mpsc::Receiver<Submission>,
    ) -> Result<u64, CommitAbandoned> {
        self.retry.backoff.reset();
        let mut stopping_since: Option<Instant> = None;
        loop {
            let error = match self.try_commit(records) {
                Ok(dropped) => return Ok(dropped),
                Err(e) => e,
            };
            if rx.is_closed() {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.retry.shutdown_grace {
                    tracing::error!(error = %error, records = records.len(), "journal still failing as intake stops; giving up, nothing of it was acknowledged");
                    return Err(CommitAbandoned(error));
                }
            }
            let wait = self.retry.backoff.next_delay(None);
            self.note_failure(&error, wait);
            std::thread::sleep(wait);
        }
    }

    /// One attempt, with the pending `journal_failure` raise ahead of the
    /// batch.
    fn try_commit(&mut self, records: &[NewRecord]) -> Result<u64, JournalError> {
        let pending = self.failure.as_ref().and_then(|f| f.raise.clone());
        let outcome = match pending {
            None => self.log.append(records)?,
            Some(raise) => {
                let all: Vec<NewRecord> = std::iter::once(raise)
                    .chain(records.iter().cloned())
                    .collect();
                let outcome = self.log.append(&all)?;
                if let Some(f) = self.failure.as_mut() {
                    f.raise = None;
                }
                outcome
            }
        };
        Ok(outcome.dropped.total())
    }

    /// Logs a failed attempt; the first of a failure also marks the
    /// journal failing and raises the alarm (committed alone if it fits).
    fn note_failure(&mut self, error: &JournalError, retry_in: Duration) {
        if self.failure.is_some() {
            tracing::warn!(error = %error, retry_in = ?retry_in, "journal commit still failing; intake stays stopped");
            self.health.send_modify(|h| {
                if let JournalHealth::Failing { error: e, .. } = h {
                    *e = error.to_string();
                }
            });
            return;
        }
        tracing::error!(error = %error, retry_in = ?retry_in, "journal commit failed: intake stopped, nothing is acknowledged until a commit succeeds");
        let (_, raise_seq) = self.identity.seq.peek();
        let reading = self.identity.event(
            KnownEvent::JournalFailure,
            Severity::Critical,
            EventState::Raised,
            raise_seq,
            &format!("journal cannot commit, intake stopped: {error}"),
        );
        let raise = record_of(&reading);
        let raise = match self.log.append(std::slice::from_ref(&raise)) {
            Ok(_) => None,
            Err(_) => Some(raise),
        };
        self.failure = Some(Failure { raise_seq, raise });
        self.health.send_replace(JournalHealth::Failing {
            since: crate::clock::now(),
            error: error.to_string(),
        });
    }

    /// After a successful commit: marks the journal healthy again and
    /// clears an active `journal_failure` alarm.
    fn announce_recovery(
        &mut self,
        rx: &mpsc::Receiver<Submission>,
    ) -> Result<(), CommitAbandoned> {
        let Some(failure) = self.failure.take() else {
            return Ok(());
        };
        self.health.send_replace(JournalHealth::Committing);
        tracing::info!("journal commits again; intake resumed");
        let clear = self.identity.event(
            KnownEvent::JournalFailure,
            Severity::Critical,
            EventState::Cleared,
            failure.raise_seq,
            "journal commits again, intake resumed",
        );
        self.commit_alone(record_of(&clear), rx)
    }

    /// Raises the overflow alarm when dropping starts, clears it when an
    /// append no longer drops.
    fn announce_overflow(
        &mut self,
        dropped: u64,
        rx: &mpsc::Receiver<Submission>,
    ) -> Result<(), CommitAbandoned> {
        let reading = match (self.overflow, dropped > 0) {
            (None, true) => {
                let (_, seq) = self.identity.seq.peek();
                self.overflow = Some(seq);
                self.identity.event(
                    KnownEvent::JournalOverflow,
                    Severity::Major,
                    EventState::Raised,
                    seq,
                    &format!("journal full: dropped {dropped} oldest records"),
                )
            }
            (Some(seq), false) => {
                self.overflow = None;
                self.identity.event(
                    KnownEvent::JournalOverflow,
                    Severity::Major,
                    EventState::Cleared,
                    seq,
                    "journal has room again",
                )
            }
            _ => return Ok(()),
        };
        self.commit_alone(record_of(&reading), rx)
    }

    /// Commits one gateway record of its own, then announces it.
    fn commit_alone(
        &mut self,
        record: NewRecord,
        rx: &mpsc::Receiver<Submission>,
    ) -> Result<(), CommitAbandoned> {
        self.commit(std::slice::from_ref(&record), rx)?;
        self.observe(vec![record]);
        Ok(())
    }

    /// Announces a committed batch, if anyone listens.
    fn observe(&self, records: Vec<NewRecord>) {
        if let Some(tx) = self.committed.as_ref().filter(|tx| tx.receiver_count() > 0) {
            let _ = tx.send(Arc::new(records));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::journal::ClassCounts;

    /// A journal stand-in whose disk takes transactions of at most `fits`
    /// records and refuses bigger ones as SQLite does on a full disk.
    #[derive(Clone, Default)]
    struct Disk(Arc<DiskState>);

    #[derive(Default)]
    struct DiskState {
        fits: AtomicUsize,
        committed: Mutex<Vec<Vec<NewRecord>>>,
    }

    impl Disk {
        fn fitting(fits: usize) -> Self {
            let disk = Disk::default();
            disk.set_fits(fits);
            disk
        }

        fn set_fits(&self, fits: usize) {
            self.0.fits.store(fits, Ordering::SeqCst);
        }

        fn committed(&self) -> Vec<Vec<NewRecord>> {
            self.0.committed.lock().unwrap().clone()
        }
    }

    impl CommitLog for Disk {
        fn append(&self, records: &[NewRecord]) -> Result<AppendOutcome, JournalError> {
            if records.len() > self.0.fits.load(Ordering::SeqCst) {
                let full = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL);
                return Err(rusqlite::Error::SqliteFailure(full, None).into());
            }
            self.0.committed.lock().unwrap().push(records.to_vec());
            Ok(AppendOutcome {
                appended: records.len(),
                dropped: ClassCounts::default(),
            })
        }
    }

    const LIMIT: Duration = Duration::from_secs(10);

    fn start(disk: &Disk) -> (Intake, WriterHandle) {
        let identity = Arc::new(GatewayIdentity {
            site: Id::parse("site-a").unwrap(),
            gateway: Id::parse("gw").unwrap(),
            seq: SeqClock::default(),
        });
        let retry = RetryPolicy {
            backoff: Backoff::new(Duration::from_millis(1), Duration::from_millis(20)),
            shutdown_grace: Duration::from_millis(50),
        };
        Intake::start_with(disk.clone(), identity, retry, None)
    }

    fn telemetry(n: u8) -> NewRecord {
        NewRecord {
            class: RecordClass::Telemetry,
            payload: vec![n],
        }
    }

    /// Submits `records` with an ack that reports on the returned channel.
    async fn submit(intake: &Intake, records: Vec<NewRecord>) -> mpsc::UnboundedReceiver<()> {
        let (tx, rx) = mpsc::unbounded_channel();
        let ack: Ack = Box::new(move || {
            let _ = tx.send(());
        });
        intake
            .submit(Submission::new(records, Some(ack)))
            .await
            .unwrap();
        rx
    }

    /// (event, severity, state, alarm_id) of an event record.
    fn event(record: &NewRecord) -> (String, String, String, String) {
        assert_eq!(record.class, RecordClass::Event);
        let j: serde_json::Value = serde_json::from_slice(&record.payload).unwrap();
        let field = |k: &str| j[k].as_str().unwrap().to_string();
        (
            field("event"),
            field("severity"),
            field("state"),
            field("alarm_id"),
        )
    }

    async fn wait_health(intake: &Intake, failing: bool) {
        let mut health = intake.journal_health_changes();
        tokio::time::timeout(LIMIT, health.wait_for(|h| h.is_failing() == failing))
            .await
            .unwrap()
            .unwrap();
    }

    /// Drops the intake and waits for its writer to finish cleanly.
    async fn stop(intake: Intake, writer: WriterHandle) {
        drop(intake);
        tokio::time::timeout(LIMIT, writer)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn failing_journal_acks_nothing_then_commits_raise_batch_and_clear() {
        let disk = Disk::fitting(0);
        let (intake, writer) = start(&disk);
        let batch = vec![telemetry(1), telemetry(2)];
        let mut acked = submit(&intake, batch.clone()).await;
        wait_health(&intake, true).await;
        // Two more failed attempts, each reported through the health.
        let mut health = intake.journal_health_changes();
        for _ in 0..2 {
            tokio::time::timeout(LIMIT, health.changed())
                .await
                .unwrap()
                .unwrap();
        }
        assert!(acked.try_recv().is_err(), "acknowledged while failing");
        assert!(disk.committed().is_empty());

        disk.set_fits(usize::MAX);
        tokio::time::timeout(LIMIT, acked.recv()).await.unwrap();
        wait_health(&intake, false).await;
        stop(intake, writer).await;

        let txs = disk.committed();
        assert_eq!(txs.len(), 2, "{txs:?}");
        let raise = event(&txs[0][0]);
        assert_eq!(txs[0][1..], batch[..], "the batch right behind the raise");
        assert_eq!(
            (raise.0.as_str(), raise.1.as_str(), raise.2.as_str()),
            ("journal_failure", "critical", "raised")
        );
        let clear = event(&txs[1][0]);
        assert_eq!(clear.2, "cleared");
        assert_eq!(clear.3, raise.3, "one alarm_id across raise and clear");
    }

    #[tokio::test]
    async fn a_lone_raise_is_committed_while_batches_still_fail() {
        let disk = Disk::fitting(1);
        let (intake, writer) = start(&disk);
        let mut acked = submit(&intake, vec![telemetry(1), telemetry(2)]).await;
        wait_health(&intake, true).await;
        let txs = disk.committed();
        assert_eq!(txs.len(), 1);
        assert_eq!(event(&txs[0][0]).2, "raised");
        assert!(acked.try_recv().is_err(), "acknowledged while failing");

        disk.set_fits(usize::MAX);
        tokio::time::timeout(LIMIT, acked.recv()).await.unwrap();
        stop(intake, writer).await;
        let txs = disk.committed();
        assert_eq!(txs.len(), 3, "raise, batch, clear: {txs:?}");
        assert_eq!(txs[1].len(), 2);
        assert_eq!(event(&txs[2][0]).2, "cleared");
        assert_eq!(event(&txs[2][0]).3, event(&txs[0][0]).3);
    }

    #[tokio::test]
    async fn a_stopping_intake_gives_up_on_a_failing_journal_without_acking() {
        let disk = Disk::fitting(0);
        let (intake, writer) = start(&disk);
        let mut acked = submit(&intake, vec![telemetry(1)]).await;
        wait_health(&intake, true).await;
        drop(intake);
        let ended = tokio::time::timeout(LIMIT, writer).await.unwrap().unwrap();
        assert!(ended.is_err(), "the writer reports what it abandoned");
        assert_eq!(
            acked.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected),
            "never acknowledged"
        );
        assert!(disk.committed().is_empty());
    }
}

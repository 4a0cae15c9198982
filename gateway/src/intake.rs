//! The intake: the single commit-then-acknowledge path of every input
//! (spec §8).
//!
//! Links submit records with an acknowledgement callback; one writer
//! thread gathers whatever is queued into one journal transaction (group
//! commit: the batch is whatever arrived during the previous commit, so a
//! lone reading at a quiet moment is committed at once and batches grow
//! with the load) and runs the callbacks, in submission order, only after
//! that commit is durable. A failed commit acknowledges nothing and is retried. Journal
//! overflow is announced as a gateway event when dropping starts and stops.
//! The intake must never acknowledge before the commit, and never reorder.

use std::sync::Arc;
use std::time::Duration;

use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Reading};
use retrofit_protocols::{DeviceKind, EventName, EventState, Id, KnownEvent, Severity, Source};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::clock::SeqClock;
use crate::journal::{Journal, NewRecord, RecordClass};

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

/// Handle the links submit through; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Submission>,
    identity: Arc<GatewayIdentity>,
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

impl Intake {
    /// Starts the writer task over `journal`.
    pub fn start(journal: Journal, identity: Arc<GatewayIdentity>) -> (Intake, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let writer = Writer {
            journal,
            identity: identity.clone(),
            overflow: None,
        };
        // A thread of its own for the writer's whole life (the blocking
        // pool's, so the daemon can await its end).
        let task = tokio::task::spawn_blocking(move || writer.run(rx));
        (Intake { tx, identity }, task)
    }

    /// Queues records; `ack` runs once they are durable. Waits when the
    /// queue is full (back-pressure to the source).
    pub async fn submit(&self, submission: Submission) -> Result<(), IntakeClosed> {
        self.tx.send(submission).await.map_err(|_| IntakeClosed)
    }

    /// The gateway's identity, for links that emit gateway readings.
    pub fn identity(&self) -> &GatewayIdentity {
        &self.identity
    }
}

struct Writer {
    journal: Journal,
    identity: Arc<GatewayIdentity>,
    /// `raise seq` of the active journal-overflow alarm.
    overflow: Option<u64>,
}

impl Writer {
    /// Runs on its own thread: one wake-up per batch of submissions, one
    /// transaction (one fsync) per batch, acknowledgements after it.
    fn run(mut self, mut rx: mpsc::Receiver<Submission>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            let mut count = batch[0].records.len();
            while count < MAX_BATCH_RECORDS {
                match rx.try_recv() {
                    Ok(s) => {
                        count += s.records.len();
                        batch.push(s);
                    }
                    Err(_) => break,
                }
            }
            let records: Vec<NewRecord> = batch
                .iter_mut()
                .flat_map(|s| std::mem::take(&mut s.records))
                .collect();
            let dropped = self.commit(&records);
            for ack in batch.into_iter().filter_map(|s| s.ack) {
                ack();
            }
            self.announce_overflow(dropped);
        }
    }

    /// Commits, retrying with backoff until the journal takes the batch.
    /// Returns how many older records the journal dropped to make room.
    fn commit(&self, records: &[NewRecord]) -> u64 {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.journal.append(records) {
                Ok(outcome) => return outcome.dropped.total(),
                Err(e) => {
                    tracing::error!(error = %e, "journal commit failed; retrying, nothing acknowledged")
                }
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Raises the overflow alarm when dropping starts, clears it when an
    /// append no longer drops.
    fn announce_overflow(&mut self, dropped: u64) {
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
            _ => return,
        };
        self.commit(&[record_of(&reading)]);
    }
}

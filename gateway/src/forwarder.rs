//! The forwarder: drives one output from the journal, at least once, from
//! the output's durable cursor.
//!
//! Cursor acks are recorded in memory and written by the journal's next
//! append; when none comes for a moment (or they cover many entries) the
//! forwarder writes them itself, so that a busy pipeline spends no
//! transaction per batch on cursors. While the journal's size bound is
//! dropping records, each ack is written before the next batch is read,
//! so at most one batch per output is in flight across a drop.
//!
//! Each round serves the urgent lane first (alarms and status reach the
//! output within one batch even behind a huge telemetry backlog), then one
//! bulk batch paced by a token bucket (`drain_rate`). A batch closes when
//! it is full or when the lane has nothing more (while one batch is being
//! delivered the next one fills, so batches grow with the load and a lone
//! reading at a quiet moment goes at once); an output may ask a shallow
//! bulk lane to linger up to `flush_interval` for fewer, larger requests.
//! Entries the journal still holds in memory are read without a blocking
//! call. A batch is acknowledged to the
//! journal only after the output accepted all of it; a `Retry` error backs
//! off (exponential with jitter, or the output's `after`, capped) and the
//! same entries are offered again, so nothing is ever skipped. Order:
//! within a lane, entries reach the output in commit order (one device's
//! telemetry stays in order); an urgent entry may overtake older telemetry.
//!
//! The forwarder never drops, reorders or acknowledges an entry the output
//! has not accepted, and never blocks the async runtime on SQLite (journal
//! calls run in `spawn_blocking`).

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::journal::{Entry, Journal, JournalConfig, JournalError, JournalReader, Lane};

/// A destination fed from the journal (normalized MQTT, time-series store).
pub trait Output: Send {
    /// The name the output's cursor is registered under in the journal.
    fn name(&self) -> &str;
    /// Deliver a batch in order; `Ok(())` means every entry is delivered (or
    /// handled, e.g. dead-lettered) so the cursor may advance past all of
    /// them.
    fn deliver(&mut self, batch: &[Entry]) -> impl Future<Output = Result<(), OutputError>> + Send;
    /// Called once when the forwarder stops: say goodbye cleanly (e.g. an
    /// MQTT DISCONNECT, so the broker does not fire the last will).
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Why an output did not take a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// Transient: connection errors, 5xx, 429. `after` is the delay the
    /// destination asked for (e.g. `Retry-After`).
    #[error("retry later: {reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The output cannot go on (e.g. rejected credentials); the forwarder
    /// stops without advancing the cursor.
    #[error("output failed: {reason}")]
    Fatal { reason: String },
}

/// Pacing and patience of one forwarder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderConfig {
    /// Most entries per delivered batch.
    pub batch_max: usize,
    /// How long a shallow bulk lane may wait to fill a batch (zero: it
    /// goes as soon as the lane has nothing more).
    pub flush_interval: Duration,
    /// Bulk entries per second (token bucket); 0 means unlimited. Must
    /// exceed the live telemetry rate for a backlog to drain.
    pub drain_rate: u32,
    /// First retry delay; doubles per consecutive failure.
    pub retry_initial: Duration,
    /// Longest retry delay, also the cap on an output's `after`.
    pub retry_max: Duration,
    /// After shutdown is requested, how long to keep delivering.
    pub shutdown_deadline: Duration,
}

impl Default for ForwarderConfig {
    fn default() -> Self {
        Self {
            batch_max: 1000,
            flush_interval: Duration::ZERO,
            drain_rate: JournalConfig::default().drain_rate,
            retry_initial: Duration::from_millis(200),
            retry_max: Duration::from_secs(30),
            shutdown_deadline: Duration::from_secs(5),
        }
    }
}

/// What a forwarder did before it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwarderReport {
    pub urgent_delivered: u64,
    pub bulk_delivered: u64,
    pub batches: u64,
    pub retries: u64,
    /// Entries were left undelivered at exit (they stay in the journal).
    pub left_pending: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwarderError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("output {output}: {reason}")]
    Output { output: String, reason: String },
    #[error("journal task failed: {0}")]
    Task(String),
}

/// Runs the output until `shutdown` is cancelled (then keeps delivering
/// for at most `shutdown_deadline`, makes the cursor durable and returns)
/// or the output fails fatally.
pub async fn run_forwarder<O: Output>(
    journal: Journal,
    output: O,
    cfg: ForwarderConfig,
    shutdown: CancellationToken,
) -> Result<ForwarderReport, ForwarderError> {
    let cfg = ForwarderConfig {
        batch_max: cfg.batch_max.max(1),
        ..cfg
    };
    let name = output.name().to_owned();
    let reader_journal = journal.clone();
    let reader = blocking(move || reader_journal.reader(&name)).await?;
    let mut forwarder = Forwarder::new(&journal, reader, output, cfg, shutdown);
    let outcome = forwarder.run().await;
    forwarder.output.close().await;
    let synced = blocking(move || journal.sync()).await;
    outcome?;
    synced?;
    Ok(forwarder.report)
}

/// Longest idle sleep between journal checks; appends wake the forwarder
/// at once, this only bounds a missed wake-up.
const IDLE_RECHECK: Duration = Duration::from_secs(1);

/// What to do after one step of the loop.
enum Step {
    /// Something was delivered: go again at once.
    Again,
    /// Nothing to do before `until`, unless an append comes first.
    Idle { until: Instant },
    /// The output asked for a pause: ignore appends until `until`.
    Backoff { until: Instant },
}

/// What became of one batch.
enum Delivery {
    Accepted,
    Retry {
        delay: Duration,
    },
    /// Shutdown deadline reached while the output was still busy.
    CutOff,
}

struct Forwarder<O> {
    source: Source,
    journal: Journal,
    changes: watch::Receiver<u64>,
    bucket: TokenBucket,
    backoff: Backoff,
    /// Deadline of the shutdown drain, fixed when shutdown is first seen.
    stop_by: OnceLock<Instant>,
    /// Bulk entries read but not yet accepted, topped up as more arrive.
    pending_bulk: Vec<Entry>,
    /// When the bulk lane was first seen too shallow for a full batch.
    shallow_since: Option<Instant>,
    report: ForwarderReport,
    output: O,
    cfg: ForwarderConfig,
    shutdown: CancellationToken,
}

impl<O: Output> Forwarder<O> {
    fn new(
        journal: &Journal,
        reader: JournalReader,
        output: O,
        cfg: ForwarderConfig,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            source: Source(Arc::new(Mutex::new(reader))),
            journal: journal.clone(),
            changes: journal.changes(),
            bucket: TokenBucket::new(cfg.drain_rate, cfg.batch_max, Instant::now()),
            backoff: Backoff::new(cfg.retry_initial, cfg.retry_max),
            stop_by: OnceLock::new(),
            pending_bulk: Vec::new(),
            shallow_since: None,
            report: ForwarderReport::default(),
            output,
            cfg,
            shutdown,
        }
    }

    async fn run(&mut self) -> Result<(), ForwarderError> {
        while !self.shutdown.is_cancelled() {
            self.changes.borrow_and_update();
            match self.step().await? {
                Step::Again => {}
                Step::Idle { until } => self.wait(until, true).await,
                Step::Backoff { until } => self.wait(until, false).await,
            }
        }
        self.drain_before_exit().await
    }

    /// Urgent batch if any, else the bulk batch when it is full (or has
    /// waited `flush_interval`) and the token bucket allows it.
    async fn step(&mut self) -> Result<Step, ForwarderError> {
        let urgent = self
            .source
            .peek(Lane::Urgent, 0, self.cfg.batch_max)
            .await?;
        if !urgent.is_empty() {
            let delivery = self.deliver(&urgent).await?;
            return Ok(self.after(delivery));
        }
        let want = self.bucket.burst();
        self.top_up_bulk(want).await?;
        let (now, ready) = (Instant::now(), self.pending_bulk.len());
        if ready == 0 {
            self.shallow_since = None;
            return Ok(Step::Idle {
                until: now + IDLE_RECHECK,
            });
        }
        if ready < want && !self.cfg.flush_interval.is_zero() {
            let flush_at = *self.shallow_since.get_or_insert(now) + self.cfg.flush_interval;
            if now < flush_at {
                return Ok(Step::Idle { until: flush_at });
            }
        }
        if let Some(until) = self.bucket.ready_at(ready, now) {
            return Ok(Step::Idle { until });
        }
        let delivery = self.deliver_pending_bulk().await?;
        Ok(self.after(delivery))
    }

    fn after(&self, delivery: Delivery) -> Step {
        match delivery {
            Delivery::Accepted | Delivery::CutOff => Step::Again,
            Delivery::Retry { delay } => Step::Backoff {
                until: Instant::now() + delay,
            },
        }
    }

    /// Reads bulk entries after those already pending, up to `want` in all,
    /// while the journal still holds the oldest pending one. A batch whose
    /// entries the size bound began to drop (read, then dropped while the
    /// output was away) stays as it was: what an output delivers past a
    /// drop is at most one batch of what the journal held at once.
    async fn top_up_bulk(&mut self, want: usize) -> Result<(), ForwarderError> {
        let missing = want.saturating_sub(self.pending_bulk.len());
        if missing > 0 {
            let after = self.pending_bulk.last().map_or(0, |e| e.pos);
            let more = self.source.peek(Lane::Bulk, after, missing).await?;
            // Checked after the read: rows only leave from the front, so
            // the oldest still held now was held, with all after it, then.
            let oldest_held = match self.pending_bulk.first().map(|e| e.pos) {
                Some(pos) if !more.is_empty() => self.source.holds(Lane::Bulk, pos).await?,
                _ => true,
            };
            if oldest_held {
                self.pending_bulk.extend(more);
            }
        }
        Ok(())
    }

    /// Offers the pending bulk batch; it stays pending unless accepted.
    async fn deliver_pending_bulk(&mut self) -> Result<Delivery, ForwarderError> {
        let batch = std::mem::take(&mut self.pending_bulk);
        let delivery = self.deliver(&batch).await?;
        if !matches!(delivery, Delivery::Accepted) {
            self.pending_bulk = batch;
        }
        Ok(delivery)
    }

    /// Delivers one batch of one lane and acknowledges it.
    async fn deliver(&mut self, batch: &[Entry]) -> Result<Delivery, ForwarderError> {
        let Some(first) = batch.first() else {
            return Ok(Delivery::Accepted);
        };
        let lane = first.lane;
        let result = {
            let cut_off =
                shutdown_cut_off(&self.shutdown, &self.stop_by, self.cfg.shutdown_deadline);
            tokio::select! {
                result = self.output.deliver(batch) => result,
                () = cut_off => return Ok(Delivery::CutOff),
            }
        };
        match result {
            Ok(()) => {
                self.source.ack(batch)?;
                self.count_delivered(lane, batch.len());
                let due = self.journal.acks_due_in() == Some(Duration::ZERO);
                if due || self.journal.is_dropping() {
                    self.write_acks().await;
                }
                Ok(Delivery::Accepted)
            }
            Err(OutputError::Retry { reason, after }) => {
                let delay = self.backoff.next_delay(after);
                self.report.retries += 1;
                tracing::warn!(output = self.output.name(), %reason, ?delay, "output asked to retry");
                Ok(Delivery::Retry { delay })
            }
            Err(OutputError::Fatal { reason }) => Err(ForwarderError::Output {
                output: self.output.name().to_owned(),
                reason,
            }),
        }
    }

    fn count_delivered(&mut self, lane: Lane, n: usize) {
        let n = n as u64;
        match lane {
            Lane::Urgent => self.report.urgent_delivered += n,
            Lane::Bulk => {
                self.report.bulk_delivered += n;
                self.bucket.take(n, Instant::now());
                self.shallow_since = None;
            }
        }
        self.report.batches += 1;
        self.backoff.reset();
    }

    /// After shutdown: deliver what is pending, urgent first, without
    /// pacing or retries, until empty or the deadline.
    async fn drain_before_exit(&mut self) -> Result<(), ForwarderError> {
        let stop_by = *self
            .stop_by
            .get_or_init(|| Instant::now() + self.cfg.shutdown_deadline);
        while Instant::now() < stop_by {
            let urgent = self
                .source
                .peek(Lane::Urgent, 0, self.cfg.batch_max)
                .await?;
            let delivery = if urgent.is_empty() {
                self.top_up_bulk(self.cfg.batch_max).await?;
                if self.pending_bulk.is_empty() {
                    return Ok(());
                }
                self.deliver_pending_bulk().await?
            } else {
                self.deliver(&urgent).await?
            };
            if !matches!(delivery, Delivery::Accepted) {
                break;
            }
        }
        self.top_up_bulk(1).await?;
        let urgent_left = !self.source.peek(Lane::Urgent, 0, 1).await?.is_empty();
        self.report.left_pending = urgent_left || !self.pending_bulk.is_empty();
        Ok(())
    }

    /// Sleeps until `until`, shutdown, or (if `wake_on_append`) an append.
    /// Cursor acks that fall due meanwhile (no append carried them) are
    /// written first.
    async fn wait(&mut self, until: Instant, wake_on_append: bool) {
        loop {
            let due = self.journal.acks_due_in();
            let changes = &mut self.changes;
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep_until(until) => return,
                _ = changes.changed(), if wake_on_append => return,
                () = tokio::time::sleep(due.unwrap_or_default()), if due.is_some() => {
                    self.write_acks().await;
                }
            }
        }
    }

    /// Writes the pending cursor acks on the blocking pool.
    async fn write_acks(&mut self) {
        let journal = self.journal.clone();
        if let Err(e) = blocking(move || journal.persist_acks()).await {
            tracing::warn!(output = self.output.name(), error = %e, "cursor not written; the next append carries it");
        }
    }
}

/// Resolves when shutdown was requested and its deadline has passed.
async fn shutdown_cut_off(
    shutdown: &CancellationToken,
    stop_by: &OnceLock<Instant>,
    deadline: Duration,
) {
    shutdown.cancelled().await;
    let at = *stop_by.get_or_init(|| Instant::now() + deadline);
    tokio::time::sleep_until(at).await;
}

/// The output's journal reader, used from blocking threads.
struct Source(Arc<Mutex<JournalReader>>);

impl Source {
    /// Up to `max` entries after the cursor and after position `after`:
    /// from memory when the journal still holds them there, else from the
    /// file on the blocking pool.
    async fn peek(&self, lane: Lane, after: u64, max: usize) -> Result<Vec<Entry>, ForwarderError> {
        let cached = self
            .0
            .lock()
            .map_err(|_| JournalError::Poisoned)?
            .peek_cached(lane, after, max);
        match cached {
            Some(entries) => Ok(entries),
            None => {
                self.with_reader(move |r| r.peek_after(lane, after, max))
                    .await
            }
        }
    }

    /// Whether the journal still holds the entry at `pos` of `lane` (not
    /// yet acknowledged by this output).
    async fn holds(&self, lane: Lane, pos: u64) -> Result<bool, ForwarderError> {
        let at = self.peek(lane, pos.saturating_sub(1), 1).await?;
        Ok(at.first().is_some_and(|e| e.pos == pos))
    }

    /// Acknowledges a delivered batch in memory; the journal writes it
    /// with its next transaction (see [`Forwarder::wait`] for quiet
    /// moments).
    fn ack(&self, batch: &[Entry]) -> Result<(), ForwarderError> {
        self.0
            .lock()
            .map_err(|_| JournalError::Poisoned)?
            .ack_batch(batch)?;
        Ok(())
    }

    async fn with_reader<T, F>(&self, f: F) -> Result<T, ForwarderError>
    where
        T: Send + 'static,
        F: FnOnce(&mut JournalReader) -> Result<T, JournalError> + Send + 'static,
    {
        let reader = Arc::clone(&self.0);
        blocking(move || {
            let mut reader = reader.lock().map_err(|_| JournalError::Poisoned)?;
            f(&mut reader)
        })
        .await
    }
}

/// Runs a journal call on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, ForwarderError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, JournalError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ForwarderError::Task(e.to_string()))?
        .map_err(ForwarderError::from)
}

/// Paces bulk delivery: `rate` entries per second, bursts up to `burst`.
struct TokenBucket {
    /// Entries per second; `None` is unlimited.
    rate: Option<f64>,
    burst: usize,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// The burst is at most one second of tokens, so a wait for a batch
    /// never exceeds one second.
    fn new(rate: u32, batch_max: usize, now: Instant) -> Self {
        let batch_max = batch_max.max(1);
        let (rate, burst) = match rate {
            0 => (None, batch_max),
            r => (Some(f64::from(r)), batch_max.min(r as usize)),
        };
        Self {
            rate,
            burst,
            tokens: burst as f64,
            updated: now,
        }
    }

    /// Largest batch worth asking for.
    fn burst(&self) -> usize {
        self.burst
    }

    fn refill(&mut self, now: Instant) {
        if let Some(rate) = self.rate {
            let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(self.burst as f64);
        }
        self.updated = now;
    }

    /// `None` if `n` entries may go now, else when they may.
    fn ready_at(&mut self, n: usize, now: Instant) -> Option<Instant> {
        let rate = self.rate?;
        self.refill(now);
        let missing = n.min(self.burst) as f64 - self.tokens;
        (missing > 0.0).then(|| now + Duration::from_secs_f64(missing / rate))
    }

    fn take(&mut self, n: u64, now: Instant) {
        self.refill(now);
        self.tokens = (self.tokens - n as f64).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{NewRecord, RecordClass};

    /// An output whose store is away.
    struct Away;

    impl Output for Away {
        fn name(&self) -> &str {
            "away"
        }

        async fn deliver(&mut self, _: &[Entry]) -> Result<(), OutputError> {
            Err(OutputError::Retry {
                reason: "away".into(),
                after: None,
            })
        }
    }

    fn forwarder(journal: &Journal) -> Forwarder<Away> {
        let reader = journal.reader("away").unwrap();
        let cfg = ForwarderConfig::default();
        Forwarder::new(journal, reader, Away, cfg, CancellationToken::new())
    }

    fn append_telemetry(journal: &Journal, n: usize) {
        let records: Vec<NewRecord> = (0..n)
            .map(|_| NewRecord {
                class: RecordClass::Telemetry,
                payload: vec![b'x'; 1000],
            })
            .collect();
        journal.append(&records).unwrap();
    }

    fn pending(f: &Forwarder<Away>) -> Vec<u64> {
        f.pending_bulk.iter().map(|e| e.pos).collect()
    }

    #[tokio::test]
    async fn a_batch_the_size_bound_began_to_drop_is_not_topped_up() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = JournalConfig {
            max_bytes: 64 * 1024,
            ..JournalConfig::default()
        };
        let journal = Journal::open(dir.path(), &cfg, &["away"]).unwrap();
        let mut f = forwarder(&journal);
        append_telemetry(&journal, 10);
        f.top_up_bulk(1000).await.unwrap();
        assert_eq!(pending(&f), (1..=10).collect::<Vec<_>>());
        f.deliver_pending_bulk().await.unwrap();
        // Topped up while the journal holds all of it.
        append_telemetry(&journal, 5);
        f.top_up_bulk(1000).await.unwrap();
        assert_eq!(pending(&f), (1..=15).collect::<Vec<_>>());
        // 75 records of 1,032 accounted bytes: the 12 oldest are dropped,
        // the batch in flight stays what the journal held.
        append_telemetry(&journal, 60);
        f.top_up_bulk(1000).await.unwrap();
        assert_eq!(pending(&f), (1..=15).collect::<Vec<_>>());
        let left = f.source.peek(Lane::Bulk, 0, 1000).await.unwrap();
        assert_eq!(left.first().map(|e| e.pos), Some(13));
    }

    #[test]
    fn token_bucket_paces_batches_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, 500, start);
        assert_eq!(bucket.burst(), 500);
        assert_eq!(bucket.ready_at(500, start), None);
        bucket.take(500, start);
        let ready = bucket.ready_at(500, start).unwrap();
        assert_eq!(ready - start, Duration::from_millis(500));
        assert_eq!(
            bucket.ready_at(250, start + Duration::from_millis(250)),
            None
        );
    }

    #[test]
    fn token_bucket_burst_is_at_most_one_second() {
        let now = Instant::now();
        assert_eq!(TokenBucket::new(10, 1000, now).burst(), 10);
        let mut unlimited = TokenBucket::new(0, 1000, now);
        assert_eq!(unlimited.burst(), 1000);
        unlimited.take(1_000_000, now);
        assert_eq!(unlimited.ready_at(1000, now), None);
    }
}

//! Runs the [`RuleBook`](super::RuleBook): the presence task hands it the
//! readings the links accepted, a batch at a time, through a [`RulesFeed`]
//! (bounded: the presence task waits while the rules are behind; the links
//! never wait for either); the alarm readings it calls for are committed
//! through the intake like any reading.

use retrofit_protocols::reading::Reading;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use retrofit_protocols::KnownEvent;

use super::{Active, RuleBook};
use crate::intake::{record_of, Intake, Submission};
use crate::upkeep::store::HistoryStore;

/// Batches of accepted readings waiting for the rules; while this many
/// wait, the sender waits.
const BATCHES_WAITING: usize = 4;

/// Hands accepted readings to the rules, a batch at a time.
#[derive(Clone)]
pub struct RulesFeed {
    tx: mpsc::Sender<Vec<Reading>>,
}

impl RulesFeed {
    /// Waits while [`BATCHES_WAITING`] batches wait; a stopped rules task
    /// takes nothing.
    pub async fn observe(&self, readings: Vec<Reading>) {
        let _ = self.tx.send(readings).await;
    }
}

/// Starts the rules task; it stops with `stop`.
pub fn start(
    mut book: RuleBook,
    intake: Intake,
    stop: CancellationToken,
) -> (RulesFeed, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Vec<Reading>>(BATCHES_WAITING);
    let task = tokio::spawn(async move {
        let site = intake.identity().site.clone();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            let now = crate::clock::now();
            let alarms = tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => book.tick(&site, now),
                Some(batch) = rx.recv() => batch.iter().flat_map(|r| book.observe(r, now.as_millis())).collect(),
                else => return,
            };
            if alarms.is_empty() {
                continue;
            }
            let records = alarms.iter().map(record_of).collect();
            if intake.submit(Submission::new(records, None)).await.is_err() {
                return;
            }
        }
    });
    (RulesFeed { tx }, task)
}

/// The rule book of `config`, with the rule alarms still active in the
/// kept history taken back (same `alarm_id` after a restart).
pub fn book_for(config: &crate::config::Config, history: Option<&HistoryStore>) -> RuleBook {
    let mut book = RuleBook::new(config.rules.clone(), &config.devices);
    let active = history.map(HistoryStore::active_alarms).transpose();
    match active {
        Ok(alarms) => {
            for a in alarms.into_iter().flatten() {
                let event = a.event.as_str().parse::<KnownEvent>().ok();
                if let Some(event) = event.filter(|e| super::RULE_EVENTS.contains(e)) {
                    let held = Active {
                        alarm_id: a.alarm_id,
                        severity: a.severity,
                    };
                    book.restore(a.device, event, held);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read active alarms; rule alarms start afresh"),
    }
    book
}

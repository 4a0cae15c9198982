//! Keeping one bus's counter totals across restarts (`TotalsKeeper`):
//! loads the saved totals when the link starts, takes each reading's
//! totals once the intake has committed that reading, and saves them to
//! the [`CounterTotals`] store on the blocking pool: at once after a
//! rollover or a reset, otherwise at most every [`SAVE_INTERVAL`], and
//! when the link stops (once the readings already handed to the intake are
//! committed, waited for at most [`LAST_COMMITS`]).
//!
//! A total is saved only after the reading that carried it was committed,
//! so a saved total never runs ahead of what was published. A store that
//! cannot be opened or written is logged and counted, and the totals live
//! on in memory; polling never waits for the disk.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use retrofit_protocols::Id;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::counter_store::{CounterPoint, CounterTotals, CounterTotalsError, SavedTotal};
use super::totals::{Snapshot, Total};
use crate::counters::Counters;

/// Longest a committed total waits to be saved (after a rollover or a
/// reset it is saved at once).
const SAVE_INTERVAL: Duration = Duration::from_secs(60);
/// Longest the last save waits, when the link stops, for the readings
/// already handed to the intake to be committed.
const LAST_COMMITS: Duration = Duration::from_secs(3);
/// The store's name in the failure counter.
const STORE: &str = "modbus_totals";

/// One bus's totals on their way to the disk.
pub struct TotalsKeeper {
    link: Id,
    store: Option<CounterTotals>,
    shared: Arc<Shared>,
    counters: Arc<Counters>,
}

/// What the intake's acknowledgements share with the keeper.
struct Shared {
    /// Committed totals not saved yet.
    committed: Mutex<HashMap<Arc<CounterPoint>, Total>>,
    /// A rollover or reset was committed.
    urgent: Notify,
    /// Readings handed to the intake whose totals are still pending.
    in_flight: watch::Sender<usize>,
}

/// A reading's totals on their way through the intake:
/// [`Pending::committed`] once the reading is durable; dropped without
/// that (the intake gave up), they are forgotten.
pub struct Pending {
    shared: Arc<Shared>,
    snapshot: Snapshot,
}

impl Pending {
    /// The reading is committed: its totals are due for saving.
    pub fn committed(mut self) {
        let snapshot = std::mem::take(&mut self.snapshot);
        if let Ok(mut committed) = self.shared.committed.lock() {
            committed.extend(snapshot.totals);
        }
        if snapshot.turned {
            self.shared.urgent.notify_one();
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.shared
            .in_flight
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl TotalsKeeper {
    /// Opens the store in `data_dir` and loads what it holds, on the
    /// blocking pool; without a store the totals are kept in memory.
    pub async fn open(
        link: &Id,
        data_dir: &Path,
        counters: &Arc<Counters>,
    ) -> (Self, Vec<SavedTotal>) {
        let dir = data_dir.to_path_buf();
        let opened = tokio::task::spawn_blocking(move || {
            let store = CounterTotals::open(&dir)?;
            let saved = store.load()?;
            Ok::<_, CounterTotalsError>((store, saved))
        })
        .await
        .unwrap_or(Err(CounterTotalsError::Task));
        let (store, saved) = match opened {
            Ok((store, saved)) => (Some(store), saved),
            Err(e) => {
                tracing::error!(%link, error = %e, "cannot open the counter totals; they are kept in memory only");
                counters.state_store_failure(STORE);
                (None, Vec::new())
            }
        };
        let keeper = Self {
            link: link.clone(),
            store,
            shared: Arc::new(Shared {
                committed: Mutex::default(),
                urgent: Notify::new(),
                in_flight: watch::Sender::new(0),
            }),
            counters: counters.clone(),
        };
        (keeper, saved)
    }

    /// The totals of a reading about to be handed to the intake; `None`
    /// when there is nothing to save them to.
    pub fn pending(&self, snapshot: Snapshot) -> Option<Pending> {
        if self.store.is_none() || snapshot.totals.is_empty() {
            return None;
        }
        self.shared.in_flight.send_modify(|n| *n += 1);
        Some(Pending {
            shared: self.shared.clone(),
            snapshot,
        })
    }

    /// Saves what is committed until `stop`: at once after a rollover or
    /// reset, otherwise every [`SAVE_INTERVAL`].
    pub async fn keep(&self, stop: &CancellationToken) {
        let Some(store) = &self.store else { return };
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.shared.urgent.notified() => {}
                _ = tokio::time::sleep(SAVE_INTERVAL) => {}
            }
            self.save(store).await;
        }
    }

    /// The last save, once the link has stopped polling: waits (at most
    /// [`LAST_COMMITS`]) for the readings handed over to be committed.
    pub async fn finish(&self) {
        let Some(store) = &self.store else { return };
        let mut in_flight = self.shared.in_flight.subscribe();
        let committed = tokio::time::timeout(LAST_COMMITS, in_flight.wait_for(|n| *n == 0));
        if committed.await.is_err() {
            tracing::warn!(link = %self.link, "readings not committed in time: their counter totals are not saved");
        }
        self.save(store).await;
    }

    /// Saves the committed totals on the blocking pool; after a failure
    /// they wait for the next save (unless newer ones came).
    async fn save(&self, store: &CounterTotals) {
        let totals = match self.shared.committed.lock() {
            Ok(mut committed) => std::mem::take(&mut *committed),
            Err(_) => return,
        };
        if totals.is_empty() {
            return;
        }
        let store = store.clone();
        let saved = tokio::task::spawn_blocking(move || {
            let result = store.save(totals.iter().map(|(p, t)| (p.as_ref(), t)));
            (totals, result)
        })
        .await;
        let (totals, error) = match saved {
            Ok((_, Ok(()))) => return,
            Ok((totals, Err(e))) => (totals, e),
            Err(_) => (HashMap::new(), CounterTotalsError::Task),
        };
        tracing::warn!(link = %self.link, error = %error, "cannot save the counter totals; kept in memory");
        self.counters.state_store_failure(STORE);
        if let Ok(mut committed) = self.shared.committed.lock() {
            for (point, total) in totals {
                committed.entry(point).or_insert(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(point: &str, last_raw: f64, turned: bool) -> Snapshot {
        let point = CounterPoint {
            device: "rain-3".into(),
            point: point.into(),
            metric: "rain_mm_total".into(),
            register: "u16".into(),
        };
        Snapshot {
            totals: vec![(Arc::new(point), Total::saved(last_raw, last_raw * 0.2))],
            turned,
        }
    }

    fn saved(dir: &Path) -> Vec<(String, f64)> {
        let mut rows: Vec<_> = CounterTotals::open(dir)
            .unwrap()
            .load()
            .unwrap()
            .into_iter()
            .map(|s| (s.point.point, s.total.last_raw()))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }

    async fn keeper(dir: &Path) -> (TotalsKeeper, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        let link = Id::parse("bus").unwrap();
        let (keeper, loaded) = TotalsKeeper::open(&link, dir, &counters).await;
        assert!(loaded.is_empty());
        (keeper, counters)
    }

    #[tokio::test]
    async fn a_store_that_cannot_open_is_counted_and_totals_stay_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let (keeper, counters) = keeper(&dir.path().join("missing")).await;
        let failures = counters.state_store_failures_snapshot();
        assert_eq!(failures.get(STORE), Some(&1));
        assert!(keeper.pending(snapshot("tips", 1.0, true)).is_none());
        keeper.finish().await;
    }

    #[tokio::test]
    async fn a_rollover_is_saved_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (keeper, _) = keeper(dir.path()).await;
        let stop = CancellationToken::new();
        let saved_soon = async {
            keeper
                .pending(snapshot("tips", 3.0, true))
                .unwrap()
                .committed();
            // Far sooner than SAVE_INTERVAL, or not at all.
            let seen = tokio::time::timeout(Duration::from_secs(10), async {
                while saved(dir.path()).is_empty() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            });
            let seen = seen.await.is_ok();
            stop.cancel();
            seen
        };
        let ((), seen) = tokio::join!(keeper.keep(&stop), saved_soon);
        assert!(seen, "the rollover was not saved at once");
        assert_eq!(saved(dir.path()), [("tips".to_string(), 3.0)]);
    }

    #[tokio::test]
    async fn the_last_save_waits_for_commits_and_skips_what_was_not_committed() {
        let dir = tempfile::tempdir().unwrap();
        let (keeper, _) = keeper(dir.path()).await;
        keeper
            .pending(snapshot("tips", 10.0, false))
            .unwrap()
            .committed();
        let later = keeper.pending(snapshot("tips", 20.0, false)).unwrap();
        let given_up = keeper.pending(snapshot("other", 5.0, false)).unwrap();
        assert!(
            saved(dir.path()).is_empty(),
            "nothing urgent: not saved yet"
        );
        drop(given_up);
        tokio::join!(keeper.finish(), async { later.committed() });
        assert_eq!(saved(dir.path()), [("tips".to_string(), 20.0)]);
    }
}

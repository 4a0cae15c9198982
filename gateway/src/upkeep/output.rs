//! The `history` output: a third journal output, driven by the forwarder
//! like the MQTT and store sinks, that records every reading into the kept
//! history at least once (the history is idempotent, so replays from the
//! journal change nothing) and applies the history's bound now and then.
//!
//! It never drops an entry it could not record: a failed write is a retry,
//! so the journal keeps the entry until the history has it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use retrofit_protocols::reading::Reading;

use super::store::HistoryStore;
use crate::forwarder::{Output, OutputError};
use crate::journal::{Entry, RecordClass};

/// The journal output name of the history.
pub const OUTPUT_NAME: &str = "history";

/// How often retention and the size bound are applied.
const BOUND_EVERY: Duration = Duration::from_secs(60);

/// Feeds the kept history from the journal.
pub struct HistoryOutput {
    store: HistoryStore,
    bounded_at: Option<Instant>,
}

impl HistoryOutput {
    pub fn new(store: HistoryStore) -> Self {
        Self {
            store,
            bounded_at: None,
        }
    }
}

fn retry(reason: impl ToString) -> OutputError {
    OutputError::Retry {
        reason: reason.to_string(),
        after: None,
    }
}

/// The readings of a batch; dead letters and (never expected) undecodable
/// payloads are skipped.
fn readings(batch: &[Entry]) -> Vec<Arc<Reading>> {
    batch
        .iter()
        .filter(|e| e.class != RecordClass::DeadLetter)
        .filter_map(|e| match e.reading() {
            Ok(r) => Some(r),
            Err(err) => {
                tracing::warn!(pos = e.pos, error = %err, "journal entry is not a reading; not kept in history");
                None
            }
        })
        .collect()
}

impl Output for HistoryOutput {
    fn name(&self) -> &str {
        OUTPUT_NAME
    }

    async fn deliver(&mut self, batch: &[Entry]) -> Result<(), OutputError> {
        let readings = readings(batch);
        let bound = self.bounded_at.is_none_or(|t| t.elapsed() >= BOUND_EVERY);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            store.record(&readings)?;
            if bound {
                store.enforce_bound(crate::clock::now().as_millis())?;
            }
            Ok::<_, super::store::StoreError>(())
        })
        .await
        .map_err(retry)?
        .map_err(retry)?;
        if bound {
            self.bounded_at = Some(Instant::now());
        }
        Ok(())
    }
}

//! Counters of what the links accepted and rejected, by source and reason
//! (spec §13), read by `/metrics` and the demo summary.
//!
//! Cheap to update from any task; never holds a lock across an await.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Accepted and rejected inputs.
#[derive(Debug, Default)]
pub struct Counters {
    accepted: Mutex<BTreeMap<String, u64>>,
    rejected: Mutex<BTreeMap<(String, String), u64>>,
}

impl Counters {
    pub fn accepted(&self, source: &str) {
        if let Ok(mut m) = self.accepted.lock() {
            *m.entry(source.to_string()).or_default() += 1;
        }
    }

    pub fn rejected(&self, source: &str, reason: &str) {
        if let Ok(mut m) = self.rejected.lock() {
            *m.entry((source.to_string(), reason.to_string()))
                .or_default() += 1;
        }
    }

    /// Accepted inputs per source.
    pub fn accepted_snapshot(&self) -> BTreeMap<String, u64> {
        self.accepted.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Rejected inputs per (source, reason).
    pub fn rejected_snapshot(&self) -> BTreeMap<(String, String), u64> {
        self.rejected.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

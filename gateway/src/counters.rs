//! Counters of what the links accepted, rejected (by source and reason,
//! spec §13), saw lost (gaps in a device's own sequence) and left unread
//! (vendor keys no codec map entry names, per device), and of the
//! outcome of every request a polling link made to a device (Modbus:
//! `ok`, `timeout`, `crc_error`, `short_frame`, `garbled`, `exception`,
//! and `delivered` once a poll's reading is committed), read by the
//! gateway's periodic self-report, the demo summary and `/metrics`; and
//! the failures of the small state stores links keep in the data
//! directory (Modbus counter totals).
//!
//! Cheap to update from any task; never holds a lock across an await.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Accepted, rejected and lost inputs.
#[derive(Debug, Default)]
pub struct Counters {
    /// Accepted inputs per link, with the link's source.
    accepted: Mutex<BTreeMap<String, (&'static str, u64)>>,
    rejected: Mutex<BTreeMap<(String, String), u64>>,
    lost: Mutex<BTreeMap<String, u64>>,
    requests: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Vendor keys no codec map entry reads, per device.
    ignored_keys: Mutex<BTreeMap<String, u64>>,
    /// Failed opens and writes of a link's state store, per store.
    state_store_failures: Mutex<BTreeMap<String, u64>>,
}

/// Sums over every source, for the gateway's own telemetry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub accepted: u64,
    pub rejected: u64,
    pub lost: u64,
}

impl Counters {
    /// Counts one input `link` (of `source`) accepted; allocates only the
    /// first time a link counts.
    pub fn accepted(&self, source: &'static str, link: &str) {
        if let Ok(mut m) = self.accepted.lock() {
            match m.get_mut(link) {
                Some((_, n)) => *n += 1,
                None => {
                    m.insert(link.to_string(), (source, 1));
                }
            }
        }
    }

    pub fn rejected(&self, source: &str, reason: &str) {
        if let Ok(mut m) = self.rejected.lock() {
            *m.entry((source.to_string(), reason.to_string()))
                .or_default() += 1;
        }
    }

    /// Counts readings a device's sequence shows were never received.
    pub fn lost(&self, source: &str, n: u64) {
        add(&self.lost, source, n);
    }

    /// Counts one request to `device` that ended with `outcome`.
    pub fn request(&self, device: &str, outcome: &'static str) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((device.to_string(), outcome)).or_default() += 1;
        }
    }

    /// Requests per (device, outcome).
    pub fn requests_snapshot(&self) -> BTreeMap<(String, &'static str), u64> {
        self.requests.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Counts vendor keys a device sent that its codec map does not read.
    pub fn ignored_keys(&self, device: &str, n: u64) {
        add(&self.ignored_keys, device, n);
    }

    /// Ignored vendor keys per device.
    pub fn ignored_keys_snapshot(&self) -> BTreeMap<String, u64> {
        self.ignored_keys
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Accepted inputs per source.
    /// Accepted inputs per (source, link).
    pub fn accepted_snapshot(&self) -> BTreeMap<(String, String), u64> {
        self.accepted
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(link, (source, n))| ((source.to_string(), link.clone()), *n))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rejected inputs per (source, reason).
    pub fn rejected_snapshot(&self) -> BTreeMap<(String, String), u64> {
        self.rejected.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Lost readings per source.
    pub fn lost_snapshot(&self) -> BTreeMap<String, u64> {
        self.lost.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Counts a failed open or write of the state store `store`.
    pub fn state_store_failure(&self, store: &str) {
        add(&self.state_store_failures, store, 1);
    }

    /// Failed opens and writes per state store.
    pub fn state_store_failures_snapshot(&self) -> BTreeMap<String, u64> {
        self.state_store_failures
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    pub fn totals(&self) -> Totals {
        Totals {
            accepted: self.accepted_snapshot().values().sum(),
            rejected: self.rejected_snapshot().values().sum(),
            lost: self.lost_snapshot().values().sum(),
        }
    }
}

/// Adds without allocating a key once the source is known.
fn add(map: &Mutex<BTreeMap<String, u64>>, source: &str, n: u64) {
    if n == 0 {
        return;
    }
    if let Ok(mut m) = map.lock() {
        match m.get_mut(source) {
            Some(count) => *count += n,
            None => {
                m.insert(source.to_string(), n);
            }
        }
    }
}

//! Whether each output is delivering, how much it delivered and how long
//! its batches took (for `/healthz` and `/metrics`): an [`Output`] wrapped
//! in [`Watched`] records every batch it is offered, without changing what
//! it does.
//!
//! It never retries, buffers or alters a batch; it only observes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

use crate::forwarder::{Output, OutputError};
use crate::journal::Entry;

/// The state of one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing offered yet, or the last batch was accepted.
    Delivering,
    /// Batches fail since `since`; `reason` is the latest error.
    Failing { since: SystemTime, reason: String },
}

/// Labels of the batch latency histogram: the output's name.
pub type OutputLabel = Vec<(&'static str, String)>;

/// Seconds a batch took to deliver, per output.
pub type BatchLatency = Family<OutputLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// One output's state and what it delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputState {
    pub delivery: Delivery,
    /// Entries of accepted batches.
    pub delivered: u64,
}

/// The delivery state of every output, shared with the HTTP API.
#[derive(Debug, Clone)]
pub struct OutputHealth {
    states: Arc<Mutex<BTreeMap<String, OutputState>>>,
    latency: BatchLatency,
}

impl Default for OutputHealth {
    fn default() -> Self {
        Self {
            states: Arc::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl OutputHealth {
    /// Registers `name` as delivering (an output with nothing to deliver
    /// is healthy).
    pub fn register(&self, name: &str) {
        if let Ok(mut m) = self.states.lock() {
            m.entry(name.to_string()).or_insert(OutputState {
                delivery: Delivery::Delivering,
                delivered: 0,
            });
        }
    }

    /// Every output's state, by name.
    pub fn snapshot(&self) -> BTreeMap<String, OutputState> {
        self.states.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The batch latency histogram (for `/metrics`).
    pub fn latency(&self) -> &BatchLatency {
        &self.latency
    }

    fn record(&self, name: &str, entries: usize, outcome: &Result<(), OutputError>) {
        self.register(name);
        let Ok(mut m) = self.states.lock() else {
            return;
        };
        let Some(state) = m.get_mut(name) else { return };
        match outcome {
            Ok(()) => {
                state.delivery = Delivery::Delivering;
                state.delivered += entries as u64;
            }
            Err(e) => {
                let since = match &state.delivery {
                    Delivery::Failing { since, .. } => *since,
                    Delivery::Delivering => SystemTime::now(),
                };
                state.delivery = Delivery::Failing {
                    since,
                    reason: e.to_string(),
                };
            }
        }
    }
}

/// An output whose outcomes are recorded in an [`OutputHealth`].
pub struct Watched<O> {
    inner: O,
    health: OutputHealth,
}

impl<O: Output> Watched<O> {
    pub fn new(inner: O, health: OutputHealth) -> Self {
        health.register(inner.name());
        Self { inner, health }
    }
}

impl<O: Output> Output for Watched<O> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn deliver(&mut self, batch: &[Entry]) -> Result<(), OutputError> {
        let started = Instant::now();
        let outcome = self.inner.deliver(batch).await;
        let name = self.inner.name();
        self.health
            .latency
            .get_or_create(&vec![("output", name.to_string())])
            .observe(started.elapsed().as_secs_f64());
        self.health.record(name, batch.len(), &outcome);
        outcome
    }

    async fn close(&mut self) {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_keeps_its_start_and_recovers_on_the_next_accepted_batch() {
        let health = OutputHealth::default();
        health.register("influx");
        let retry = |r: &str| {
            Err(OutputError::Retry {
                reason: r.into(),
                after: None,
            })
        };
        health.record("influx", 3, &Ok(()));
        health.record("influx", 5, &retry("down"));
        let state = |h: &OutputHealth| h.snapshot().remove("influx").unwrap();
        let Delivery::Failing { since, .. } = state(&health).delivery else {
            panic!("not failing")
        };
        health.record("influx", 5, &retry("still down"));
        match state(&health).delivery {
            Delivery::Failing { since: s, reason } => {
                assert_eq!(s, since);
                assert!(reason.contains("still down"));
            }
            other => panic!("{other:?}"),
        }
        health.record("influx", 5, &Ok(()));
        assert_eq!(
            state(&health),
            OutputState {
                delivery: Delivery::Delivering,
                delivered: 8
            }
        );
    }
}

//! Shared helpers for the application tests: deterministic noise and a run
//! log of alarm transitions and telemetry.

#![allow(dead_code)]

use retrofit_firmware::apps::{EventTransition, NodeApp, NodeEvent, Telemetry};
use retrofit_protocols::{EventState, Value};

/// Deterministic pseudo-random noise (xorshift64*).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// Uniform in [-amplitude, amplitude].
    pub fn next(&mut self, amplitude: f64) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        (unit * 2.0 - 1.0) * amplitude
    }
}

/// What a run produced, with times.
#[derive(Default)]
pub struct RunLog {
    pub events: Vec<(u64, EventTransition)>,
    pub telemetry: Vec<(u64, Telemetry)>,
}

impl RunLog {
    /// Feeds one sample to `app` and records its output.
    pub fn step<A: NodeApp>(&mut self, app: &mut A, sample: &A::Sample, now_ms: u64) {
        let out = app
            .update(sample, now_ms)
            .expect("outputs are always buildable");
        self.events.extend(out.events.iter().map(|e| (now_ms, *e)));
        if let Some(t) = out.telemetry {
            self.telemetry.push((now_ms, t));
        }
    }

    /// Times and states of one event's transitions.
    pub fn of(&self, event: NodeEvent) -> Vec<(u64, EventState)> {
        self.events
            .iter()
            .filter(|(_, e)| e.event == event)
            .map(|(t, e)| (*t, e.state))
            .collect()
    }

    /// The last reported value of a metric.
    pub fn last(&self, metric: &str) -> Option<Value> {
        self.telemetry
            .iter()
            .rev()
            .find_map(|(_, t)| t.get(metric).cloned())
    }

    /// Every reported value of a metric, with times.
    pub fn series(&self, metric: &str) -> Vec<(u64, Value)> {
        self.telemetry
            .iter()
            .filter_map(|(at, t)| t.get(metric).map(|v| (*at, v.clone())))
            .collect()
    }
}

pub fn text(s: &str) -> Value {
    Value::text(s).unwrap()
}

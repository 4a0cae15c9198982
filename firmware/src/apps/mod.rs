//! Node applications, one per device kind: they turn raw samples into the
//! canonical model of spec §4 (metrics and alarm transitions).
//!
//! An application is pure state: [`NodeApp::update`] takes one sample and
//! the time and returns a [`NodeOutput`]. Where the sample comes from is a
//! [`SampleSource`]: a board built from the drivers, or the simulator's
//! physics. Applications never touch a bus, a clock or the heap.

pub mod battery;
pub mod drainage;
pub mod elevator;
pub mod event;
pub mod health;
pub mod output;
pub mod parking;
pub mod settings;

use retrofit_protocols::DeviceKind;

pub use event::{AlarmLatch, EventTransition, NodeEvent};
pub use health::{Faults, SensorHealth, SensorId};
pub use output::{NodeOutput, OutputError, ReportSchedule, Telemetry};
pub use settings::{Applied, Configurable, NoStore, SettingValues, SettingsStore};

/// Turns samples into telemetry and alarm transitions.
pub trait NodeApp {
    type Sample;

    /// The device kind whose model this application emits.
    const KIND: DeviceKind;

    fn update(&mut self, sample: &Self::Sample, now_ms: u64) -> Result<NodeOutput, OutputError>;
}

/// Produces one sample per poll (drivers on a board, or a simulation).
pub trait SampleSource {
    type Sample;

    fn sample(&mut self, now_ms: u64) -> Self::Sample;
}

/// A node: its sensors and its application.
#[derive(Debug)]
pub struct Node<S, A> {
    pub sensors: S,
    pub app: A,
}

impl<S, A> Node<S, A>
where
    S: SampleSource,
    A: NodeApp<Sample = S::Sample>,
{
    /// Samples the sensors once and runs the application on the sample.
    pub fn poll(&mut self, now_ms: u64) -> Result<NodeOutput, OutputError> {
        let sample = self.sensors.sample(now_ms);
        self.app.update(&sample, now_ms)
    }
}

//! The parking node's hardware: a magnetometer and an optional battery
//! gauge, read once per poll into a [`ParkingSample`]. A failed read becomes
//! a fault in the sample, never an error of the poll.

use super::ParkingSample;
use crate::apps::health::{Faults, SensorId};
use crate::apps::SampleSource;
use crate::sensor::{Magnetometer, PercentGauge};

/// The sensors of a parking node.
#[derive(Debug)]
pub struct ParkingBoard<M, B> {
    pub magnetometer: M,
    pub battery: Option<B>,
}

impl<M: Magnetometer, B: PercentGauge> SampleSource for ParkingBoard<M, B> {
    type Sample = ParkingSample;

    fn sample(&mut self, _now_ms: u64) -> ParkingSample {
        let mut faults = Faults::default();
        let field = faults
            .record(SensorId::Magnetometer, self.magnetometer.field())
            .flatten();
        let battery_pct = self
            .battery
            .as_mut()
            .and_then(|gauge| faults.record(SensorId::Battery, gauge.percent()));
        ParkingSample {
            field,
            battery_pct,
            faults,
        }
    }
}

//! The drainage node's hardware: a level gauge (ultrasonic or pressure
//! transmitter), the rain gauge's tip counter and an optional battery
//! gauge, read once per poll into a [`DrainageSample`]. A failed read
//! becomes a fault in the sample, never an error of the poll.

use super::DrainageSample;
use crate::apps::health::{Faults, SensorId};
use crate::apps::SampleSource;
use crate::sensor::{LevelGauge, PercentGauge, TipCount};

/// The sensors of a drainage node.
#[derive(Debug)]
pub struct DrainageBoard<L, T, B> {
    pub level: L,
    pub rain: T,
    pub battery: Option<B>,
}

impl<L: LevelGauge, T: TipCount, B: PercentGauge> SampleSource for DrainageBoard<L, T, B> {
    type Sample = DrainageSample;

    fn sample(&mut self, _now_ms: u64) -> DrainageSample {
        let mut faults = Faults::default();
        let level_m = faults.record(SensorId::Level, self.level.level_m());
        let battery_pct = self
            .battery
            .as_mut()
            .and_then(|gauge| faults.record(SensorId::Battery, gauge.percent()));
        DrainageSample {
            level_m,
            rain_tips: self.rain.tips(),
            battery_pct,
            faults,
        }
    }
}

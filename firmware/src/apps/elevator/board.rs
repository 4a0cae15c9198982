//! The elevator node's hardware: an accelerometer and debounced contacts
//! (door closed/open, leveling upper/lower, optional supply sense,
//! occupancy and mode keys) plus an optional load gauge, read once per poll
//! into an [`ElevatorSample`]. A failed read becomes a fault in the sample,
//! never an error of the poll.

use heapless::Vec;

use super::{DoorContacts, ElevatorMode, ElevatorSample, LevelingContacts};
use crate::apps::health::{Faults, SensorId};
use crate::apps::SampleSource;
use crate::sensor::{Accelerometer, BinaryInput, PercentGauge, SensorFault};

/// Most mode keys (inspection, fire, emergency power, out of service).
pub const MAX_MODE_KEYS: usize = 4;

/// The sensors of an elevator node.
#[derive(Debug)]
pub struct ElevatorBoard<A, I, G> {
    pub accelerometer: A,
    pub door_closed: I,
    pub door_open: I,
    pub level_upper: I,
    pub level_lower: I,
    pub supply: Option<I>,
    pub occupancy: Option<I>,
    pub load: Option<G>,
    /// Keys in priority order: the first active one sets the mode; none
    /// active means `normal`.
    pub mode_keys: Vec<(ElevatorMode, I), MAX_MODE_KEYS>,
}

fn pair<I: BinaryInput>(a: &mut I, b: &mut I, now_ms: u64) -> Result<(bool, bool), SensorFault> {
    Ok((a.is_active(now_ms)?, b.is_active(now_ms)?))
}

impl<A, I, G> ElevatorBoard<A, I, G>
where
    I: BinaryInput,
{
    fn mode(&mut self, faults: &mut Faults, now_ms: u64) -> ElevatorMode {
        let mut mode = None;
        for (key_mode, key) in self.mode_keys.iter_mut() {
            let active = faults.record(SensorId::ModeKeys, key.is_active(now_ms));
            if mode.is_none() && active == Some(true) {
                mode = Some(*key_mode);
            }
        }
        mode.unwrap_or(ElevatorMode::Normal)
    }
}

impl<A, I, G> SampleSource for ElevatorBoard<A, I, G>
where
    A: Accelerometer,
    I: BinaryInput,
    G: PercentGauge,
{
    type Sample = ElevatorSample;

    fn sample(&mut self, now_ms: u64) -> ElevatorSample {
        let mut faults = Faults::default();
        let acceleration =
            faults.record(SensorId::Accelerometer, self.accelerometer.acceleration());
        let door = faults
            .record(
                SensorId::DoorContacts,
                pair(&mut self.door_closed, &mut self.door_open, now_ms),
            )
            .map(|(closed, open)| DoorContacts { closed, open });
        let leveling = faults
            .record(
                SensorId::LevelingContacts,
                pair(&mut self.level_upper, &mut self.level_lower, now_ms),
            )
            .map(|(upper, lower)| LevelingContacts { upper, lower });
        let supply_ok = self
            .supply
            .as_mut()
            .and_then(|pin| faults.record(SensorId::SupplySense, pin.is_active(now_ms)));
        let occupied = self
            .occupancy
            .as_mut()
            .and_then(|pin| faults.record(SensorId::Occupancy, pin.is_active(now_ms)));
        let load_pct = self
            .load
            .as_mut()
            .and_then(|gauge| faults.record(SensorId::Load, gauge.percent()));
        let mode = self.mode(&mut faults, now_ms);
        ElevatorSample {
            acceleration,
            door,
            leveling,
            supply_ok,
            mode,
            occupied,
            load_pct,
            faults,
        }
    }
}

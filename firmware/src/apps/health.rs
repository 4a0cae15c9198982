//! Sensor health: which sensors failed this poll, and the `sensor_fault`
//! alarm raised when any sensor has failed several polls in a row and
//! cleared when all are healthy again. One flaky read never raises it.

use retrofit_protocols::Severity;

use super::event::{AlarmLatch, EventTransition, NodeEvent};

/// The sensors a node can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SensorId {
    Accelerometer,
    DoorContacts,
    LevelingContacts,
    SupplySense,
    ModeKeys,
    Occupancy,
    Load,
    Magnetometer,
    Level,
    Battery,
}

impl SensorId {
    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of sensors (those whose read failed in this sample).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults(u16);

impl Faults {
    pub fn insert(&mut self, sensor: SensorId) {
        self.0 |= sensor.bit();
    }

    pub fn contains(&self, sensor: SensorId) -> bool {
        self.0 & sensor.bit() != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The value of a read, recording the sensor as failed when it failed.
    pub fn record<T, E>(&mut self, sensor: SensorId, read: Result<T, E>) -> Option<T> {
        read.map_err(|_| self.insert(sensor)).ok()
    }

    /// `x` if it passes `valid` (e.g. is finite), recording the sensor as
    /// failed when it does not.
    pub fn checked<T>(
        &mut self,
        sensor: SensorId,
        x: Option<T>,
        valid: impl Fn(&T) -> bool,
    ) -> Option<T> {
        match x {
            Some(v) if !valid(&v) => {
                self.insert(sensor);
                None
            }
            other => other,
        }
    }
}

/// Consecutive failures per sensor and the `sensor_fault` alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorHealth {
    consecutive: [u8; 16],
    fault_after: u8,
    latch: AlarmLatch,
}

impl SensorHealth {
    /// Raises after `fault_after` consecutive failed polls of one sensor.
    pub const fn new(fault_after: u8) -> Self {
        Self {
            consecutive: [0; 16],
            fault_after,
            latch: AlarmLatch::new(NodeEvent::SensorFault),
        }
    }

    /// Feeds this poll's failures.
    pub fn update(&mut self, failed: Faults) -> Option<EventTransition> {
        for (bit, count) in self.consecutive.iter_mut().enumerate() {
            *count = if failed.0 & (1 << bit) != 0 {
                count.saturating_add(1)
            } else {
                0
            };
        }
        let threshold = self.fault_after.max(1);
        if self.consecutive.iter().any(|c| *c >= threshold) {
            self.latch.raise(Severity::Major)
        } else if failed.is_empty() {
            self.latch.clear()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrofit_protocols::EventState;

    fn failing(sensor: SensorId) -> Faults {
        let mut f = Faults::default();
        f.insert(sensor);
        f
    }

    #[test]
    fn raises_after_consecutive_failures_and_clears_when_all_recover() {
        let mut health = SensorHealth::new(3);
        let level = failing(SensorId::Level);
        assert_eq!(health.update(level), None);
        assert_eq!(health.update(Faults::default()), None);
        assert_eq!(health.update(level), None);
        assert_eq!(health.update(level), None);
        assert_eq!(health.update(level).unwrap().state, EventState::Raised);
        assert_eq!(health.update(level), None);
        // Another sensor still failing keeps the alarm up.
        assert_eq!(health.update(failing(SensorId::Battery)), None);
        assert_eq!(
            health.update(Faults::default()).unwrap().state,
            EventState::Cleared
        );
    }

    #[test]
    fn record_and_checked_mark_failures() {
        let mut f = Faults::default();
        assert_eq!(f.record::<u8, ()>(SensorId::Battery, Ok(7)), Some(7));
        assert!(f.is_empty());
        assert_eq!(f.record::<u8, ()>(SensorId::Battery, Err(())), None);
        assert_eq!(
            f.checked(SensorId::Level, Some(f32::NAN), |x| x.is_finite()),
            None
        );
        assert_eq!(
            f.checked(SensorId::Load, Some(1.0), |x: &f32| x.is_finite()),
            Some(1.0)
        );
        assert!(f.contains(SensorId::Battery) && f.contains(SensorId::Level));
        assert!(!f.contains(SensorId::Magnetometer));
    }
}

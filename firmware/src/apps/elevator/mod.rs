//! The elevator node: car motion from an accelerometer, floor from the
//! leveling sensors, door from its end contacts, and the elevator alarms
//! (spec §4: `floor`, `direction`, `moving`, `door`, `mode`, `occupied`,
//! `load_pct`, `trips_total`, `door_cycles_total`, plus `speed_mps`;
//! `entrapment`, `door_fault`, `stopped_outside_landing`, `power_loss`,
//! `sensor_fault`).
//!
//! A snapshot is sent whenever floor, direction, motion, door, mode or
//! occupancy changes, and at least every `report_interval_ms`. This module
//! never reads hardware: [`ElevatorBoard`] (or a simulation) produces the
//! [`ElevatorSample`].

mod board;
pub mod detectors;
pub mod door;
pub mod leveling;
pub mod motion;

use retrofit_protocols::edge::Setting;
use retrofit_protocols::DeviceKind;

pub use board::ElevatorBoard;
pub use detectors::{
    CarState, DoorFaultConfig, DoorFaultDetector, EntrapmentDetector, PowerLossDetector,
    StoppedOutsideLandingDetector,
};
pub use door::{DoorState, DoorTracker};
pub use leveling::LevelingDecoder;
pub use motion::{Direction, Motion, MotionConfig, MotionEstimator, TripCounter, VerticalAxis};

use super::health::{Faults, SensorHealth, SensorId};
use super::output::{NodeOutput, OutputError, ReportSchedule, Telemetry};
use super::settings::{ms_as_s, s_as_ms, Configurable, SettingValues};
use super::NodeApp;
use crate::error::ConfigError;
use crate::sensor::Vector3;

/// The model's `mode` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElevatorMode {
    Normal,
    Inspection,
    Fire,
    EmergencyPower,
    OutOfService,
}

impl ElevatorMode {
    pub const ALL: [ElevatorMode; 5] = [
        Self::Normal,
        Self::Inspection,
        Self::Fire,
        Self::EmergencyPower,
        Self::OutOfService,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Inspection => "inspection",
            Self::Fire => "fire",
            Self::EmergencyPower => "emergency_power",
            Self::OutOfService => "out_of_service",
        }
    }
}

/// Door end-of-travel contacts, debounced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorContacts {
    pub closed: bool,
    pub open: bool,
}

/// Leveling sensors, debounced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelingContacts {
    pub upper: bool,
    pub lower: bool,
}

/// One poll's inputs; `None` where a sensor is absent or failed (then its
/// id is in `faults`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElevatorSample {
    /// Specific force, m/s².
    pub acceleration: Option<Vector3>,
    pub door: Option<DoorContacts>,
    pub leveling: Option<LevelingContacts>,
    pub supply_ok: Option<bool>,
    pub mode: ElevatorMode,
    pub occupied: Option<bool>,
    pub load_pct: Option<f32>,
    pub faults: Faults,
}

/// Elevator node settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElevatorConfig {
    pub motion: MotionConfig,
    pub lowest_floor: i16,
    pub highest_floor: i16,
    /// Floor the car is at (or beside) when the node starts.
    pub start_floor: i16,
    pub entrapment_after_ms: u32,
    pub stopped_outside_landing_after_ms: u32,
    pub door_fault: DoorFaultConfig,
    /// Shorter motions (re-leveling) are not trips.
    pub min_trip_ms: u32,
    /// Consecutive failed reads before `sensor_fault`.
    pub sensor_fault_after: u8,
    pub report_interval_ms: u32,
}

impl Default for ElevatorConfig {
    fn default() -> Self {
        Self {
            motion: MotionConfig::default(),
            lowest_floor: 1,
            highest_floor: 7,
            start_floor: 1,
            entrapment_after_ms: 120_000,
            stopped_outside_landing_after_ms: 15_000,
            door_fault: DoorFaultConfig::default(),
            min_trip_ms: 2_000,
            sensor_fault_after: 5,
            report_interval_ms: 60_000,
        }
    }
}

/// What a snapshot is sent for when it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reported {
    floor: i16,
    direction: Direction,
    moving: bool,
    door: DoorState,
    mode: ElevatorMode,
    occupied: Option<bool>,
}

/// The elevator application.
#[derive(Debug, Clone, PartialEq)]
pub struct ElevatorApp {
    motion: MotionEstimator,
    door: DoorTracker,
    leveling: LevelingDecoder,
    trips: TripCounter,
    door_cycles_total: u32,
    entrapment: EntrapmentDetector,
    door_fault: DoorFaultDetector,
    stopped_outside_landing: StoppedOutsideLandingDetector,
    power_loss: PowerLossDetector,
    health: SensorHealth,
    schedule: ReportSchedule,
    last_reported: Option<Reported>,
}

impl ElevatorApp {
    pub fn new(config: ElevatorConfig) -> Result<Self, ConfigError> {
        ConfigError::check(
            config.lowest_floor <= config.highest_floor,
            "highest_floor",
            "must not be below lowest_floor",
        )?;
        Ok(Self {
            motion: MotionEstimator::new(config.motion)?,
            door: DoorTracker::default(),
            leveling: LevelingDecoder::new(
                config.lowest_floor,
                config.highest_floor,
                config.start_floor,
            ),
            trips: TripCounter::new(config.min_trip_ms),
            door_cycles_total: 0,
            entrapment: EntrapmentDetector::new(config.entrapment_after_ms),
            door_fault: DoorFaultDetector::new(config.door_fault)?,
            stopped_outside_landing: StoppedOutsideLandingDetector::new(
                config.stopped_outside_landing_after_ms,
            ),
            power_loss: PowerLossDetector::default(),
            health: SensorHealth::new(config.sensor_fault_after),
            schedule: ReportSchedule::new(u64::from(config.report_interval_ms)),
            last_reported: None,
        })
    }

    /// Runs door, leveling and motion tracking; returns the detectors' view.
    fn track(
        &mut self,
        sample: &ElevatorSample,
        faults: &mut Faults,
        now_ms: u64,
    ) -> (CarState, Motion) {
        let mut door_reversed = false;
        if let Some(contacts) = sample.door {
            let update = self.door.update(contacts.closed, contacts.open);
            if update.inconsistent {
                faults.insert(SensorId::DoorContacts);
            }
            door_reversed = update.reversed;
            self.door_cycles_total = self
                .door_cycles_total
                .wrapping_add(u32::from(update.cycle_completed));
        }
        if let Some(leveling) = sample.leveling {
            self.leveling.update(leveling.upper, leveling.lower);
        }
        let door = self.door.state();
        let motion = match faults.checked(
            SensorId::Accelerometer,
            sample.acceleration,
            Vector3::is_finite,
        ) {
            Some(a) => self.motion.update(&a, door != DoorState::Closed, now_ms),
            None => self.motion.motion(),
        };
        self.trips.update(motion.moving, now_ms);
        let car = CarState {
            moving: motion.moving,
            door,
            door_reversed,
            in_door_zone: self.leveling.in_door_zone(),
            occupied: sample.occupied,
            supply_ok: sample.supply_ok,
        };
        (car, motion)
    }

    fn telemetry(
        &self,
        reported: &Reported,
        motion: &Motion,
        load_pct: Option<f32>,
    ) -> Result<Telemetry, OutputError> {
        let mut t = Telemetry::default();
        t.number("floor", f64::from(reported.floor))?;
        t.text("direction", reported.direction.as_str())?;
        t.flag("moving", reported.moving)?;
        t.number("speed_mps", f64::from(motion.velocity_mps.abs()))?;
        t.text("door", reported.door.as_str())?;
        t.text("mode", reported.mode.as_str())?;
        if let Some(occupied) = reported.occupied {
            t.flag("occupied", occupied)?;
        }
        if let Some(load) = load_pct {
            t.number("load_pct", f64::from(load))?;
        }
        t.number("trips_total", f64::from(self.trips.total()))?;
        t.number("door_cycles_total", f64::from(self.door_cycles_total))?;
        Ok(t)
    }
}

/// Settings from the gateway: `report_interval_s`, `entrapment_after_s`.
impl Configurable for ElevatorApp {
    fn settings(&self) -> SettingValues {
        let mut values = SettingValues::default();
        values.set(
            Setting::ReportIntervalS,
            ms_as_s(self.schedule.interval_ms()),
        );
        values.set(
            Setting::EntrapmentAfterS,
            ms_as_s(self.entrapment.after_ms()),
        );
        values
    }

    fn reconfigure(&mut self, values: &SettingValues) -> Result<(), ConfigError> {
        if let Some(s) = values.get(Setting::EntrapmentAfterS) {
            self.entrapment.set_after_ms(s_as_ms(s));
        }
        if let Some(s) = values.get(Setting::ReportIntervalS) {
            self.schedule.set_interval_ms(u64::from(s_as_ms(s)));
        }
        Ok(())
    }
}

impl NodeApp for ElevatorApp {
    type Sample = ElevatorSample;
    const KIND: DeviceKind = DeviceKind::Elevator;

    fn update(&mut self, sample: &ElevatorSample, now_ms: u64) -> Result<NodeOutput, OutputError> {
        let mut faults = sample.faults;
        let load_pct = faults.checked(SensorId::Load, sample.load_pct, |x| x.is_finite());
        let (car, motion) = self.track(sample, &mut faults, now_ms);
        let mut out = NodeOutput::default();
        out.event(self.entrapment.update(&car, now_ms))?;
        out.event(self.door_fault.update(&car, now_ms))?;
        out.event(self.stopped_outside_landing.update(&car, now_ms))?;
        out.event(self.power_loss.update(&car))?;
        out.event(self.health.update(faults))?;
        let reported = Reported {
            floor: self.leveling.floor(),
            direction: motion.direction,
            moving: motion.moving,
            door: car.door,
            mode: sample.mode,
            occupied: sample.occupied,
        };
        if self
            .schedule
            .due(self.last_reported != Some(reported), now_ms)
        {
            self.last_reported = Some(reported);
            out.telemetry = Some(self.telemetry(&reported, &motion, load_pct)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

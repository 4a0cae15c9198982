//! The parking node: bay occupancy from a magnetometer and battery
//! monitoring (spec §4: `occupied`, `battery_pct`; `battery_low`,
//! `sensor_fault`). `rssi_dbm`/`snr_db` are the radio's, added by the
//! gateway. A snapshot is sent when occupancy changes and at least every
//! `report_interval_ms`. This module never reads hardware.

mod board;
pub mod occupancy;

use retrofit_protocols::edge::Setting;
use retrofit_protocols::DeviceKind;

pub use board::ParkingBoard;
pub use occupancy::{OccupancyConfig, OccupancyDetector};

use super::battery::{BatteryConfig, BatteryMonitor};
use super::health::{Faults, SensorHealth, SensorId};
use super::output::{NodeOutput, OutputError, ReportSchedule, Telemetry};
use super::settings::{ms_as_s, s_as_ms, Configurable, SettingValues};
use super::NodeApp;
use crate::error::ConfigError;
use crate::sensor::Vector3;

/// One poll's inputs; `None` where a sensor is absent, failed or had no new
/// data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParkingSample {
    /// Magnetic field, µT.
    pub field: Option<Vector3>,
    pub battery_pct: Option<f32>,
    pub faults: Faults,
}

/// Parking node settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParkingConfig {
    pub occupancy: OccupancyConfig,
    pub battery: BatteryConfig,
    pub sensor_fault_after: u8,
    pub report_interval_ms: u32,
}

impl Default for ParkingConfig {
    fn default() -> Self {
        Self {
            occupancy: OccupancyConfig::default(),
            battery: BatteryConfig::default(),
            sensor_fault_after: 5,
            report_interval_ms: 3_600_000,
        }
    }
}

/// The parking application.
#[derive(Debug, Clone, PartialEq)]
pub struct ParkingApp {
    occupancy: OccupancyDetector,
    battery: BatteryMonitor,
    battery_pct: Option<f32>,
    health: SensorHealth,
    schedule: ReportSchedule,
    last_reported: Option<bool>,
}

impl ParkingApp {
    pub fn new(config: ParkingConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            occupancy: OccupancyDetector::new(config.occupancy)?,
            battery: BatteryMonitor::new(config.battery)?,
            battery_pct: None,
            health: SensorHealth::new(config.sensor_fault_after),
            schedule: ReportSchedule::new(u64::from(config.report_interval_ms)),
            last_reported: None,
        })
    }

    fn telemetry(&self) -> Result<Telemetry, OutputError> {
        let mut t = Telemetry::default();
        t.flag("occupied", self.occupancy.occupied())?;
        if let Some(pct) = self.battery_pct {
            t.number("battery_pct", f64::from(pct))?;
        }
        Ok(t)
    }
}

/// Settings from the gateway: `report_interval_s`.
impl Configurable for ParkingApp {
    fn settings(&self) -> SettingValues {
        let mut values = SettingValues::default();
        values.set(
            Setting::ReportIntervalS,
            ms_as_s(self.schedule.interval_ms()),
        );
        values
    }

    fn reconfigure(&mut self, values: &SettingValues) -> Result<(), ConfigError> {
        if let Some(s) = values.get(Setting::ReportIntervalS) {
            self.schedule.set_interval_ms(u64::from(s_as_ms(s)));
        }
        Ok(())
    }
}

impl NodeApp for ParkingApp {
    type Sample = ParkingSample;
    const KIND: DeviceKind = DeviceKind::Parking;

    fn update(&mut self, sample: &ParkingSample, now_ms: u64) -> Result<NodeOutput, OutputError> {
        let mut faults = sample.faults;
        if let Some(field) =
            faults.checked(SensorId::Magnetometer, sample.field, Vector3::is_finite)
        {
            self.occupancy.update(&field, now_ms);
        }
        let mut out = NodeOutput::default();
        if let Some(pct) = faults.checked(SensorId::Battery, sample.battery_pct, |x| x.is_finite())
        {
            self.battery_pct = Some(pct);
            out.event(self.battery.update(pct))?;
        }
        out.event(self.health.update(faults))?;
        let occupied = self.occupancy.occupied();
        if self
            .schedule
            .due(self.last_reported != Some(occupied), now_ms)
        {
            self.last_reported = Some(occupied);
            out.telemetry = Some(self.telemetry()?);
        }
        Ok(out)
    }
}

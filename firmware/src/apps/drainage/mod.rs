//! The drainage node: water level (median then exponential filtering), rain
//! from a tipping-bucket gauge, and the drainage alarms (spec §4:
//! `level_m`, `rain_mm_total`, `rain_mm_h`, `battery_pct`; `high_water`,
//! `blockage_suspected`, `battery_low`, `sensor_fault`).
//!
//! A snapshot is sent when the filtered level has moved by
//! `report_level_change_m` since the last one, when the high-water band
//! changes, and at least every `report_interval_ms`. This module never
//! reads hardware: [`DrainageBoard`] (or a simulation) produces the
//! [`DrainageSample`].

pub mod blockage;
mod board;
pub mod high_water;
pub mod rain;

use retrofit_protocols::edge::Setting;
use retrofit_protocols::DeviceKind;

pub use blockage::{BlockageConfig, BlockageDetector};
pub use board::DrainageBoard;
pub use high_water::{HighWaterConfig, HighWaterDetector, WaterBand};
pub use rain::RainAccumulator;

use super::battery::{BatteryConfig, BatteryMonitor};
use super::health::{Faults, SensorHealth, SensorId};
use super::output::{NodeOutput, OutputError, ReportSchedule, Telemetry};
use super::settings::{ms_as_s, s_as_ms, Configurable, SettingValues};
use super::NodeApp;
use crate::error::ConfigError;
use crate::signal::{Ema, Median};

/// Samples in the level's median filter.
pub const LEVEL_MEDIAN_LEN: usize = 5;

/// One poll's inputs; `None` where a sensor is absent or failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainageSample {
    pub level_m: Option<f32>,
    /// The rain gauge's cumulative tip count.
    pub rain_tips: u32,
    pub battery_pct: Option<f32>,
    pub faults: Faults,
}

/// Drainage node settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainageConfig {
    /// Weight of each median-filtered level in the average, (0, 1].
    pub level_alpha: f32,
    pub high_water: HighWaterConfig,
    pub blockage: BlockageConfig,
    pub mm_per_tip: f32,
    /// A rain gauge is fitted. Without one the node reports no rain
    /// metrics and suspects no blockage (it cannot tell rain from one).
    pub rain_gauge: bool,
    pub battery: BatteryConfig,
    pub sensor_fault_after: u8,
    pub report_interval_ms: u32,
    pub report_level_change_m: f32,
}

impl Default for DrainageConfig {
    fn default() -> Self {
        Self {
            level_alpha: 0.3,
            high_water: HighWaterConfig::default(),
            blockage: BlockageConfig::default(),
            mm_per_tip: 0.2,
            rain_gauge: true,
            battery: BatteryConfig::default(),
            sensor_fault_after: 5,
            report_interval_ms: 300_000,
            report_level_change_m: 0.05,
        }
    }
}

/// What was last reported.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reported {
    level_m: Option<f32>,
    band: WaterBand,
}

/// The drainage application.
#[derive(Debug, Clone)]
pub struct DrainageApp {
    median: Median<LEVEL_MEDIAN_LEN>,
    average: Ema,
    high_water: HighWaterDetector,
    blockage: BlockageDetector,
    rain: RainAccumulator,
    rain_gauge: bool,
    battery: BatteryMonitor,
    battery_pct: Option<f32>,
    health: SensorHealth,
    schedule: ReportSchedule,
    report_level_change_m: f32,
    last_reported: Option<Reported>,
}

impl DrainageApp {
    pub fn new(config: DrainageConfig) -> Result<Self, ConfigError> {
        ConfigError::check(
            config.level_alpha > 0.0 && config.level_alpha <= 1.0,
            "level_alpha",
            "must be in (0, 1]",
        )?;
        ConfigError::check(
            config.report_level_change_m.is_finite() && config.report_level_change_m > 0.0,
            "report_level_change_m",
            "must be a positive number",
        )?;
        Ok(Self {
            median: Median::default(),
            average: Ema::new(config.level_alpha),
            high_water: HighWaterDetector::new(config.high_water)?,
            blockage: BlockageDetector::new(config.blockage)?,
            rain: RainAccumulator::new(config.mm_per_tip)?,
            rain_gauge: config.rain_gauge,
            battery: BatteryMonitor::new(config.battery)?,
            battery_pct: None,
            health: SensorHealth::new(config.sensor_fault_after),
            schedule: ReportSchedule::new(u64::from(config.report_interval_ms)),
            report_level_change_m: config.report_level_change_m,
            last_reported: None,
        })
    }

    /// The filtered level, if any reading has arrived.
    pub fn level_m(&self) -> Option<f32> {
        self.average.value()
    }

    fn changed_since_report(&self, now: &Reported) -> bool {
        let Some(last) = self.last_reported else {
            return true;
        };
        let moved = match (last.level_m, now.level_m) {
            (Some(a), Some(b)) => (a - b).abs() >= self.report_level_change_m,
            (a, b) => a.is_some() != b.is_some(),
        };
        moved || last.band != now.band
    }

    fn telemetry(&mut self, now_ms: u64) -> Result<Telemetry, OutputError> {
        let mut t = Telemetry::default();
        if let Some(level) = self.level_m() {
            t.number("level_m", f64::from(level))?;
        }
        if self.rain_gauge {
            t.number("rain_mm_total", f64::from(self.rain.mm_total()))?;
            t.number("rain_mm_h", f64::from(self.rain.mm_last_hour(now_ms)))?;
        }
        if let Some(pct) = self.battery_pct {
            t.number("battery_pct", f64::from(pct))?;
        }
        Ok(t)
    }
}

/// Settings from the gateway: `report_interval_s`, `warning_m`,
/// `overflow_m`, `hysteresis_m`.
impl Configurable for DrainageApp {
    fn settings(&self) -> SettingValues {
        let high = self.high_water.config();
        let mut values = SettingValues::default();
        values.set(
            Setting::ReportIntervalS,
            ms_as_s(self.schedule.interval_ms()),
        );
        values.set(Setting::WarningM, f64::from(high.warning_m));
        values.set(Setting::OverflowM, f64::from(high.overflow_m));
        values.set(Setting::HysteresisM, f64::from(high.hysteresis_m));
        values
    }

    fn reconfigure(&mut self, values: &SettingValues) -> Result<(), ConfigError> {
        let old = self.high_water.config();
        let metres = |s, old: f32| values.get(s).map_or(old, |x| x as f32);
        self.high_water.set_config(HighWaterConfig {
            warning_m: metres(Setting::WarningM, old.warning_m),
            overflow_m: metres(Setting::OverflowM, old.overflow_m),
            hysteresis_m: metres(Setting::HysteresisM, old.hysteresis_m),
        })?;
        if let Some(s) = values.get(Setting::ReportIntervalS) {
            self.schedule.set_interval_ms(u64::from(s_as_ms(s)));
        }
        Ok(())
    }
}

impl NodeApp for DrainageApp {
    type Sample = DrainageSample;
    const KIND: DeviceKind = DeviceKind::Drainage;

    fn update(&mut self, sample: &DrainageSample, now_ms: u64) -> Result<NodeOutput, OutputError> {
        let mut faults = sample.faults;
        let mut out = NodeOutput::default();
        self.rain.update(sample.rain_tips, now_ms);
        if let Some(raw) = faults.checked(SensorId::Level, sample.level_m, |x| x.is_finite()) {
            let level = self.median.update(raw).and_then(|m| self.average.update(m));
            if let Some(level) = level {
                out.event(self.high_water.update(level))?;
                if self.rain_gauge {
                    out.event(self.blockage.update(level, self.rain.last_tip_ms(), now_ms))?;
                }
            }
        }
        if let Some(pct) = faults.checked(SensorId::Battery, sample.battery_pct, |x| x.is_finite())
        {
            self.battery_pct = Some(pct);
            out.event(self.battery.update(pct))?;
        }
        out.event(self.health.update(faults))?;
        let now = Reported {
            level_m: self.level_m(),
            band: self.high_water.band(),
        };
        if self.schedule.due(self.changed_since_report(&now), now_ms) {
            self.last_reported = Some(now);
            out.telemetry = Some(self.telemetry(now_ms)?);
        }
        Ok(out)
    }
}

//! A storm-drain well and its catchment, stepped in simulated time:
//!
//! - rain falls on the catchment (roofs and paving) and reaches the well
//!   through a linear reservoir (runoff delay `runoff_tau_s`), on top of a
//!   small dry-weather inflow;
//! - the outlet pipe drains like an orifice, `k·√(h − invert)`, so the
//!   well keeps a little water below the pipe and a storm that brings more
//!   than the pipe carries fills it, up to the brim (then it spills);
//! - the tipping-bucket gauge tips every `mm_per_tip` of rain, at the
//!   moment the bucket fills (the real `TipCounter` counts it);
//! - the submersible pressure transmitter turns the level into a 4–20 mA
//!   loop current, read across a shunt by the node's ADC.
//!
//! Seeded noise (turbulence) on the transmitter; never reads a clock.

use std::sync::Arc;

use retrofit_firmware::drivers::rain_gauge::TipCounter;

use super::weather::Weather;
use crate::nodes::hal::Probe;
use crate::nodes::noise::gaussian;
use crate::nodes::Physics;

/// Transmitter range: 4 mA at 0 m, 20 mA at this level.
pub const TRANSMITTER_RANGE_M: f32 = 3.0;
/// Shunt the loop current flows through, Ω.
pub const SHUNT_OHM: f32 = 150.0;

/// The well, its catchment and its outlet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WellConfig {
    pub catchment_m2: f32,
    pub runoff_coefficient: f32,
    pub runoff_tau_s: f32,
    pub area_m2: f32,
    pub depth_m: f32,
    pub outlet_invert_m: f32,
    /// Outlet discharge per √m of head, m³/s.
    pub outlet_k: f32,
    pub dry_inflow_m3_s: f32,
    pub mm_per_tip: f32,
}

impl Default for WellConfig {
    /// A courtyard drain: 600 m² of roofs and paving into a 1.5 m² well,
    /// 2.5 m deep, draining through a pipe 0.15 m above the bottom.
    fn default() -> Self {
        Self {
            catchment_m2: 600.0,
            runoff_coefficient: 0.8,
            runoff_tau_s: 180.0,
            area_m2: 1.5,
            depth_m: 2.5,
            outlet_invert_m: 0.15,
            outlet_k: 0.006,
            dry_inflow_m3_s: 0.000_2,
            mm_per_tip: 0.2,
        }
    }
}

/// The signals of the drainage node's sensors (the gauge's tips go to the
/// shared `TipCounter`, as from its interrupt).
#[derive(Debug, Clone, Default)]
pub struct WellWires {
    /// Voltage across the transmitter's shunt at the ADC pin, mV.
    pub loop_mv: Probe<f32>,
    /// Battery voltage behind the 2:1 divider at the ADC pin, mV.
    pub battery_mv: Probe<f32>,
}

/// The well.
#[derive(Debug)]
pub struct WellPhysics {
    config: WellConfig,
    weather: Weather,
    /// Water on its way through the catchment, m³.
    runoff_m3: f32,
    volume_m3: f32,
    /// Rain in the gauge's bucket, mm.
    bucket_mm: f32,
    tips: Arc<TipCounter>,
    battery_v: f32,
    wires: WellWires,
    rng: fastrand::Rng,
}

impl WellPhysics {
    /// A well at its dry-weather level.
    pub fn new(
        config: WellConfig,
        weather: Weather,
        tips: Arc<TipCounter>,
        wires: WellWires,
        seed: u64,
    ) -> Self {
        let head = config.dry_inflow_m3_s / config.outlet_k;
        let level = config.outlet_invert_m + head * head;
        let mut well = Self {
            config,
            weather,
            runoff_m3: 0.0,
            volume_m3: level * config.area_m2,
            bucket_mm: 0.0,
            tips,
            battery_v: 3.5,
            wires,
            rng: fastrand::Rng::with_seed(seed),
        };
        well.publish(0.0);
        well
    }

    /// Water level above the bottom, m.
    pub fn level_m(&self) -> f32 {
        self.volume_m3 / self.config.area_m2
    }

    fn outflow_m3_s(&self) -> f32 {
        let head = (self.level_m() - self.config.outlet_invert_m).max(0.0);
        self.config.outlet_k * head.sqrt()
    }

    /// Fills the gauge's bucket with `rain_mm` fallen evenly over the step
    /// that ends at `now_ms`; each full bucket tips at its own moment.
    fn gauge(&mut self, rain_mm: f32, now_ms: u64, dt_ms: u64) {
        let step_start = now_ms.saturating_sub(dt_ms);
        let mut filled_mm = 0.0;
        while self.bucket_mm + (rain_mm - filled_mm) >= self.config.mm_per_tip {
            filled_mm += self.config.mm_per_tip - self.bucket_mm;
            self.bucket_mm = 0.0;
            let at = step_start + (dt_ms as f32 * filled_mm / rain_mm) as u64;
            self.tips.on_tip(at);
        }
        self.bucket_mm += rain_mm - filled_mm;
    }

    fn publish(&mut self, rain_mm_h: f32) {
        let turbulence = gaussian(&mut self.rng, 0.004 + rain_mm_h / 10_000.0);
        let level = self.level_m() + turbulence;
        let milliamps = 4.0 + 16.0 * level / TRANSMITTER_RANGE_M;
        self.wires.loop_mv.set(milliamps * SHUNT_OHM);
        self.wires.battery_mv.set(self.battery_v * 1000.0 / 2.0);
    }
}

impl Physics for WellPhysics {
    fn step(&mut self, now_ms: u64, dt_ms: u64) {
        let dt_s = dt_ms as f32 / 1000.0;
        let rain_mm_h = self.weather.mm_h(now_ms);
        let rain_mm = rain_mm_h * dt_s / 3600.0;
        if rain_mm > 0.0 {
            self.gauge(rain_mm, now_ms, dt_ms);
        }
        let c = &self.config;
        self.runoff_m3 += c.runoff_coefficient * c.catchment_m2 * rain_mm / 1000.0;
        let released = self.runoff_m3 * (1.0 - (-dt_s / c.runoff_tau_s).exp());
        self.runoff_m3 -= released;
        let inflow = released + c.dry_inflow_m3_s * dt_s;
        let outflow = self.outflow_m3_s() * dt_s;
        let brim = c.area_m2 * c.depth_m;
        self.volume_m3 = (self.volume_m3 + inflow - outflow).clamp(0.0, brim);
        // A lithium pack losing about 2 mV per hour.
        self.battery_v -= 0.002 * dt_s / 3600.0;
        self.publish(rain_mm_h);
    }
}

//! Bay occupancy from a magnetometer under the bay.
//!
//! A car's steel shifts the local field away from a baseline. The baseline
//! is the first sample (the node is commissioned over an empty bay) and then
//! follows slow drift (temperature, nearby works) through an exponential
//! average, but only while the bay is vacant and the field is within the
//! "vacant" band, so a parked or passing car never drags it.
//!
//! The bay becomes occupied when the deviation from the baseline stays
//! above `on_ut` for `dwell_on_ms` (a passing car is shorter). From then on
//! the parked car's own field is tracked too (a faster average), so drift
//! during a long stay follows the car. The bay becomes vacant when, for
//! `dwell_off_ms`, the field is either back within `off_ut` of the baseline
//! or has jumped at least `on_ut` away from the car's field towards the
//! baseline (the car left while the baseline drifted); in the latter case
//! the baseline is re-taken from the empty bay. Between the bands nothing
//! changes. Comparisons use squared distances (no square root on small
//! MCUs).

use crate::error::ConfigError;
use crate::sensor::Vector3;
use crate::signal::HeldFor;

/// Occupancy thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OccupancyConfig {
    /// Deviation from the baseline meaning "a car", µT.
    pub on_ut: f32,
    /// Deviation below which the bay is vacant, µT (below `on_ut`).
    pub off_ut: f32,
    pub dwell_on_ms: u32,
    pub dwell_off_ms: u32,
    /// Time constant of the baseline drift tracking, ms.
    pub baseline_tau_ms: u32,
    /// Time constant of the parked car's field tracking, ms.
    pub parked_tau_ms: u32,
}

impl Default for OccupancyConfig {
    fn default() -> Self {
        Self {
            on_ut: 12.0,
            off_ut: 6.0,
            dwell_on_ms: 8_000,
            dwell_off_ms: 8_000,
            baseline_tau_ms: 600_000,
            parked_tau_ms: 60_000,
        }
    }
}

impl OccupancyConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(
            self.off_ut.is_finite()
                && self.on_ut.is_finite()
                && self.off_ut > 0.0
                && self.on_ut > self.off_ut,
            "occupancy.on_ut",
            "need on_ut > off_ut > 0",
        )?;
        ConfigError::check(
            self.baseline_tau_ms > 0 && self.parked_tau_ms > 0,
            "occupancy.baseline_tau_ms",
            "time constants must be positive",
        )
    }
}

/// The detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OccupancyDetector {
    config: OccupancyConfig,
    baseline: Option<Vector3>,
    /// The parked car's field, while occupied.
    parked: Option<Vector3>,
    above_on: HeldFor,
    below_off: HeldFor,
    last_ms: Option<u64>,
}

impl OccupancyDetector {
    pub fn new(config: OccupancyConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            baseline: None,
            parked: None,
            above_on: HeldFor::default(),
            below_off: HeldFor::default(),
            last_ms: None,
        })
    }

    pub fn occupied(&self) -> bool {
        self.parked.is_some()
    }

    pub fn baseline(&self) -> Option<Vector3> {
        self.baseline
    }

    /// Feeds one field sample (µT); returns whether the bay is occupied.
    pub fn update(&mut self, field: &Vector3, now_ms: u64) -> bool {
        let dt_ms = self.last_ms.map_or(0, |last| now_ms.saturating_sub(last)) as f32;
        self.last_ms = Some(now_ms);
        let (on2, off2) = (
            self.config.on_ut * self.config.on_ut,
            self.config.off_ut * self.config.off_ut,
        );
        let baseline = *self.baseline.get_or_insert(*field);
        let from_baseline = field.distance_squared(&baseline);
        let near_baseline = from_baseline <= off2;
        let car_left = self.parked.is_some_and(|car| {
            let from_car = field.distance_squared(&car);
            from_car >= on2 && from_baseline < from_car
        });
        let arrived = self.above_on.held_at_least(
            from_baseline >= on2,
            u64::from(self.config.dwell_on_ms),
            now_ms,
        );
        let left = self.below_off.held_at_least(
            near_baseline || car_left,
            u64::from(self.config.dwell_off_ms),
            now_ms,
        );
        match self.parked {
            None if arrived => self.parked = Some(*field),
            None if near_baseline => {
                let alpha = smoothing(dt_ms, self.config.baseline_tau_ms);
                self.baseline = Some(baseline.towards(field, alpha));
            }
            Some(_) if left => {
                self.parked = None;
                if !near_baseline {
                    self.baseline = Some(*field);
                }
            }
            Some(car) if !car_left => {
                let alpha = smoothing(dt_ms, self.config.parked_tau_ms);
                self.parked = Some(car.towards(field, alpha));
            }
            _ => {}
        }
        self.occupied()
    }
}

/// Exponential smoothing factor for a step of `dt_ms` and time constant `tau_ms`.
fn smoothing(dt_ms: f32, tau_ms: u32) -> f32 {
    dt_ms / (tau_ms as f32 + dt_ms)
}

//! Helpers shared by the sensor formats: collecting named metrics into the
//! fixed-capacity result, mapping a battery voltage to a percentage, and a
//! distance sensor's water level above the well bottom.
//! Integer arithmetic only where rounding matters (no `libm` in `no_std`);
//! never panics.

use super::{SensorError, SensorMetrics};
use crate::metric::{MetricName, Value};

/// Collects metrics in order; the names are the model's constants.
#[derive(Default)]
pub(crate) struct MetricsBuilder(SensorMetrics);

impl MetricsBuilder {
    pub(crate) fn number(&mut self, name: &'static str, x: f64) -> Result<(), SensorError> {
        let value = Value::number(x).map_err(|_| SensorError::OutOfRange(name))?;
        self.push(name, value)
    }

    pub(crate) fn flag(&mut self, name: &'static str, b: bool) -> Result<(), SensorError> {
        self.push(name, Value::Bool(b))
    }

    pub(crate) fn text(&mut self, name: &'static str, s: &'static str) -> Result<(), SensorError> {
        let value = Value::text(s).map_err(|_| SensorError::OutOfRange(name))?;
        self.push(name, value)
    }

    fn push(&mut self, name: &'static str, value: Value) -> Result<(), SensorError> {
        let metric = MetricName::parse(name).map_err(|_| SensorError::OutOfRange(name))?;
        self.0
            .push((metric, value))
            .map_err(|_| SensorError::OutOfRange(name))
    }

    pub(crate) fn finish(self) -> SensorMetrics {
        self.0
    }
}

/// A linear battery gauge between an empty and a full cell voltage. Primary
/// lithium cells (Li-SOCl2) discharge on a flat plateau, so this is a coarse
/// indication, good for "replace soon", not a fuel gauge.
pub(crate) struct BatteryCurve {
    pub(crate) empty_mv: u16,
    pub(crate) full_mv: u16,
}

impl BatteryCurve {
    /// Percentage in 0.1 steps, clamped to 0..=100.
    pub(crate) fn pct(&self, mv: u16) -> f64 {
        let span = i32::from(self.full_mv) - i32::from(self.empty_mv);
        let above = i32::from(mv) - i32::from(self.empty_mv);
        let per_mille = (above * 1000 / span.max(1)).clamp(0, 1000);
        f64::from(per_mille) / 10.0
    }

    /// Pushes `battery_v` and `battery_pct`.
    pub(crate) fn push(&self, out: &mut MetricsBuilder, mv: u16) -> Result<(), SensorError> {
        out.number("battery_v", f64::from(mv) / 1000.0)?;
        out.number("battery_pct", self.pct(mv))
    }
}

/// The water level, in metres, under a distance sensor mounted `mount_m`
/// above the well bottom that measured `distance_mm` to the surface,
/// computed in whole millimetres. A distance beyond the well bottom by up to
/// 1 cm + 0.3 % (the LDDS75's specified accuracy) reads as level 0; further
/// beyond means a wrong mount height or a misaligned probe: out of range.
pub(crate) fn level_m(mount_m: f64, distance_mm: u16) -> Result<f64, SensorError> {
    if !mount_m.is_finite() || mount_m <= 0.0 || mount_m > 100.0 {
        return Err(SensorError::BadMountHeight);
    }
    let mount_mm = (mount_m * 1000.0 + 0.5) as i64;
    let distance_mm = i64::from(distance_mm);
    let level_mm = mount_mm - distance_mm;
    let tolerance_mm = 10 + distance_mm * 3 / 1000;
    if level_mm < -tolerance_mm {
        return Err(SensorError::OutOfRange(
            "distance_mm beyond the mount height",
        ));
    }
    Ok(level_mm.max(0) as f64 / 1000.0)
}

//! What node applications read: the sensor traits and the fault vocabulary.
//!
//! Drivers implement these traits over real buses; the simulator may
//! implement them with physics. Units are fixed here (m/s², µT, metres,
//! percent) so that no application ever converts. This module performs no
//! I/O itself.

/// Why a sensor gave no usable reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SensorFault {
    #[error("bus error")]
    Bus,
    #[error("device did not identify as expected")]
    WrongDevice,
    #[error("no valid data")]
    NoData,
    #[error("reading outside the sensor's range")]
    OutOfRange,
    #[error("current loop open (wire break)")]
    OpenLoop,
}

/// A three-axis vector in the sensor's frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vector3 {
    pub x: f32,
    pub y: f32,
    pub z: f32,
}

impl Vector3 {
    pub const fn new(x: f32, y: f32, z: f32) -> Self {
        Self { x, y, z }
    }

    /// Every component multiplied by `k` (unit conversion).
    pub fn scaled(self, k: f32) -> Self {
        Self::new(self.x * k, self.y * k, self.z * k)
    }

    /// The point a fraction `alpha` of the way from `self` to `other`.
    pub fn towards(self, other: &Vector3, alpha: f32) -> Self {
        Self::new(
            self.x + alpha * (other.x - self.x),
            self.y + alpha * (other.y - self.y),
            self.z + alpha * (other.z - self.z),
        )
    }

    pub fn is_finite(&self) -> bool {
        self.x.is_finite() && self.y.is_finite() && self.z.is_finite()
    }

    /// Squared distance to `other` (no square root on small MCUs).
    pub fn distance_squared(&self, other: &Vector3) -> f32 {
        let (dx, dy, dz) = (self.x - other.x, self.y - other.y, self.z - other.z);
        dx * dx + dy * dy + dz * dz
    }
}

/// Specific force in m/s² (at rest, +9.81 along the upward axis).
pub trait Accelerometer {
    fn acceleration(&mut self) -> Result<Vector3, SensorFault>;
}

/// Magnetic flux density in µT; `None` while no new sample is ready.
pub trait Magnetometer {
    fn field(&mut self) -> Result<Option<Vector3>, SensorFault>;
}

/// Water level above the channel bottom, in metres.
pub trait LevelGauge {
    fn level_m(&mut self) -> Result<f32, SensorFault>;
}

/// A quantity in percent of its range (battery charge, car load).
pub trait PercentGauge {
    fn percent(&mut self) -> Result<f32, SensorFault>;
}

/// A cumulative event count (rain gauge tips), wrapping at `u32::MAX`.
pub trait TipCount {
    fn tips(&self) -> u32;
}

impl<T: TipCount + ?Sized> TipCount for &T {
    fn tips(&self) -> u32 {
        (**self).tips()
    }
}

/// A debounced on/off input (door contact, leveling vane, supply sense).
pub trait BinaryInput {
    fn is_active(&mut self, now_ms: u64) -> Result<bool, SensorFault>;
}

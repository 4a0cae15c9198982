//! Car motion from the vertical acceleration: is the car moving, which way,
//! how fast.
//!
//! The gravity/bias is tracked by a slow average while the car is still;
//! the remaining acceleration, outside a noise dead band, is integrated
//! into a velocity. Moving starts above `start_mps` and stops below
//! `stop_mps` (hysteresis), and the velocity is forced to zero whenever the
//! doors are not closed (the safety chain guarantees the car is then
//! still), so integration drift cannot accumulate across trips. Never
//! trusts a time step longer than `max_step_ms` (a stalled loop).

use crate::error::ConfigError;
use crate::sensor::Vector3;

/// Direction of travel, as the model's `direction` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Idle,
    Up,
    Down,
}

impl Direction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// Which sensor axis points up (as mounted on the car).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerticalAxis {
    X,
    Y,
    Z,
    /// The axis points down.
    MinusX,
    MinusY,
    MinusZ,
}

impl VerticalAxis {
    /// Upward specific force.
    pub fn of(self, v: &Vector3) -> f32 {
        match self {
            Self::X => v.x,
            Self::Y => v.y,
            Self::Z => v.z,
            Self::MinusX => -v.x,
            Self::MinusY => -v.y,
            Self::MinusZ => -v.z,
        }
    }
}

/// Motion thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionConfig {
    pub vertical: VerticalAxis,
    /// Accelerations smaller than this are noise, m/s².
    pub deadband_mps2: f32,
    /// Speed above which a still car is moving, m/s.
    pub start_mps: f32,
    /// Speed below which a moving car has stopped, m/s.
    pub stop_mps: f32,
    /// Time constant of the gravity/bias average, ms.
    pub bias_tau_ms: u32,
    /// Time constant of the velocity leak while still, ms.
    pub still_leak_tau_ms: u32,
    /// Longest time step integrated, ms.
    pub max_step_ms: u32,
}

impl Default for MotionConfig {
    fn default() -> Self {
        Self {
            vertical: VerticalAxis::Z,
            deadband_mps2: 0.08,
            start_mps: 0.15,
            stop_mps: 0.05,
            bias_tau_ms: 5_000,
            still_leak_tau_ms: 2_000,
            max_step_ms: 200,
        }
    }
}

impl MotionConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(
            self.deadband_mps2 >= 0.0 && self.stop_mps > 0.0 && self.start_mps > self.stop_mps,
            "motion.start_mps",
            "need deadband >= 0 and start_mps > stop_mps > 0",
        )?;
        ConfigError::check(
            self.bias_tau_ms > 0 && self.still_leak_tau_ms > 0 && self.max_step_ms > 0,
            "motion.bias_tau_ms",
            "time constants and max_step_ms must be positive",
        )
    }
}

/// Current motion estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Motion {
    pub moving: bool,
    pub direction: Direction,
    /// Upward velocity, m/s.
    pub velocity_mps: f32,
}

/// The estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionEstimator {
    config: MotionConfig,
    bias: Option<f32>,
    velocity: f32,
    moving: bool,
    last_ms: Option<u64>,
}

impl MotionEstimator {
    pub fn new(config: MotionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            bias: None,
            velocity: 0.0,
            moving: false,
            last_ms: None,
        })
    }

    /// Feeds one accelerometer sample; `doors_not_closed` pins the car still.
    pub fn update(&mut self, accel: &Vector3, doors_not_closed: bool, now_ms: u64) -> Motion {
        let up = self.config.vertical.of(accel);
        let dt_ms = self.step_ms(now_ms);
        let dt = dt_ms as f32 / 1000.0;
        let bias = *self.bias.get_or_insert(up);
        let dynamic = up - bias;
        let quiet = dynamic.abs() < self.config.deadband_mps2;
        if quiet && !self.moving {
            let alpha = dt_ms as f32 / (self.config.bias_tau_ms as f32 + dt_ms as f32);
            self.bias = Some(bias + alpha * dynamic);
        }
        if !quiet {
            self.velocity += dynamic * dt;
        }
        if !self.moving {
            self.velocity *=
                1.0 - dt_ms as f32 / (self.config.still_leak_tau_ms as f32 + dt_ms as f32);
        }
        if doors_not_closed {
            self.velocity = 0.0;
        }
        self.apply_hysteresis();
        self.motion()
    }

    pub fn motion(&self) -> Motion {
        let direction = match (self.moving, self.velocity > 0.0) {
            (false, _) => Direction::Idle,
            (true, true) => Direction::Up,
            (true, false) => Direction::Down,
        };
        Motion {
            moving: self.moving,
            direction,
            velocity_mps: self.velocity,
        }
    }

    fn step_ms(&mut self, now_ms: u64) -> u64 {
        let step = self
            .last_ms
            .map_or(0, |last| now_ms.saturating_sub(last))
            .min(u64::from(self.config.max_step_ms));
        self.last_ms = Some(now_ms);
        step
    }

    fn apply_hysteresis(&mut self) {
        let speed = self.velocity.abs();
        if !self.moving && speed >= self.config.start_mps {
            self.moving = true;
        } else if self.moving && speed < self.config.stop_mps {
            self.moving = false;
            self.velocity = 0.0;
        }
    }
}

/// Counts trips: motions that lasted at least `min_trip_ms` (shorter ones
/// are re-leveling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TripCounter {
    min_trip_ms: u64,
    started_ms: Option<u64>,
    total: u32,
}

impl TripCounter {
    pub fn new(min_trip_ms: u32) -> Self {
        Self {
            min_trip_ms: u64::from(min_trip_ms),
            started_ms: None,
            total: 0,
        }
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    pub fn update(&mut self, moving: bool, now_ms: u64) {
        match (moving, self.started_ms) {
            (true, None) => self.started_ms = Some(now_ms),
            (false, Some(started)) => {
                if now_ms.saturating_sub(started) >= self.min_trip_ms {
                    self.total = self.total.wrapping_add(1);
                }
                self.started_ms = None;
            }
            _ => {}
        }
    }
}

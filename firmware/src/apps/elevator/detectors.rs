//! The elevator's alarm detectors, each a separate type with a pure
//! `update(&CarState, now_ms) -> Option<EventTransition>`:
//!
//! - `entrapment` (critical): car still, doors closed and the car occupied
//!   for `after_ms`, wherever it stands; cleared only when the doors open or
//!   the car is empty (a car that moves on is not yet a released passenger).
//! - `door_fault` (major): the door has been opening or closing for longer
//!   than `max_transit_ms`, or reversed `max_reversals` times within
//!   `reversal_window_ms`; cleared once the door is closed and the
//!   reversals have aged out.
//! - `stopped_outside_landing` (major): car still outside any door zone for
//!   `after_ms`; cleared when it reaches a door zone.
//! - `power_loss` (critical): the supply sense input is off; cleared when it
//!   is back. Debouncing is the contact's.
//!
//! Detectors never read sensors or clocks; unknown inputs (`None`) never
//! raise or clear anything.

use heapless::Deque;
use retrofit_protocols::Severity;

use super::door::DoorState;
use crate::apps::event::{AlarmLatch, EventTransition, NodeEvent};
use crate::error::ConfigError;
use crate::signal::{push_evicting, HeldFor};

/// Most reversals remembered by the door-fault detector.
pub const MAX_REVERSALS: usize = 8;

/// What the detectors look at, derived from one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarState {
    pub moving: bool,
    pub door: DoorState,
    /// The door went from closing back to open in this sample.
    pub door_reversed: bool,
    pub in_door_zone: bool,
    pub occupied: Option<bool>,
    pub supply_ok: Option<bool>,
}

/// `entrapment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntrapmentDetector {
    after_ms: u64,
    held: HeldFor,
    latch: AlarmLatch,
}

impl EntrapmentDetector {
    pub fn new(after_ms: u32) -> Self {
        Self {
            after_ms: u64::from(after_ms),
            held: HeldFor::default(),
            latch: AlarmLatch::new(NodeEvent::Entrapment),
        }
    }

    pub fn after_ms(&self) -> u64 {
        self.after_ms
    }

    /// A new delay, applied to the time the car has already been shut in.
    pub fn set_after_ms(&mut self, after_ms: u32) {
        self.after_ms = u64::from(after_ms);
    }

    pub fn update(&mut self, car: &CarState, now_ms: u64) -> Option<EventTransition> {
        let shut_in = !car.moving && car.door == DoorState::Closed && car.occupied == Some(true);
        if self.held.held_at_least(shut_in, self.after_ms, now_ms) {
            self.latch.raise(Severity::Critical)
        } else if car.door != DoorState::Closed || car.occupied == Some(false) {
            self.latch.clear()
        } else {
            None
        }
    }
}

/// Door-fault thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorFaultConfig {
    pub max_transit_ms: u32,
    /// 1..=[`MAX_REVERSALS`].
    pub max_reversals: u8,
    pub reversal_window_ms: u32,
}

impl Default for DoorFaultConfig {
    fn default() -> Self {
        Self {
            max_transit_ms: 15_000,
            max_reversals: 5,
            reversal_window_ms: 120_000,
        }
    }
}

/// `door_fault`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorFaultDetector {
    config: DoorFaultConfig,
    transit: HeldFor,
    reversals: Deque<u64, MAX_REVERSALS>,
    latch: AlarmLatch,
}

impl DoorFaultDetector {
    pub fn new(config: DoorFaultConfig) -> Result<Self, ConfigError> {
        ConfigError::check(
            (1..=MAX_REVERSALS).contains(&usize::from(config.max_reversals)),
            "door_fault.max_reversals",
            "must be 1..=8",
        )?;
        Ok(Self {
            config,
            transit: HeldFor::default(),
            reversals: Deque::new(),
            latch: AlarmLatch::new(NodeEvent::DoorFault),
        })
    }

    pub fn update(&mut self, car: &CarState, now_ms: u64) -> Option<EventTransition> {
        self.record_reversal(car.door_reversed, now_ms);
        let max_transit = u64::from(self.config.max_transit_ms);
        let stuck = self
            .transit
            .held_at_least(car.door.is_moving(), max_transit, now_ms);
        let cycling = self.reversals.len() >= usize::from(self.config.max_reversals);
        if stuck || cycling {
            self.latch.raise(Severity::Major)
        } else if car.door == DoorState::Closed {
            self.latch.clear()
        } else {
            None
        }
    }

    fn record_reversal(&mut self, reversed: bool, now_ms: u64) {
        let window = u64::from(self.config.reversal_window_ms);
        while self
            .reversals
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= window)
        {
            self.reversals.pop_front();
        }
        if reversed {
            push_evicting(&mut self.reversals, now_ms);
        }
    }
}

/// `stopped_outside_landing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoppedOutsideLandingDetector {
    after_ms: u64,
    held: HeldFor,
    latch: AlarmLatch,
}

impl StoppedOutsideLandingDetector {
    pub fn new(after_ms: u32) -> Self {
        Self {
            after_ms: u64::from(after_ms),
            held: HeldFor::default(),
            latch: AlarmLatch::new(NodeEvent::StoppedOutsideLanding),
        }
    }

    pub fn update(&mut self, car: &CarState, now_ms: u64) -> Option<EventTransition> {
        let stranded = !car.moving && !car.in_door_zone;
        if self.held.held_at_least(stranded, self.after_ms, now_ms) {
            self.latch.raise(Severity::Major)
        } else if car.in_door_zone {
            self.latch.clear()
        } else {
            None
        }
    }
}

/// `power_loss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerLossDetector {
    latch: AlarmLatch,
}

impl Default for PowerLossDetector {
    fn default() -> Self {
        Self {
            latch: AlarmLatch::new(NodeEvent::PowerLoss),
        }
    }
}

impl PowerLossDetector {
    pub fn update(&mut self, car: &CarState) -> Option<EventTransition> {
        match car.supply_ok {
            Some(false) => self.latch.raise(Severity::Critical),
            Some(true) => self.latch.clear(),
            None => None,
        }
    }
}

//! The elevator's world, stepped in simulated time: residents' calls, a
//! simple controller (serve the first rider's destination, else the
//! oldest call; open, dwell, close), the car's drive and door, and the
//! injected faults:
//!
//! - a power cut, armed at a time and triggered on the next trip with
//!   riders aboard while the car cruises between floors: the brake stops
//!   the car outside any door zone, doors stay closed, and the riders are
//!   trapped until power returns `outage_ms` later, when the car
//!   re-levels to the nearest landing and opens to let everyone out;
//! - a door jam, armed at a time and triggered the next time the door is
//!   half closed: the panel freezes for `jammed_ms`, then closes.
//!
//! Every step drives the sensor signals ([`ElevatorWires`]) exactly as the
//! node's sensors would see them. Seeded; never reads a clock.

use std::collections::VecDeque;

use retrofit_firmware::drivers::lis3dh::STANDARD_GRAVITY;
use retrofit_firmware::sensor::Vector3;

use super::car::{Car, DriveProfile};
use super::door::{Door, DoorCommand};
use super::shaft::Shaft;
use super::traffic::{Call, Rider, Traffic};
use crate::nodes::hal::Probe;
use crate::nodes::noise::gaussian;
use crate::nodes::Physics;

/// How long the doors stay open at a stop, ms.
const DWELL_MS: u64 = 4_000;
/// Rated load of the car (8 persons), kg.
pub const RATED_KG: f32 = 630.0;
/// Load amplifier output at no load and at rated load, mV.
pub const LOAD_EMPTY_MV: f32 = 500.0;
pub const LOAD_FULL_MV: f32 = 4_500.0;
/// Divider between the load amplifier and the ADC pin.
pub const LOAD_DIVIDER: f32 = 2.0;
/// A power cut only strikes this far from any landing, m.
const CUT_CLEAR_OF_LANDING_M: f32 = 1.0;
/// Accelerometer noise, m/s² (below the firmware's 0.08 dead band).
const ACCEL_NOISE: f32 = 0.02;

/// The signals of the elevator node's sensors.
#[derive(Debug, Clone, Default)]
pub struct ElevatorWires {
    /// Specific force on the accelerometer, m/s² (Z up).
    pub specific_force: Probe<Vector3>,
    pub door_closed: Probe<bool>,
    pub door_open: Probe<bool>,
    pub level_upper: Probe<bool>,
    pub level_lower: Probe<bool>,
    /// The supply-sense relay: closed while the lift has power.
    pub supply: Probe<bool>,
    /// The load-weighing switch: closed while anyone is aboard.
    pub occupancy: Probe<bool>,
    /// The load amplifier's output at the ADC pin, mV.
    pub load_mv: Probe<f32>,
}

/// A fault to inject, armed from a simulated time on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElevatorFault {
    PowerCut { armed_ms: u64, outage_ms: u64 },
    DoorJam { armed_ms: u64, jammed_ms: u64 },
}

/// Traffic and faults of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct ElevatorPlan {
    pub first_call_ms: u64,
    pub mean_call_interval_ms: u64,
    pub faults: Vec<ElevatorFault>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Travel {
        to: i16,
        profile: DriveProfile,
        rescue: bool,
    },
    Opening {
        evacuate: bool,
    },
    Dwell {
        until_ms: u64,
    },
    Closing,
}

/// The lift.
#[derive(Debug)]
pub struct ElevatorPhysics {
    shaft: Shaft,
    car: Car,
    door: Door,
    traffic: Traffic,
    floor: i16,
    waiting: VecDeque<Call>,
    riders: Vec<Rider>,
    phase: Phase,
    power_back_ms: Option<u64>,
    jam_ends_ms: Option<u64>,
    armed: Vec<ElevatorFault>,
    motions: u32,
    wires: ElevatorWires,
    rng: fastrand::Rng,
}

impl ElevatorPhysics {
    /// The car idle at the lowest landing, doors closed.
    pub fn new(shaft: Shaft, plan: ElevatorPlan, wires: ElevatorWires, seed: u64) -> Self {
        let mut physics = Self {
            shaft,
            car: Car::at(shaft.landing_m(shaft.lowest)),
            door: Door::default(),
            traffic: Traffic::new(shaft, plan.first_call_ms, plan.mean_call_interval_ms, seed),
            floor: shaft.lowest,
            waiting: VecDeque::new(),
            riders: Vec::new(),
            phase: Phase::Idle,
            power_back_ms: None,
            jam_ends_ms: None,
            armed: plan.faults,
            motions: 0,
            wires,
            rng: fastrand::Rng::with_seed(seed.rotate_left(17)),
        };
        physics.publish();
        physics
    }

    /// The landing the car last stopped at.
    pub fn floor(&self) -> i16 {
        self.floor
    }

    pub fn position_m(&self) -> f32 {
        self.car.position_m
    }

    pub fn doors_open(&self) -> bool {
        self.door.is_open()
    }

    pub fn riders(&self) -> usize {
        self.riders.len()
    }

    pub fn has_power(&self) -> bool {
        self.power_back_ms.is_none()
    }

    pub fn door_jammed(&self) -> bool {
        self.door.is_jammed()
    }

    /// Completed car motions (start to standstill), trips and re-leveling.
    pub fn motions(&self) -> u32 {
        self.motions
    }

    fn strike(&mut self, fault: ElevatorFault, now_ms: u64) -> bool {
        match fault {
            ElevatorFault::PowerCut {
                armed_ms,
                outage_ms,
            } => {
                let cruising = self.car.velocity_mps.abs() >= 0.9 * DriveProfile::SERVICE.speed_mps;
                let strikes = now_ms >= armed_ms
                    && self.has_power()
                    && cruising
                    && !self.riders.is_empty()
                    && self.shaft.off_landing_m(self.car.position_m) >= CUT_CLEAR_OF_LANDING_M;
                if strikes {
                    self.power_back_ms = Some(now_ms + outage_ms);
                }
                strikes
            }
            ElevatorFault::DoorJam {
                armed_ms,
                jammed_ms,
            } => {
                let strikes =
                    now_ms >= armed_ms && self.door.is_closing() && self.door.opening() <= 0.5;
                if strikes {
                    self.door.set_jammed(true);
                    self.jam_ends_ms = Some(now_ms + jammed_ms);
                }
                strikes
            }
        }
    }

    fn apply_faults(&mut self, now_ms: u64) {
        let armed = std::mem::take(&mut self.armed);
        self.armed = armed
            .into_iter()
            .filter(|fault| !self.strike(*fault, now_ms))
            .collect();
        if self.jam_ends_ms.is_some_and(|end| now_ms >= end) {
            self.jam_ends_ms = None;
            self.door.set_jammed(false);
        }
        if self.power_back_ms.is_some_and(|back| now_ms >= back) {
            self.power_back_ms = None;
            self.phase = Phase::Travel {
                to: self.shaft.nearest_floor(self.car.position_m),
                profile: DriveProfile::RELEVEL,
                rescue: true,
            };
        }
    }

    /// Chooses what to do next with the car idle at a landing.
    fn dispatch(&mut self) {
        let target = self
            .riders
            .first()
            .map(|r| r.to)
            .or_else(|| self.waiting.front().map(|c| c.from));
        self.phase = match target {
            None => Phase::Idle,
            Some(floor) if floor == self.floor => self.open(false),
            Some(to) => Phase::Travel {
                to,
                profile: DriveProfile::SERVICE,
                rescue: false,
            },
        };
    }

    fn open(&mut self, evacuate: bool) -> Phase {
        self.door.command(DoorCommand::Open);
        Phase::Opening { evacuate }
    }

    /// Riders for this floor (everyone, after a rescue) get out; the
    /// groups waiting here get in, as long as the car can take them.
    fn exchange(&mut self, evacuate: bool) {
        let floor = self.floor;
        self.riders.retain(|r| !evacuate && r.to != floor);
        let mut load_kg: f32 = self.riders.iter().map(|r| r.kg).sum();
        let mut staying = VecDeque::new();
        for call in self.waiting.drain(..) {
            let group_kg: f32 = call.riders.iter().map(|r| r.kg).sum();
            if call.from == floor && load_kg + group_kg <= RATED_KG {
                load_kg += group_kg;
                self.riders.extend(call.riders);
            } else {
                staying.push_back(call);
            }
        }
        self.waiting = staying;
    }

    fn control(&mut self, now_ms: u64, dt_s: f32) {
        if let Phase::Travel {
            to,
            profile,
            rescue,
        } = self.phase
        {
            if self.car.drive(self.shaft.landing_m(to), profile, dt_s) {
                self.floor = to;
                self.phase = self.open(rescue);
            }
            return;
        }
        self.car.hold();
        self.phase = match self.phase {
            Phase::Opening { evacuate } if self.door.is_open() => {
                self.exchange(evacuate);
                Phase::Dwell {
                    until_ms: now_ms + DWELL_MS,
                }
            }
            Phase::Dwell { until_ms } if now_ms >= until_ms => {
                self.door.command(DoorCommand::Close);
                Phase::Closing
            }
            Phase::Closing if self.door.is_closed() => Phase::Idle,
            other => other,
        };
        if self.phase == Phase::Idle {
            self.dispatch();
        }
    }

    fn publish(&mut self) {
        let w = &self.wires;
        let rng = &mut self.rng;
        w.specific_force.set(Vector3::new(
            0.12 + gaussian(rng, ACCEL_NOISE),
            -0.2 + gaussian(rng, ACCEL_NOISE),
            STANDARD_GRAVITY + self.car.accel_mps2 + gaussian(rng, ACCEL_NOISE),
        ));
        w.door_closed.set(self.door.closed_contact());
        w.door_open.set(self.door.open_contact());
        let (upper, lower) = self.shaft.leveling(self.car.position_m);
        w.level_upper.set(upper);
        w.level_lower.set(lower);
        w.supply.set(self.has_power());
        w.occupancy.set(!self.riders.is_empty());
        let kg: f32 = self.riders.iter().map(|r| r.kg).sum();
        let amplifier_mv = LOAD_EMPTY_MV + (LOAD_FULL_MV - LOAD_EMPTY_MV) * kg / RATED_KG;
        w.load_mv.set(amplifier_mv / LOAD_DIVIDER);
    }
}

impl Physics for ElevatorPhysics {
    fn step(&mut self, now_ms: u64, dt_ms: u64) {
        let dt_s = dt_ms as f32 / 1000.0;
        self.waiting.extend(self.traffic.poll(now_ms));
        self.apply_faults(now_ms);
        let was_moving = !self.car.is_still();
        if self.has_power() {
            self.control(now_ms, dt_s);
        } else {
            self.car.brake(dt_s);
        }
        if was_moving && self.car.is_still() {
            self.motions += 1;
        }
        self.door.step(self.has_power(), dt_s);
        self.publish();
    }
}

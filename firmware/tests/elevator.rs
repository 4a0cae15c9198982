//! Elevator application on generated sample sequences from a small car
//! physics model: floors and trips counted right, entrapment raised and
//! cleared at the right times, power loss, door faults.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use retrofit_firmware::apps::elevator::{
    DoorContacts, ElevatorApp, ElevatorConfig, ElevatorMode, ElevatorSample, LevelingContacts,
};
use retrofit_firmware::apps::{Faults, NodeEvent};
use retrofit_firmware::sensor::Vector3;
use retrofit_protocols::{EventState, Value};
use support::{text, Noise, RunLog};

const STEP_MS: u64 = 20;
const FLOOR_HEIGHT_M: f64 = 3.0;
/// Vane half-length and sensor offsets from the car's reference point.
const VANE_HALF_M: f64 = 0.10;
const SENSOR_OFFSET_M: f64 = 0.05;
const ACCEL: f64 = 1.0;
const MAX_SPEED: f64 = 1.0;
const EMERGENCY_DECEL: f64 = 3.0;

#[derive(Clone, Copy, PartialEq)]
enum Door {
    Closed,
    Moving,
    Open,
}

/// A car in a hoistway: position 0 m is floor 1.
struct Car {
    pos: f64,
    vel: f64,
    accel: f64,
    target: Option<f64>,
    emergency_stop: bool,
    door: Door,
    occupied: bool,
    supply_ok: bool,
    noise: Noise,
}

impl Car {
    fn at_floor(floor: i16) -> Self {
        Self {
            pos: f64::from(floor - 1) * FLOOR_HEIGHT_M,
            vel: 0.0,
            accel: 0.0,
            target: None,
            emergency_stop: false,
            door: Door::Closed,
            occupied: false,
            supply_ok: true,
            noise: Noise::new(7),
        }
    }

    fn send_to(&mut self, floor: i16) {
        self.target = Some(f64::from(floor - 1) * FLOOR_HEIGHT_M);
    }

    fn stop_now(&mut self) {
        self.target = None;
        self.emergency_stop = true;
    }

    fn step(&mut self) {
        let dt = STEP_MS as f64 / 1000.0;
        self.accel = self.control();
        let v = self.vel + self.accel * dt;
        // Never overshoot zero speed while braking.
        self.vel = if self.vel != 0.0 && v.signum() != self.vel.signum() {
            0.0
        } else {
            v
        };
        self.pos += self.vel * dt;
        if let Some(target) = self.target {
            if (target - self.pos).abs() < 0.01 && self.vel.abs() < 0.06 {
                self.pos = target;
                self.vel = 0.0;
                self.target = None;
            }
        }
    }

    fn control(&self) -> f64 {
        if self.emergency_stop {
            return -self.vel.signum() * EMERGENCY_DECEL * f64::from(self.vel != 0.0);
        }
        let Some(target) = self.target else {
            return 0.0;
        };
        let remaining = target - self.pos;
        let braking = self.vel * self.vel / (2.0 * ACCEL);
        if remaining.abs() <= braking + 0.005 {
            -self.vel.signum() * ACCEL
        } else if self.vel.abs() < MAX_SPEED {
            remaining.signum() * ACCEL
        } else {
            0.0
        }
    }

    fn on_vane(p: f64) -> bool {
        let nearest = (p / FLOOR_HEIGHT_M).round() * FLOOR_HEIGHT_M;
        (p - nearest).abs() <= VANE_HALF_M
    }

    fn sample(&mut self) -> ElevatorSample {
        let up = 9.81 + self.accel + self.noise.next(0.03);
        ElevatorSample {
            acceleration: Some(Vector3::new(0.05, -0.02, up as f32)),
            door: Some(DoorContacts {
                closed: self.door == Door::Closed,
                open: self.door == Door::Open,
            }),
            leveling: Some(LevelingContacts {
                upper: Self::on_vane(self.pos + SENSOR_OFFSET_M),
                lower: Self::on_vane(self.pos - SENSOR_OFFSET_M),
            }),
            supply_ok: Some(self.supply_ok),
            mode: ElevatorMode::Normal,
            occupied: Some(self.occupied),
            load_pct: Some(if self.occupied { 12.5 } else { 0.0 }),
            faults: Faults::default(),
        }
    }
}

/// Runs the car and the app from `from` to `to`, calling `script` first at
/// each step.
fn drive(
    app: &mut ElevatorApp,
    car: &mut Car,
    log: &mut RunLog,
    from: u64,
    to: u64,
    mut script: impl FnMut(u64, &mut Car),
) {
    for t in (from..to).step_by(STEP_MS as usize) {
        script(t, car);
        car.step();
        let sample = car.sample();
        log.step(app, &sample, t);
    }
}

fn app() -> ElevatorApp {
    ElevatorApp::new(ElevatorConfig {
        lowest_floor: 1,
        highest_floor: 10,
        start_floor: 1,
        ..ElevatorConfig::default()
    })
    .unwrap()
}

#[test]
fn a_normal_ride_counts_floors_trips_and_door_cycles_without_alarms() {
    let (mut app, mut car, mut log) = (app(), Car::at_floor(1), RunLog::default());
    car.door = Door::Open;
    drive(&mut app, &mut car, &mut log, 0, 60_000, |t, car| match t {
        2_000 => car.occupied = true,
        5_000 => car.door = Door::Moving,
        8_000 => car.door = Door::Closed,
        9_000 => car.send_to(4),
        22_000 => car.door = Door::Moving,
        25_000 => {
            car.door = Door::Open;
            car.occupied = false;
        }
        30_000 => car.door = Door::Moving,
        33_000 => car.door = Door::Closed,
        _ => {}
    });
    assert!(log.events.is_empty(), "{:?}", log.events);
    assert_eq!(log.last("floor"), Some(Value::Number(4.0)));
    assert_eq!(log.last("trips_total"), Some(Value::Number(1.0)));
    assert_eq!(log.last("door_cycles_total"), Some(Value::Number(2.0)));
    assert_eq!(log.last("direction"), Some(text("idle")));
    assert_eq!(log.last("mode"), Some(text("normal")));
    // Floors reported on the way up, in order, each once.
    let floors: Vec<f64> = log
        .series("floor")
        .into_iter()
        .map(|(_, v)| {
            if let Value::Number(f) = v {
                f
            } else {
                f64::NAN
            }
        })
        .fold(Vec::new(), |mut acc, f| {
            if acc.last() != Some(&f) {
                acc.push(f);
            }
            acc
        });
    assert_eq!(floors, vec![1.0, 2.0, 3.0, 4.0]);
    // Moving up only while the car really moves.
    for (t, v) in log.series("direction") {
        if v == text("up") {
            assert!((9_000..21_000).contains(&t), "up at {t}");
        }
    }
    assert!(log
        .series("direction")
        .iter()
        .any(|(_, v)| *v == text("up")));
    let doors: Vec<Value> = log.series("door").into_iter().map(|(_, v)| v).collect();
    for state in ["open", "closing", "closed", "opening"] {
        assert!(doors.contains(&text(state)), "{state}");
    }
}

#[test]
fn entrapment_between_floors_after_a_power_cut_is_raised_and_cleared_on_time() {
    let (mut app, mut car, mut log) = (app(), Car::at_floor(1), RunLog::default());
    car.occupied = true;
    let mut stopped_at = None;
    let open_at = 200_000;
    drive(&mut app, &mut car, &mut log, 0, 220_000, |t, car| {
        if t == 1_000 {
            car.send_to(5);
        }
        if car.pos >= 5.0 && car.supply_ok && t < 30_000 {
            car.supply_ok = false;
            car.stop_now();
        }
        if stopped_at.is_none() && car.emergency_stop && car.vel == 0.0 {
            stopped_at = Some(t);
        }
        if t == 60_000 {
            car.supply_ok = true;
        }
        if t == open_at {
            car.door = Door::Moving;
        }
    });
    let stop = stopped_at.expect("the car stopped");
    let power = log.of(NodeEvent::PowerLoss);
    assert_eq!(power.len(), 2, "{power:?}");
    assert!(power[0].0 < stop && power[0].1 == EventState::Raised);
    assert_eq!(power[1], (60_000, EventState::Cleared));

    let stranded = log.of(NodeEvent::StoppedOutsideLanding);
    assert_eq!(stranded.len(), 1, "{stranded:?}");
    assert!(
        stranded[0].0.abs_diff(stop + 15_000) <= 200,
        "{stranded:?} vs stop {stop}"
    );

    let trapped = log.of(NodeEvent::Entrapment);
    assert_eq!(trapped.len(), 2, "{trapped:?}");
    assert_eq!(trapped[0].1, EventState::Raised);
    assert!(
        trapped[0].0.abs_diff(stop + 120_000) <= 200,
        "{trapped:?} vs stop {stop}"
    );
    assert_eq!(trapped[1], (open_at, EventState::Cleared));
    let floor = log.last("floor");
    assert_eq!(floor, Some(Value::Number(2.0)), "last vane passed");
}

#[test]
fn an_occupied_car_idle_at_a_landing_with_closed_doors_is_an_entrapment_too() {
    let (mut app, mut car, mut log) = (app(), Car::at_floor(3), RunLog::default());
    car.occupied = true;
    drive(&mut app, &mut car, &mut log, 0, 130_000, |t, car| {
        if t == 125_000 {
            car.occupied = false;
        }
    });
    assert_eq!(
        log.of(NodeEvent::Entrapment),
        vec![
            (120_000, EventState::Raised),
            (125_000, EventState::Cleared)
        ]
    );
    assert!(log.of(NodeEvent::StoppedOutsideLanding).is_empty());
}

#[test]
fn a_door_stuck_half_open_is_a_door_fault() {
    let (mut app, mut car, mut log) = (app(), Car::at_floor(2), RunLog::default());
    drive(&mut app, &mut car, &mut log, 0, 40_000, |t, car| match t {
        1_000 => car.door = Door::Moving,
        31_000 => car.door = Door::Open,
        35_000 => car.door = Door::Moving,
        38_000 => car.door = Door::Closed,
        _ => {}
    });
    assert_eq!(
        log.of(NodeEvent::DoorFault),
        vec![(16_000, EventState::Raised), (38_000, EventState::Cleared)]
    );
}

#[test]
fn a_failing_accelerometer_raises_sensor_fault_and_recovers() {
    let mut app = app();
    let mut car = Car::at_floor(1);
    let mut log = RunLog::default();
    for i in 0..20u64 {
        let mut sample = car.sample();
        if (5..12).contains(&i) {
            sample.acceleration = if i % 2 == 0 {
                None
            } else {
                Some(Vector3::new(f32::NAN, 0.0, 9.8))
            };
            sample
                .faults
                .insert(retrofit_firmware::apps::SensorId::Accelerometer);
        }
        log.step(&mut app, &sample, i * STEP_MS);
    }
    let faults: Vec<EventState> = log
        .of(NodeEvent::SensorFault)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(faults, vec![EventState::Raised, EventState::Cleared]);
}

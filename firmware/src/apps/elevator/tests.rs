//! Unit tests of the elevator's estimator and detectors on generated
//! sample sequences.

use retrofit_protocols::{EventState, Severity};

use super::*;
use crate::apps::event::EventTransition;

const STEP_MS: u64 = 20;

fn still_car(door: DoorState, in_door_zone: bool, occupied: bool) -> CarState {
    CarState {
        moving: false,
        door,
        door_reversed: false,
        in_door_zone,
        occupied: Some(occupied),
        supply_ok: Some(true),
    }
}

/// Runs `detector` over `car(t)` from `from_ms` to `to_ms`; returns the
/// transitions with their times.
fn run<F, D>(
    detector: &mut D,
    update: F,
    car: impl Fn(u64) -> CarState,
    from_ms: u64,
    to_ms: u64,
) -> heapless::Vec<(u64, EventTransition), 16>
where
    F: Fn(&mut D, &CarState, u64) -> Option<EventTransition>,
{
    let mut out = heapless::Vec::new();
    for t in (from_ms..to_ms).step_by(STEP_MS as usize) {
        if let Some(tr) = update(detector, &car(t), t) {
            out.push((t, tr)).unwrap();
        }
    }
    out
}

#[test]
fn entrapment_raises_after_the_delay_and_clears_when_the_doors_open() {
    let mut d = EntrapmentDetector::new(60_000);
    // Moving for 10 s, stops at t = 10 s with doors closed, doors open at 100 s.
    let car = |t: u64| {
        let mut c = still_car(
            if t < 100_000 {
                DoorState::Closed
            } else {
                DoorState::Opening
            },
            false,
            true,
        );
        c.moving = t < 10_000;
        c
    };
    let seen = run(&mut d, EntrapmentDetector::update, car, 0, 120_000);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, 70_000);
    assert_eq!(
        (seen[0].1.state, seen[0].1.severity),
        (EventState::Raised, Severity::Critical)
    );
    assert_eq!(seen[1].0, 100_000);
    assert_eq!(seen[1].1.state, EventState::Cleared);
}

#[test]
fn entrapment_is_not_cleared_by_the_car_moving_on() {
    let mut d = EntrapmentDetector::new(1_000);
    let car = |t: u64| {
        let mut c = still_car(DoorState::Closed, t >= 5_000, true);
        c.moving = (3_000..5_000).contains(&t);
        c
    };
    let seen = run(&mut d, EntrapmentDetector::update, car, 0, 8_000);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0], (1_000, seen[0].1));
    // The passenger leaving (occupancy off) clears it.
    let cleared = d
        .update(&still_car(DoorState::Closed, true, false), 9_000)
        .unwrap();
    assert_eq!(cleared.state, EventState::Cleared);
}

#[test]
fn an_empty_or_open_car_is_never_an_entrapment() {
    let mut d = EntrapmentDetector::new(1_000);
    let empty = |_| still_car(DoorState::Closed, true, false);
    assert!(run(&mut d, EntrapmentDetector::update, empty, 0, 10_000).is_empty());
    let open = |_| still_car(DoorState::Open, true, true);
    assert!(run(&mut d, EntrapmentDetector::update, open, 10_000, 20_000).is_empty());
    let unknown = |_| CarState {
        occupied: None,
        ..still_car(DoorState::Closed, true, true)
    };
    assert!(run(&mut d, EntrapmentDetector::update, unknown, 20_000, 30_000).is_empty());
}

#[test]
fn stopped_outside_landing_raises_after_the_delay_and_clears_at_a_door_zone() {
    let mut d = StoppedOutsideLandingDetector::new(15_000);
    let car = |t: u64| {
        let mut c = still_car(DoorState::Closed, t >= 40_000, false);
        c.moving = t < 5_000 || (38_000..40_000).contains(&t);
        c
    };
    let seen = run(
        &mut d,
        StoppedOutsideLandingDetector::update,
        car,
        0,
        50_000,
    );
    let times: heapless::Vec<(u64, EventState), 4> =
        seen.iter().map(|(t, tr)| (*t, tr.state)).collect();
    assert_eq!(
        times.as_slice(),
        &[(20_000, EventState::Raised), (40_000, EventState::Cleared)]
    );
}

#[test]
fn door_stuck_in_transit_is_a_fault_until_it_closes() {
    let mut d = DoorFaultDetector::new(DoorFaultConfig::default()).unwrap();
    let car = |t: u64| {
        still_car(
            if t < 30_000 {
                DoorState::Closing
            } else {
                DoorState::Closed
            },
            true,
            false,
        )
    };
    let seen = run(&mut d, DoorFaultDetector::update, car, 0, 40_000);
    let times: heapless::Vec<(u64, EventState), 4> =
        seen.iter().map(|(t, tr)| (*t, tr.state)).collect();
    assert_eq!(
        times.as_slice(),
        &[(15_000, EventState::Raised), (30_000, EventState::Cleared)]
    );
}

#[test]
fn door_reopening_again_and_again_is_a_fault() {
    let config = DoorFaultConfig {
        max_transit_ms: 60_000,
        max_reversals: 3,
        reversal_window_ms: 30_000,
    };
    let mut d = DoorFaultDetector::new(config).unwrap();
    let mut raised_at = None;
    // A reversal every 4 s (door bouncing off an obstruction).
    for t in (0..20_000).step_by(STEP_MS as usize) {
        let door = if (t / 2_000) % 2 == 0 {
            DoorState::Open
        } else {
            DoorState::Closing
        };
        let car = CarState {
            door_reversed: t % 4_000 == 0 && t > 0,
            ..still_car(door, true, true)
        };
        if let Some(tr) = d.update(&car, t) {
            assert_eq!(tr.state, EventState::Raised);
            raised_at.get_or_insert(t);
        }
    }
    assert_eq!(raised_at, Some(12_000));
    // Closed, but the reversals are still within the window: stays raised.
    assert_eq!(
        d.update(&still_car(DoorState::Closed, true, true), 20_000),
        None
    );
    let cleared = d
        .update(&still_car(DoorState::Closed, true, true), 46_000)
        .unwrap();
    assert_eq!(cleared.state, EventState::Cleared);
}

#[test]
fn door_fault_config_is_bounded() {
    let config = DoorFaultConfig {
        max_reversals: 9,
        ..DoorFaultConfig::default()
    };
    assert!(DoorFaultDetector::new(config).is_err());
}

#[test]
fn power_loss_follows_the_supply_sense() {
    let mut d = PowerLossDetector::default();
    let mut car = still_car(DoorState::Closed, true, false);
    assert_eq!(d.update(&car), None);
    car.supply_ok = Some(false);
    assert_eq!(d.update(&car).unwrap().state, EventState::Raised);
    car.supply_ok = None;
    assert_eq!(d.update(&car), None);
    car.supply_ok = Some(true);
    assert_eq!(d.update(&car).unwrap().state, EventState::Cleared);
}

/// Upward specific force for a trip: 1 m/s² for 1 s, cruise, -1 m/s² for 1 s.
fn trip_accel(t_ms: u64, start_ms: u64, cruise_ms: u64, sign: f32) -> f32 {
    let t = t_ms.saturating_sub(start_ms);
    let a = if t_ms < start_ms {
        0.0
    } else if t < 1_000 {
        1.0
    } else if t < 1_000 + cruise_ms {
        0.0
    } else if t < 2_000 + cruise_ms {
        -1.0
    } else {
        0.0
    };
    9.81 + sign * a
}

#[test]
fn motion_follows_a_trip_up_and_a_trip_down() {
    let mut m = MotionEstimator::new(MotionConfig::default()).unwrap();
    let mut moving_from = None;
    let mut stopped_at = None;
    for t in (0..12_000).step_by(STEP_MS as usize) {
        // Sensor noise of ±0.03 m/s² (below the dead band).
        let noise = if (t / STEP_MS).is_multiple_of(2) {
            0.03
        } else {
            -0.03
        };
        let up = trip_accel(t, 2_000, 6_000, 1.0) + noise;
        let motion = m.update(&Vector3::new(0.1, -0.2, up), false, t);
        if motion.moving {
            assert_eq!(motion.direction, Direction::Up, "at {t}");
            moving_from.get_or_insert(t);
        } else if moving_from.is_some() {
            stopped_at.get_or_insert(t);
        }
    }
    let (start, stop) = (moving_from.unwrap(), stopped_at.unwrap());
    assert!((2_100..2_300).contains(&start), "started at {start}");
    assert!((9_800..10_100).contains(&stop), "stopped at {stop}");
    assert!(!m.motion().moving);

    let mut moving_samples = 0;
    for t in (12_000..24_000).step_by(STEP_MS as usize) {
        let motion = m.update(
            &Vector3::new(0.0, 0.0, trip_accel(t, 14_000, 3_000, -1.0)),
            false,
            t,
        );
        if motion.moving {
            assert_eq!(motion.direction, Direction::Down, "at {t}");
            moving_samples += 1;
        }
    }
    assert!(moving_samples > 200, "{moving_samples}");
}

#[test]
fn open_doors_pin_the_car_still() {
    let mut m = MotionEstimator::new(MotionConfig::default()).unwrap();
    // Someone jumping in the car: strong pulses, doors open.
    for t in (0..5_000).step_by(STEP_MS as usize) {
        let up = if (t / 200) % 2 == 0 { 12.0 } else { 9.81 };
        assert!(!m.update(&Vector3::new(0.0, 0.0, up), true, t).moving);
    }
}

#[test]
fn trips_shorter_than_the_minimum_are_releveling() {
    let mut trips = TripCounter::new(2_000);
    trips.update(true, 0);
    trips.update(false, 1_500);
    trips.update(true, 3_000);
    trips.update(false, 9_000);
    assert_eq!(trips.total(), 1);
}

#[test]
fn every_enum_value_is_one_of_the_model() {
    use retrofit_protocols::metric::enum_code;
    for mode in ElevatorMode::ALL {
        assert!(enum_code("mode", mode.as_str()).unwrap().is_some());
    }
    for door in [
        DoorState::Closed,
        DoorState::Open,
        DoorState::Opening,
        DoorState::Closing,
    ] {
        assert!(enum_code("door", door.as_str()).unwrap().is_some());
    }
    for dir in [Direction::Idle, Direction::Up, Direction::Down] {
        assert!(enum_code("direction", dir.as_str()).unwrap().is_some());
    }
}

#[test]
fn refuses_inverted_floors() {
    let config = ElevatorConfig {
        lowest_floor: 5,
        highest_floor: 2,
        ..ElevatorConfig::default()
    };
    assert!(ElevatorApp::new(config).is_err());
}

//! Parking occupancy on generated magnetometer sequences: slow drift and
//! passing cars never flip the bay; a parked car does, once each way, after
//! the dwell time.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use proptest::prelude::*;
use retrofit_firmware::apps::parking::{
    OccupancyConfig, OccupancyDetector, ParkingApp, ParkingConfig, ParkingSample,
};
use retrofit_firmware::apps::{Faults, NodeEvent};
use retrofit_firmware::sensor::Vector3;
use retrofit_protocols::{EventState, Value};
use support::{Noise, RunLog};

const STEP_MS: u64 = 1_000;
const HOUR_MS: u64 = 3_600_000;
const EARTH: Vector3 = Vector3::new(20.0, -5.0, -40.0);
/// What a parked car adds (|d| ≈ 31 µT).
const CAR: Vector3 = Vector3::new(15.0, 10.0, -25.0);

/// A bay's field: earth + daily drift on z + noise + whatever car is there.
fn field(t_ms: u64, drift_ut: f64, noise: &mut Noise, noise_ut: f64, car: Option<f32>) -> Vector3 {
    let day = t_ms as f64 / (24 * HOUR_MS) as f64;
    let drift = (drift_ut * (day * std::f64::consts::TAU).sin()) as f32;
    let k = car.unwrap_or(0.0);
    Vector3::new(
        EARTH.x + k * CAR.x + noise.next(noise_ut) as f32,
        EARTH.y + k * CAR.y + noise.next(noise_ut) as f32,
        EARTH.z + drift + k * CAR.z + noise.next(noise_ut) as f32,
    )
}

/// Occupancy changes of `detector` over a run, with times.
fn changes(
    detector: &mut OccupancyDetector,
    until_ms: u64,
    mut field_at: impl FnMut(u64) -> Vector3,
) -> Vec<(u64, bool)> {
    let mut last = detector.occupied();
    let mut out = Vec::new();
    for t in (0..until_ms).step_by(STEP_MS as usize) {
        let now = detector.update(&field_at(t), t);
        if now != last {
            out.push((t, now));
            last = now;
        }
    }
    out
}

#[test]
fn a_day_of_drift_and_traffic_with_one_parked_car_flips_exactly_twice() {
    let config = OccupancyConfig::default();
    let mut d = OccupancyDetector::new(config).unwrap();
    let mut noise = Noise::new(42);
    let (park, leave) = (10 * HOUR_MS, 12 * HOUR_MS);
    let passing =
        |t: u64| (1..24).any(|h| (h * HOUR_MS + 600_000..h * HOUR_MS + 604_000).contains(&t));
    let seen = changes(&mut d, 24 * HOUR_MS, |t| {
        let car = if (park..leave).contains(&t) {
            Some(1.0)
        } else if passing(t) {
            Some(0.9)
        } else {
            None
        };
        // 15 µT of daily drift: more than the "on" threshold, but slow.
        field(t, 15.0, &mut noise, 1.5, car)
    });
    let dwell = u64::from(config.dwell_on_ms);
    assert_eq!(seen, vec![(park + dwell, true), (leave + dwell, false)]);
}

#[test]
fn the_baseline_follows_drift_only_while_vacant() {
    let mut d = OccupancyDetector::new(OccupancyConfig::default()).unwrap();
    let mut noise = Noise::new(3);
    changes(&mut d, 6 * HOUR_MS, |t| {
        field(t, 15.0, &mut noise, 0.0, None)
    });
    let expected = field(6 * HOUR_MS, 15.0, &mut noise, 0.0, None);
    let baseline = d.baseline().unwrap();
    assert!(
        baseline.distance_squared(&expected) < 1.0,
        "{baseline:?} vs {expected:?}"
    );
    // A parked car does not drag the baseline.
    let mut d2 = d;
    for t in (6 * HOUR_MS..8 * HOUR_MS).step_by(STEP_MS as usize) {
        d2.update(&field(t, 0.0, &mut noise, 0.0, Some(1.0)), t);
    }
    assert!(d2.occupied());
    assert!(d2.baseline().unwrap().distance_squared(&baseline) < 0.01);
}

#[test]
fn a_car_leaving_after_the_field_drifted_during_its_stay_is_seen_and_the_next_one_too() {
    let config = OccupancyConfig::default();
    let mut d = OccupancyDetector::new(config).unwrap();
    // 10 µT of drift during a 4-hour stay: more than `off_ut`.
    let drift = |t: u64| {
        Vector3::new(
            0.0,
            0.0,
            10.0 * (t.min(5 * HOUR_MS) as f32 / (5 * HOUR_MS) as f32),
        )
    };
    let at = |t: u64, car: bool| {
        let d = drift(t);
        if car {
            Vector3::new(EARTH.x + CAR.x, EARTH.y + CAR.y, EARTH.z + CAR.z + d.z)
        } else {
            Vector3::new(EARTH.x, EARTH.y, EARTH.z + d.z)
        }
    };
    let parked = |t: u64| (HOUR_MS..5 * HOUR_MS).contains(&t) || t >= 6 * HOUR_MS;
    let seen = changes(&mut d, 7 * HOUR_MS, |t| at(t, parked(t)));
    let dwell = u64::from(config.dwell_on_ms);
    assert_eq!(
        seen,
        vec![
            (HOUR_MS + dwell, true),
            (5 * HOUR_MS + dwell, false),
            (6 * HOUR_MS + dwell, true)
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// No flapping: any slow drift, sensor noise and passing cars shorter
    /// than the dwell time never change a vacant bay.
    #[test]
    fn drift_noise_and_passing_cars_never_flip_a_vacant_bay(
        drift_ut in 0.0f64..30.0,
        noise_ut in 0.0f64..2.0,
        pass_s in 1u64..7,
        strength in 0.5f32..2.0,
        seed in 1u64..u64::MAX,
    ) {
        let mut d = OccupancyDetector::new(OccupancyConfig::default()).unwrap();
        let mut noise = Noise::new(seed);
        let passing = |t: u64| (t % 900_000) < pass_s * 1_000 && t > 60_000;
        let seen = changes(&mut d, 6 * HOUR_MS, |t| {
            field(t, drift_ut, &mut noise, noise_ut, passing(t).then_some(strength))
        });
        prop_assert!(seen.is_empty(), "{:?}", seen);
    }
}

#[test]
fn the_app_reports_occupancy_changes_and_low_battery() {
    let config = ParkingConfig {
        report_interval_ms: HOUR_MS as u32,
        ..ParkingConfig::default()
    };
    let mut app = ParkingApp::new(config).unwrap();
    let mut log = RunLog::default();
    let mut noise = Noise::new(5);
    for t in (0..3 * HOUR_MS).step_by(STEP_MS as usize) {
        let car = (30 * 60_000..60 * 60_000).contains(&t).then_some(1.0);
        let battery = (30.0 - (t as f32 / HOUR_MS as f32) * 10.0).max(5.0);
        let sample = ParkingSample {
            field: Some(field(t, 0.0, &mut noise, 1.0, car)),
            battery_pct: Some(battery),
            faults: Faults::default(),
        };
        log.step(&mut app, &sample, t);
    }
    let occupied: Vec<(u64, Value)> = log.series("occupied");
    let flips: Vec<(u64, Value)> = occupied
        .windows(2)
        .filter(|w| w[0].1 != w[1].1)
        .map(|w| w[1].clone())
        .collect();
    assert_eq!(
        flips,
        vec![
            (30 * 60_000 + 8_000, Value::Bool(true)),
            (60 * 60_000 + 8_000, Value::Bool(false))
        ]
    );
    // First report, two changes, then an hourly heartbeat.
    let times: Vec<u64> = occupied.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        vec![
            0,
            30 * 60_000 + 8_000,
            60 * 60_000 + 8_000,
            120 * 60_000 + 8_000
        ]
    );
    assert_eq!(
        log.of(NodeEvent::BatteryLow),
        vec![(HOUR_MS, EventState::Raised)]
    );
}

#[test]
fn a_magnetometer_returning_garbage_is_a_sensor_fault() {
    let mut app = ParkingApp::new(ParkingConfig::default()).unwrap();
    let mut log = RunLog::default();
    for i in 0..10u64 {
        let sample = ParkingSample {
            field: Some(Vector3::new(f32::INFINITY, 0.0, 0.0)),
            battery_pct: None,
            faults: Faults::default(),
        };
        log.step(&mut app, &sample, i * STEP_MS);
    }
    assert_eq!(
        log.of(NodeEvent::SensorFault),
        vec![(4 * STEP_MS, EventState::Raised)]
    );
    assert_eq!(log.last("occupied"), Some(Value::Bool(false)));
}

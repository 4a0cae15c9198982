//! Cost per sample of the firmware's detectors and whole node applications,
//! on generated sample sequences (one iteration = one sample).
//!
//! Run: `cargo bench -p retrofit-firmware --bench detectors`

// A bench is a harness, like a test: a fixture it cannot build must stop it
// loudly, so it may unwrap (clippy.toml allows the same in tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use retrofit_firmware::apps::drainage::{
    BlockageConfig, BlockageDetector, DrainageApp, DrainageConfig, DrainageSample, HighWaterConfig,
    HighWaterDetector,
};
use retrofit_firmware::apps::elevator::{
    CarState, DoorContacts, DoorFaultConfig, DoorFaultDetector, DoorState, ElevatorApp,
    ElevatorConfig, ElevatorMode, ElevatorSample, EntrapmentDetector, LevelingContacts,
    LevelingDecoder, MotionConfig, MotionEstimator,
};
use retrofit_firmware::apps::parking::{
    OccupancyConfig, OccupancyDetector, ParkingApp, ParkingConfig, ParkingSample,
};
use retrofit_firmware::apps::{Faults, NodeApp};
use retrofit_firmware::sensor::Vector3;

const SAMPLES: usize = 1024;
const STEP_MS: u64 = 20;

/// Feeds `samples` round-robin with an advancing clock, one per iteration.
fn per_sample<S>(c: &mut Criterion, name: &str, samples: &[S], mut update: impl FnMut(&S, u64)) {
    let mut i = 0usize;
    let mut now = 0u64;
    c.bench_function(name, |b| {
        b.iter(|| {
            update(black_box(&samples[i % samples.len()]), now);
            i += 1;
            now += STEP_MS;
        })
    });
}

fn wave(i: usize, period: usize, amplitude: f32) -> f32 {
    amplitude * ((i % period) as f32 / period as f32 * std::f32::consts::TAU).sin()
}

fn car_states() -> Vec<CarState> {
    (0..SAMPLES)
        .map(|i| CarState {
            moving: i % 300 < 150,
            door: [
                DoorState::Closed,
                DoorState::Opening,
                DoorState::Open,
                DoorState::Closing,
            ][(i / 40) % 4],
            door_reversed: i % 97 == 0,
            in_door_zone: i % 300 >= 150,
            occupied: Some(i % 500 < 400),
            supply_ok: Some(true),
        })
        .collect()
}

fn elevator_samples() -> Vec<ElevatorSample> {
    (0..SAMPLES)
        .map(|i| ElevatorSample {
            acceleration: Some(Vector3::new(0.05, -0.02, 9.81 + wave(i, 256, 1.0))),
            door: Some(DoorContacts {
                closed: i % 400 < 300,
                open: i % 400 >= 350,
            }),
            leveling: Some(LevelingContacts {
                upper: i % 50 < 10,
                lower: (5..15).contains(&(i % 50)),
            }),
            supply_ok: Some(true),
            mode: ElevatorMode::Normal,
            occupied: Some(i % 500 < 400),
            load_pct: Some(20.0),
            faults: Faults::default(),
        })
        .collect()
}

fn fields() -> Vec<Vector3> {
    (0..SAMPLES)
        .map(|i| {
            let car = if i % 512 < 200 { 30.0 } else { 0.0 };
            Vector3::new(
                20.0 + car,
                -5.0 + wave(i, 64, 1.0),
                -40.0 + wave(i, 1000, 3.0),
            )
        })
        .collect()
}

fn levels() -> Vec<f32> {
    (0..SAMPLES)
        .map(|i| 0.8 + wave(i, 512, 0.5) + wave(i, 7, 0.02))
        .collect()
}

fn detectors(c: &mut Criterion) {
    let cars = car_states();
    let mut entrapment = EntrapmentDetector::new(120_000);
    per_sample(c, "entrapment_detector", &cars, |car, now| {
        black_box(entrapment.update(car, now));
    });
    let mut door = DoorFaultDetector::new(DoorFaultConfig::default()).unwrap();
    per_sample(c, "door_fault_detector", &cars, |car, now| {
        black_box(door.update(car, now));
    });
    let accel: Vec<Vector3> = elevator_samples()
        .iter()
        .filter_map(|s| s.acceleration)
        .collect();
    let mut motion = MotionEstimator::new(MotionConfig::default()).unwrap();
    per_sample(c, "motion_estimator", &accel, |a, now| {
        black_box(motion.update(a, false, now));
    });
    let contacts: Vec<LevelingContacts> = elevator_samples()
        .iter()
        .filter_map(|s| s.leveling)
        .collect();
    let mut leveling = LevelingDecoder::new(1, 30, 1);
    per_sample(c, "leveling_decoder", &contacts, |l, _| {
        black_box(leveling.update(l.upper, l.lower));
    });
    let mut occupancy = OccupancyDetector::new(OccupancyConfig::default()).unwrap();
    per_sample(c, "occupancy_detector", &fields(), |f, now| {
        black_box(occupancy.update(f, now));
    });
    let mut high_water = HighWaterDetector::new(HighWaterConfig::default()).unwrap();
    per_sample(c, "high_water_detector", &levels(), |l, _| {
        black_box(high_water.update(*l));
    });
    let mut blockage = BlockageDetector::new(BlockageConfig::default()).unwrap();
    per_sample(c, "blockage_detector", &levels(), |l, now| {
        black_box(blockage.update(*l, None, now * 1000));
    });
}

fn applications(c: &mut Criterion) {
    let mut elevator = ElevatorApp::new(ElevatorConfig::default()).unwrap();
    per_sample(c, "elevator_app_poll", &elevator_samples(), |s, now| {
        black_box(elevator.update(s, now).unwrap());
    });
    let parking_samples: Vec<ParkingSample> = fields()
        .into_iter()
        .map(|f| ParkingSample {
            field: Some(f),
            battery_pct: Some(80.0),
            faults: Faults::default(),
        })
        .collect();
    let mut parking = ParkingApp::new(ParkingConfig::default()).unwrap();
    per_sample(c, "parking_app_poll", &parking_samples, |s, now| {
        black_box(parking.update(s, now).unwrap());
    });
    let drainage_samples: Vec<DrainageSample> = levels()
        .into_iter()
        .enumerate()
        .map(|(i, l)| DrainageSample {
            level_m: Some(l),
            rain_tips: (i / 10) as u32,
            battery_pct: Some(80.0),
            faults: Faults::default(),
        })
        .collect();
    let mut drainage = DrainageApp::new(DrainageConfig::default()).unwrap();
    per_sample(c, "drainage_app_poll", &drainage_samples, |s, now| {
        black_box(drainage.update(s, now).unwrap());
    });
}

criterion_group!(benches, detectors, applications);
criterion_main!(benches);

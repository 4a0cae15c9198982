//! Drainage application on generated level and rain sequences: high-water
//! hysteresis without chatter, escalation to overflow, the blockage
//! heuristic, rain totals and rates, and loop faults.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use proptest::prelude::*;
use retrofit_firmware::apps::drainage::{
    BlockageConfig, BlockageDetector, DrainageApp, DrainageConfig, DrainageSample, HighWaterConfig,
    HighWaterDetector,
};
use retrofit_firmware::apps::{Faults, NodeApp, NodeEvent, SensorId};
use retrofit_protocols::{EventState, Severity, Value};
use support::{Noise, RunLog};

const STEP_MS: u64 = 10_000;
const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 3_600_000;

fn sample(level_m: f32, rain_tips: u32) -> DrainageSample {
    DrainageSample {
        level_m: Some(level_m),
        rain_tips,
        battery_pct: Some(80.0),
        faults: Faults::default(),
    }
}

fn number(v: Option<Value>) -> f64 {
    match v {
        Some(Value::Number(x)) => x,
        other => panic!("not a number: {other:?}"),
    }
}

proptest! {
    /// A level wandering around the warning threshold by less than the
    /// hysteresis raises once and never chatters.
    #[test]
    fn no_chatter_around_the_warning_level(
        amplitude in 0.0f32..0.045,
        seed in 1u64..u64::MAX,
    ) {
        let config = HighWaterConfig { warning_m: 0.8, overflow_m: 1.2, hysteresis_m: 0.05 };
        let mut d = HighWaterDetector::new(config).unwrap();
        let mut noise = Noise::new(seed);
        let mut transitions = Vec::new();
        for i in 0..2_000 {
            // Settles just above the warning level, then wanders around it.
            let level = 0.8 + 0.005 + noise.next(f64::from(amplitude)) as f32 * f32::from(i > 0);
            transitions.extend(d.update(level).map(|t| (t.state, t.severity)));
        }
        prop_assert_eq!(transitions, vec![(EventState::Raised, Severity::Major)]);
    }
}

#[test]
fn a_storm_escalates_to_overflow_and_back_with_hysteresis() {
    let mut app = DrainageApp::new(DrainageConfig::default()).unwrap();
    let mut log = RunLog::default();
    let mut noise = Noise::new(11);
    let mut tips = 0u32;
    // A 6-hour storm hydrograph: 0.3 m base, peak 1.4 m at 3 h, noise ±3 cm.
    for t in (0..6 * HOUR_MS).step_by(STEP_MS as usize) {
        let phase = t as f64 / (6 * HOUR_MS) as f64;
        let level = 0.3 + 1.1 * (phase * std::f64::consts::PI).sin().powi(2) + noise.next(0.03);
        if t % MINUTE_MS == 0 && t < 4 * HOUR_MS {
            tips += 1;
        }
        log.step(&mut app, &sample(level as f32, tips), t);
    }
    let high: Vec<(EventState, Severity)> = log
        .events
        .iter()
        .filter(|(_, e)| e.event == NodeEvent::HighWater)
        .map(|(_, e)| (e.state, e.severity))
        .collect();
    assert_eq!(
        high,
        vec![
            (EventState::Raised, Severity::Major),
            (EventState::Raised, Severity::Critical),
            (EventState::Raised, Severity::Major),
            (EventState::Cleared, Severity::Major),
        ]
    );
    assert!(
        log.of(NodeEvent::BlockageSuspected).is_empty(),
        "rain explains the rise"
    );
    assert!((number(log.last("rain_mm_total")) - 48.0).abs() < 1e-3);
    // Rain stopped at 4 h; by 6 h the last hour is dry.
    assert_eq!(number(log.last("rain_mm_h")), 0.0);
    let level_reports = log.series("level_m").len();
    assert!(
        (20..400).contains(&level_reports),
        "reports on level change: {level_reports}"
    );
}

#[test]
fn rain_rate_is_the_last_hour() {
    let mut app = DrainageApp::new(DrainageConfig::default()).unwrap();
    let mut log = RunLog::default();
    // 0.2 mm every 30 s for 90 minutes: 24 mm/h; then dry.
    for t in (0..150 * MINUTE_MS).step_by(STEP_MS as usize) {
        let tips = (t.min(90 * MINUTE_MS) / 30_000) as u32;
        log.step(&mut app, &sample(0.3, tips), t);
    }
    let rates = log.series("rain_mm_h");
    assert!(rates.len() >= 25, "{}", rates.len());
    for (t, rate) in rates {
        let rate = number(Some(rate));
        match t {
            // A full hour of rain (± the partly filled current minute).
            t if (61 * MINUTE_MS..90 * MINUTE_MS).contains(&t) => {
                assert!((rate - 24.0).abs() <= 0.8, "{rate} at {t}")
            }
            t if t >= 151 * MINUTE_MS => assert_eq!(rate, 0.0),
            _ => {}
        }
    }
    assert!((number(log.last("rain_mm_total")) - 36.0).abs() < 1e-3);
}

#[test]
fn a_rise_in_dry_weather_is_a_suspected_blockage() {
    let config = BlockageConfig::default();
    let mut d = BlockageDetector::new(config).unwrap();
    let mut events = Vec::new();
    // Dry: flat 0.25 m for an hour, then +0.3 m over 30 min, hold, recede.
    for t in (0..4 * HOUR_MS).step_by(STEP_MS as usize) {
        let level = match t {
            t if t < HOUR_MS => 0.25,
            t if t < HOUR_MS + 30 * MINUTE_MS => {
                0.25 + 0.3 * ((t - HOUR_MS) as f32 / (30 * MINUTE_MS) as f32)
            }
            t if t < 3 * HOUR_MS => 0.55,
            _ => 0.25,
        };
        events.extend(d.update(level, None, t).map(|e| (t, e.state)));
    }
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].1, EventState::Raised);
    assert!(
        (HOUR_MS..HOUR_MS + 20 * MINUTE_MS).contains(&events[0].0),
        "{events:?}"
    );
    assert_eq!(events[1], (3 * HOUR_MS, EventState::Cleared));

    // The same rise an hour after rain is runoff, not a blockage.
    let mut wet = BlockageDetector::new(config).unwrap();
    for t in (0..3 * HOUR_MS).step_by(STEP_MS as usize) {
        let level = if t < HOUR_MS { 0.25 } else { 0.55 };
        assert_eq!(wet.update(level, Some(HOUR_MS / 2), t), None, "at {t}");
    }
}

#[test]
fn an_open_loop_is_a_sensor_fault_not_a_level() {
    let mut app = DrainageApp::new(DrainageConfig::default()).unwrap();
    let mut log = RunLog::default();
    for i in 0..20u64 {
        let mut s = sample(0.4, 0);
        if i >= 5 {
            s.level_m = None;
            s.faults.insert(SensorId::Level);
        }
        log.step(&mut app, &s, i * STEP_MS);
    }
    assert_eq!(
        log.of(NodeEvent::SensorFault),
        vec![(9 * STEP_MS, EventState::Raised)]
    );
    assert!(log.of(NodeEvent::HighWater).is_empty());
    assert!(
        (number(log.last("level_m")) - 0.4).abs() < 1e-6,
        "last good level kept"
    );
}

#[test]
fn a_single_echo_spike_is_filtered_out() {
    let mut app = DrainageApp::new(DrainageConfig::default()).unwrap();
    for i in 0..10u64 {
        let level = if i == 6 { 3.0 } else { 0.5 };
        let out = app.update(&sample(level, 0), i * STEP_MS).unwrap();
        assert!(out.events.is_empty(), "{out:?}");
    }
    assert!((app.level_m().unwrap() - 0.5).abs() < 1e-6);
}

#[test]
fn configs_are_checked() {
    let bad_high = HighWaterConfig {
        warning_m: 1.0,
        overflow_m: 0.5,
        hysteresis_m: 0.05,
    };
    assert!(HighWaterDetector::new(bad_high).is_err());
    let no_hysteresis = HighWaterConfig {
        hysteresis_m: 0.0,
        ..HighWaterConfig::default()
    };
    assert!(HighWaterDetector::new(no_hysteresis).is_err());
    assert!(DrainageApp::new(DrainageConfig {
        mm_per_tip: 0.0,
        ..DrainageConfig::default()
    })
    .is_err());
    assert!(DrainageApp::new(DrainageConfig {
        level_alpha: 1.5,
        ..DrainageConfig::default()
    })
    .is_err());
}

//! Settings from the gateway, end to end on the node side: a Config frame
//! in wire bytes goes through the frame decoder and `NodeLink` (which acks
//! it), its settings are applied to the real applications, their behaviour
//! changes (a level that raised nothing now raises `high_water`, an
//! entrapment is raised sooner), bad values are refused with the old value
//! kept, and the Heartbeat reports the values in effect.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use retrofit_firmware::apps::drainage::{DrainageApp, DrainageConfig, DrainageSample};
use retrofit_firmware::apps::elevator::{
    DoorContacts, ElevatorApp, ElevatorConfig, ElevatorMode, ElevatorSample, LevelingContacts,
};
use retrofit_firmware::apps::settings::{apply, apply_and_save, Applied, SettingsStore};
use retrofit_firmware::apps::{Configurable, Faults, NodeApp, NodeEvent};
use retrofit_firmware::link::{Backoff, NodeLink};
use retrofit_protocols::edge::{
    encode, Ack, Config, ConfigKey, Frame, FrameDecoder, Message, NodeId, Settings, MAX_WIRE_LEN,
};
use retrofit_protocols::{EventState, Severity, Value};

/// The frames the node wrote to `wire` (a `Vec<u8>` is an
/// `embedded_io::Write`), which is left empty.
fn frames(wire: &mut Vec<u8>) -> Vec<Frame> {
    FrameDecoder::new()
        .feed(&std::mem::take(wire))
        .map(Result::unwrap)
        .collect()
}

fn node() -> NodeId {
    NodeId::new(17).unwrap()
}

fn settings(pairs: &[(&str, f64)]) -> Settings {
    let mut s = Settings::new();
    for (key, x) in pairs {
        s.push(ConfigKey::parse(key).unwrap(), Value::Number(*x))
            .unwrap();
    }
    s
}

/// The Config as the gateway puts it on the line, received by the node's
/// link: returns what the link hands to the application and what it sent.
fn over_the_line(
    link: &mut NodeLink<4>,
    seq: u32,
    pairs: &[(&str, f64)],
) -> (Settings, Vec<Frame>) {
    let frame = Frame::reliable(
        node(),
        seq,
        Config {
            settings: settings(pairs),
        },
    );
    let mut bytes = [0u8; MAX_WIRE_LEN];
    let len = encode(&frame, &mut bytes).unwrap();
    let mut wire = Vec::new();
    let mut received = None;
    for frame in FrameDecoder::new().feed(&bytes[..len]) {
        received = link.receive(&frame.unwrap(), 0, &mut wire).unwrap();
    }
    (received.unwrap().settings, frames(&mut wire))
}

fn level(level_m: f32) -> DrainageSample {
    DrainageSample {
        level_m: Some(level_m),
        rain_tips: 0,
        battery_pct: None,
        faults: Faults::default(),
    }
}

/// High-water transitions over 20 s of a steady level, from `from_ms`.
fn high_water(app: &mut DrainageApp, level_m: f32, from_ms: u64) -> Vec<(EventState, Severity)> {
    (0..20u64)
        .flat_map(|i| {
            app.update(&level(level_m), from_ms + i * 1_000)
                .unwrap()
                .events
        })
        .filter(|t| t.event == NodeEvent::HighWater)
        .map(|t| (t.state, t.severity))
        .collect()
}

#[test]
fn a_lower_warning_level_raises_high_water_at_a_level_that_was_normal() {
    let mut app = DrainageApp::new(DrainageConfig::default()).unwrap();
    assert_eq!(high_water(&mut app, 0.6, 0), [], "0.6 m is below 0.8 m");

    let mut link = NodeLink::new(node(), Backoff::DEFAULT);
    let (received, sent) = over_the_line(&mut link, 7, &[("warning_m", 0.5)]);
    let acks: Vec<_> = sent.iter().map(|f| f.message.clone()).collect();
    assert_eq!(acks, [Message::Ack(Ack::cumulative(7))], "acked at once");
    assert_eq!(apply(&mut app, &received).applied, 1);

    assert_eq!(
        high_water(&mut app, 0.6, 20_000),
        [(EventState::Raised, Severity::Major)]
    );
    let report = app.settings().report().unwrap();
    let mut beat = Vec::new();
    link.heartbeat_reporting(30_000, None, &report, &mut beat)
        .unwrap();
    let Message::Heartbeat(hb) = &frames(&mut beat)[0].message else {
        panic!("not a heartbeat");
    };
    assert_eq!(hb.settings.get("warning_m"), Some(&Value::Number(0.5)));
    assert_eq!(
        hb.settings.get("overflow_m"),
        Some(&Value::Number(1.2f32.into()))
    );
}

#[test]
fn out_of_range_and_crossed_values_are_refused_and_the_old_ones_kept() {
    let mut app = DrainageApp::new(DrainageConfig::default()).unwrap();
    let before = app.settings();
    let mut link = NodeLink::new(node(), Backoff::DEFAULT);
    let (received, sent) = over_the_line(
        &mut link,
        1,
        &[
            ("warning_m", 150.0),
            ("overflow_m", 0.5),
            ("report_interval_s", 0.25),
            ("entrapment_after_s", 60.0),
            ("future_setting", 1.0),
        ],
    );
    assert_eq!(sent.len(), 1, "acked even when nothing applies");
    let applied = apply(&mut app, &received);
    assert_eq!(
        applied,
        Applied {
            applied: 0,
            unknown: 2,
            refused: 3
        }
    );
    assert_eq!(app.settings(), before);
    assert_eq!(high_water(&mut app, 0.6, 0), []);
}

#[test]
fn a_shorter_entrapment_time_raises_entrapment_sooner() {
    let config = ElevatorConfig {
        entrapment_after_ms: 120_000,
        ..ElevatorConfig::default()
    };
    let shut_in = ElevatorSample {
        acceleration: None,
        door: Some(DoorContacts {
            closed: true,
            open: false,
        }),
        leveling: Some(LevelingContacts {
            upper: true,
            lower: true,
        }),
        supply_ok: Some(true),
        mode: ElevatorMode::Normal,
        occupied: Some(true),
        load_pct: None,
        faults: Faults::default(),
    };
    let raised_at = |app: &mut ElevatorApp| {
        (0..200u64).map(|s| s * 1_000).find(|&now| {
            let out = app.update(&shut_in, now).unwrap();
            out.events
                .iter()
                .any(|t| t.event == NodeEvent::Entrapment && t.state == EventState::Raised)
        })
    };
    assert_eq!(
        raised_at(&mut ElevatorApp::new(config).unwrap()),
        Some(120_000)
    );
    let mut app = ElevatorApp::new(config).unwrap();
    let applied = apply(&mut app, &settings(&[("entrapment_after_s", 30.0)]));
    assert_eq!(applied.applied, 1);
    assert_eq!(raised_at(&mut app), Some(30_000));
}

/// A flash page stand-in: the pairs as the edge link encodes them.
#[derive(Default)]
struct Flash {
    page: Vec<u8>,
    writes: u32,
}

impl SettingsStore for Flash {
    type Error = ();

    fn load(&mut self) -> Result<Option<Settings>, ()> {
        if self.page.is_empty() {
            return Ok(None);
        }
        let frames: Vec<_> = FrameDecoder::new().feed(&self.page).collect();
        match frames.as_slice() {
            [Ok(Frame {
                message: Message::Config(c),
                ..
            })] => Ok(Some(c.settings.clone())),
            _ => Err(()),
        }
    }

    fn save(&mut self, settings: &Settings) -> Result<(), ()> {
        let config = Config {
            settings: settings.clone(),
        };
        let mut bytes = [0u8; MAX_WIRE_LEN];
        let len = encode(&Frame::reliable(node(), 1, config), &mut bytes).map_err(|_| ())?;
        self.page = bytes[..len].to_vec();
        self.writes += 1;
        Ok(())
    }
}

#[test]
fn saved_settings_survive_a_reboot_and_a_resend_writes_nothing_new() {
    let mut flash = Flash::default();
    let mut app = DrainageApp::new(DrainageConfig::default()).unwrap();
    let config = settings(&[("warning_m", 0.5), ("overflow_m", 0.9)]);
    apply_and_save(&mut app, &config, &mut flash).unwrap();
    apply_and_save(&mut app, &config, &mut flash).unwrap();
    assert_eq!(flash.writes, 1, "the resend changed nothing");

    let mut rebooted = DrainageApp::new(DrainageConfig::default()).unwrap();
    retrofit_firmware::apps::settings::restore(&mut rebooted, &mut flash).unwrap();
    assert_eq!(rebooted.settings(), app.settings());
    // 1.0 m is a warning by default, an overflow above the restored 0.9 m.
    assert_eq!(
        high_water(&mut rebooted, 1.0, 0),
        [(EventState::Raised, Severity::Critical)]
    );
}

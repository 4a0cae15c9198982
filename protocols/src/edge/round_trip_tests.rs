//! Property tests: every message type survives encode then decode, in any
//! chunking, and encoding refuses what decoding would refuse.

use proptest::prelude::*;

use super::*;
use crate::{DeviceKind, EventName, EventState, MetricName, Severity, Timestamp, Value};

pub(super) fn wire(frame: &Frame) -> heapless::Vec<u8, MAX_WIRE_LEN> {
    let mut out = [0u8; MAX_WIRE_LEN];
    let len = encode(frame, &mut out).unwrap();
    heapless::Vec::from_slice(&out[..len]).unwrap()
}

pub(super) fn decode_all(bytes: &[u8]) -> std::vec::Vec<Result<Frame, DecodeError>> {
    FrameDecoder::new().feed(bytes).collect()
}

fn node_id() -> impl Strategy<Value = NodeId> {
    (1u16..0xFFFF).prop_map(|n| NodeId::new(n).unwrap())
}

fn stamp() -> impl Strategy<Value = Stamp> {
    prop_oneof![
        any::<u64>().prop_map(Stamp::Uptime),
        (0i64..=253_402_300_799_999).prop_map(|ms| Stamp::Unix(Timestamp::from_millis(ms))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|i| Value::Number(f64::from(i))),
        any::<f32>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| Value::Number(f64::from(x))),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Number),
        "[a-z0-9][a-z0-9_]{0,31}".prop_map(|s| Value::text(&s).unwrap()),
    ]
}

fn metric_name() -> impl Strategy<Value = MetricName> {
    "[a-z][a-z0-9_]{0,15}".prop_map(|s| MetricName::parse(&s).unwrap())
}

fn telemetry() -> impl Strategy<Value = Telemetry> {
    let metrics = proptest::collection::btree_map("[a-z][a-z0-9_]{0,11}", value(), 1..=6);
    (stamp(), metrics).prop_map(|(stamp, metrics)| {
        let mut t = Telemetry::new(stamp);
        for (name, value) in metrics {
            t.push(MetricName::parse(&name).unwrap(), value).unwrap();
        }
        t
    })
}

fn hello() -> impl Strategy<Value = Hello> {
    let kinds = [
        DeviceKind::Elevator,
        DeviceKind::EvCharger,
        DeviceKind::Parking,
        DeviceKind::Drainage,
    ];
    (
        proptest::sample::select(kinds.to_vec()),
        any::<(u8, u8, u16)>(),
        any::<u16>(),
    )
        .prop_map(|(kind, (major, minor, patch), caps)| Hello {
            firmware: FirmwareVersion {
                major,
                minor,
                patch,
            },
            kind,
            capabilities: Capabilities(caps),
        })
}

fn event() -> impl Strategy<Value = Event> {
    (
        stamp(),
        "[a-z][a-z0-9_]{0,47}",
        proptest::sample::select(Severity::ALL.to_vec()),
        proptest::sample::select(EventState::ALL.to_vec()),
        any::<u32>(),
    )
        .prop_map(|(stamp, name, severity, state, detail)| Event {
            stamp,
            name: EventName::parse(&name).unwrap(),
            severity,
            state,
            detail,
        })
}

/// `range` distinct settings with short keys (so that any of them fit a
/// Heartbeat's body).
fn settings(range: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Settings> {
    proptest::collection::btree_map("[a-z][a-z0-9_]{0,15}", value(), range).prop_map(|pairs| {
        let mut settings = Settings::new();
        for (key, value) in pairs {
            settings
                .push(ConfigKey::parse(&key).unwrap(), value)
                .unwrap();
        }
        settings
    })
}

fn heartbeat() -> impl Strategy<Value = Heartbeat> {
    (
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(0u8..=100),
        settings(0..=MAX_SETTINGS),
    )
        .prop_map(
            |(uptime_ms, dropped_frames, pending_from, battery_pct, settings)| Heartbeat {
                uptime_ms,
                dropped_frames,
                pending_from,
                battery_pct,
                settings,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        hello().prop_map(Message::from),
        telemetry().prop_map(Message::from),
        event().prop_map(Message::from),
        heartbeat().prop_map(Message::from),
        any::<(u32, u32)>().prop_map(|(up_to, selective)| Ack { up_to, selective }.into()),
        (0i64..=253_402_300_799_999).prop_map(|ms| TimeSync {
            unix_ms: Timestamp::from_millis(ms)
        }
        .into()),
        settings(1..=MAX_SETTINGS).prop_map(|settings| Config { settings }.into()),
        ("[a-z][a-z0-9_]{0,47}", value()).prop_map(|(key, value)| {
            let mut settings = Settings::new();
            settings
                .push(ConfigKey::parse(&key).unwrap(), value)
                .unwrap();
            Config { settings }.into()
        }),
    ]
}

pub(super) fn frame() -> impl Strategy<Value = Frame> {
    (node_id(), any::<u32>(), any::<bool>(), message()).prop_map(
        |(node, seq, ack_requested, message)| Frame {
            node,
            seq,
            ack_requested,
            message,
        },
    )
}

proptest! {
    #[test]
    fn every_message_round_trips(frame in frame(), split in 0usize..300) {
        let bytes = wire(&frame);
        prop_assert!(bytes.len() <= MAX_WIRE_LEN);
        prop_assert_eq!((bytes[0], bytes[bytes.len() - 1]), (0, 0));
        prop_assert!(!bytes[1..bytes.len() - 1].contains(&0));
        let (head, tail) = bytes.split_at(split.min(bytes.len()));
        let mut decoder = FrameDecoder::new();
        let mut got: std::vec::Vec<_> = decoder.feed(head).collect();
        got.extend(decoder.feed(tail));
        prop_assert_eq!(decoder.buffered(), 0);
        let byte_by_byte: std::vec::Vec<_> = bytes.iter().filter_map(|&b| decoder.push(b)).collect();
        prop_assert_eq!(&byte_by_byte, &got);
        prop_assert_eq!(got, std::vec![Ok(frame)]);
    }

    #[test]
    fn many_frames_back_to_back(frames in proptest::collection::vec(frame(), 1..8)) {
        let mut stream = std::vec::Vec::new();
        for f in &frames {
            stream.extend_from_slice(&wire(f));
        }
        let got: std::vec::Vec<_> = decode_all(&stream).into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn full_telemetry_fits_or_is_refused(names in proptest::collection::btree_set(metric_name(), MAX_METRICS)) {
        let mut t = Telemetry::new(Stamp::Uptime(1));
        for name in names {
            t.push(name, Value::Number(0.1)).unwrap();
        }
        let frame = Frame::reliable(NodeId::new(1).unwrap(), 1, t);
        match encode(&frame, &mut [0u8; MAX_WIRE_LEN]) {
            Ok(_) => prop_assert_eq!(decode_all(&wire(&frame)), std::vec![Ok(frame)]),
            Err(e) => prop_assert_eq!(e, EncodeError::BodyTooLarge),
        }
    }
}

#[test]
fn telemetry_refuses_duplicates_and_overflow() {
    let mut t = Telemetry::new(Stamp::Uptime(0));
    let name = |i: usize| MetricName::parse(&std::format!("m{i}")).unwrap();
    t.push(name(0), Value::Bool(true)).unwrap();
    assert_eq!(
        t.push(name(0), Value::Bool(false)),
        Err(MetricsError::Duplicate)
    );
    for i in 1..MAX_METRICS {
        t.push(name(i), Value::Bool(true)).unwrap();
    }
    assert_eq!(
        t.push(name(99), Value::Bool(true)),
        Err(MetricsError::TooMany)
    );
    assert_eq!(t.metrics().len(), MAX_METRICS);
}

#[test]
fn encode_refuses_what_decode_would_refuse() {
    let node = NodeId::new(3).unwrap();
    let refused = |message: Message, node: NodeId| {
        encode(&Frame::reliable(node, 1, message), &mut [0u8; MAX_WIRE_LEN])
    };
    let heartbeat = Heartbeat {
        uptime_ms: 0,
        dropped_frames: 0,
        pending_from: 1,
        battery_pct: Some(101),
        settings: Settings::new(),
    };
    assert_eq!(
        refused(heartbeat.clone().into(), node),
        Err(EncodeError::OutOfRange("battery"))
    );
    let mut long = Settings::new();
    for i in 0..MAX_SETTINGS {
        let key = std::format!("k{i}_{}", "x".repeat(40));
        long.push(ConfigKey::parse(&key).unwrap(), Value::Number(0.1))
            .unwrap();
    }
    let crowded = Heartbeat {
        battery_pct: None,
        settings: long.clone(),
        ..heartbeat
    };
    assert_eq!(
        refused(crowded.into(), node),
        Err(EncodeError::BodyTooLarge)
    );
    let empty = Config {
        settings: Settings::new(),
    };
    assert_eq!(
        refused(empty.into(), node),
        Err(EncodeError::OutOfRange("config settings"))
    );
    assert_eq!(
        refused(Config { settings: long }.into(), node),
        Err(EncodeError::BodyTooLarge)
    );
    let hello = Hello {
        firmware: FirmwareVersion {
            major: 1,
            minor: 0,
            patch: 0,
        },
        kind: DeviceKind::Gateway,
        capabilities: Capabilities(0),
    };
    assert_eq!(
        refused(hello.into(), node),
        Err(EncodeError::OutOfRange("device kind"))
    );
    assert_eq!(
        refused(Telemetry::new(Stamp::Uptime(0)).into(), node),
        Err(EncodeError::OutOfRange("metric count"))
    );
    let sync = TimeSync {
        unix_ms: Timestamp::from_millis(-1),
    };
    assert_eq!(
        refused(sync.into(), node),
        Err(EncodeError::OutOfRange("unix time"))
    );
    let event = Event {
        stamp: Stamp::Uptime(0),
        name: EventName::parse("offline").unwrap(),
        severity: Severity::Info,
        state: EventState::Instant,
        detail: 0,
    };
    assert_eq!(
        refused(event.clone().into(), NodeId::BROADCAST),
        Err(EncodeError::OutOfRange("node"))
    );
    assert_eq!(
        encode(&Frame::reliable(node, 1, event), &mut [0u8; 10]),
        Err(EncodeError::BufferTooSmall)
    );
}

#[test]
fn settings_refuse_duplicates_and_overflow() {
    let mut settings = Settings::new();
    settings.push_number(Setting::WarningM, 0.5).unwrap();
    assert_eq!(
        settings.push_number(Setting::WarningM, 0.6),
        Err(SettingsError::Duplicate)
    );
    assert_eq!(
        settings.push_number(Setting::OverflowM, f64::NAN),
        Err(SettingsError::NotFinite)
    );
    for i in 1..MAX_SETTINGS {
        let key = ConfigKey::parse(&std::format!("k{i}")).unwrap();
        settings.push(key, Value::Bool(true)).unwrap();
    }
    let key = ConfigKey::parse("one_more").unwrap();
    assert_eq!(
        settings.push(key, Value::Bool(true)),
        Err(SettingsError::TooMany)
    );
    assert_eq!(settings.get("warning_m"), Some(&Value::Number(0.5)));
}

#[test]
fn defined_settings_have_valid_keys_and_checked_ranges() {
    for setting in Setting::ALL {
        assert_eq!(setting.key().unwrap().as_str(), setting.name());
        assert_eq!(Setting::from_name(setting.name()), Some(setting));
        let (min, max, _) = setting.range();
        assert_eq!(setting.check(&Value::Number(min)), Ok(min));
        assert_eq!(setting.check(&Value::Number(max)), Ok(max));
        assert!(setting.check(&Value::Number(max + 1.0)).is_err());
        assert_eq!(
            setting.check(&Value::Bool(true)),
            Err(SettingError::NotANumber)
        );
    }
    assert_eq!(Setting::from_name("warning"), None);
    assert_eq!(
        Setting::ReportIntervalS.check(&Value::Number(1.5)),
        Err(SettingError::NotAnInteger)
    );
    assert_eq!(
        Setting::HysteresisM.check(&Value::Number(0.0)),
        Err(SettingError::OutOfRange {
            min: 0.001,
            max: 10.0
        })
    );
    assert!(Setting::WarningM.applies_to(DeviceKind::Drainage));
    assert!(!Setting::WarningM.applies_to(DeviceKind::Elevator));
    assert!(Setting::EntrapmentAfterS.applies_to(DeviceKind::Elevator));
    assert!(!Setting::ReportIntervalS.applies_to(DeviceKind::Gateway));
}

#[test]
fn ack_covers_cumulative_and_selective_sequences() {
    let ack = Ack {
        up_to: 10,
        selective: 0b101,
    };
    let acked: std::vec::Vec<u32> = (0..50).filter(|&s| ack.acknowledges(s)).collect();
    assert_eq!(acked, (0..=11).chain([13]).collect::<std::vec::Vec<_>>());
    let top = Ack {
        up_to: u32::MAX - 1,
        selective: u32::MAX,
    };
    assert!(top.acknowledges(u32::MAX));
}

#[test]
fn sizes_stay_small_enough_for_a_node_stack() {
    std::println!(
        "Frame {} B, FrameDecoder {} B",
        size_of::<Frame>(),
        size_of::<FrameDecoder>()
    );
    assert!(size_of::<Frame>() <= 1400);
    assert!(size_of::<FrameDecoder>() <= MAX_STUFFED_LEN + 16);
}

//! The exact bytes shown in `protocols/EDGE_LINK.md`: if the format
//! changes, these fail until the document is updated with it.

use super::round_trip_tests::{decode_all, wire};
use super::*;
use crate::{DeviceKind, MetricName, Timestamp, Value};

fn node() -> NodeId {
    NodeId::new(17).unwrap()
}

fn hex(bytes: &[u8]) -> std::string::String {
    bytes
        .iter()
        .map(|b| std::format!("{b:02x}"))
        .collect::<std::vec::Vec<_>>()
        .join(" ")
}

/// `raw`: header, body and CRC as documented; `stuffed`: the wire bytes.
fn assert_wire(frame: Frame, raw: &str, stuffed: &str) {
    let bytes = wire(&frame);
    let mut unstuffed = bytes[1..bytes.len() - 1].to_vec();
    let len = super::cobs::unstuff_in_place(&mut unstuffed).unwrap();
    assert_eq!(hex(&unstuffed[..len]), raw);
    assert_eq!(hex(&bytes), stuffed);
    assert_eq!(decode_all(&bytes), [Ok(frame)]);
}

#[test]
fn hello_bytes() {
    let hello = Hello {
        firmware: FirmwareVersion {
            major: 1,
            minor: 2,
            patch: 3,
        },
        kind: DeviceKind::Drainage,
        capabilities: Capabilities::TIME_SYNC
            .union(Capabilities::CONFIG)
            .union(Capabilities::BATTERY),
    };
    assert_wire(
        Frame::reliable(node(), 1, hello),
        "01 01 01 11 00 01 00 00 00 07 00 03 01 02 03 00 07 00 08 c2",
        "00 05 01 01 01 11 02 01 01 01 02 07 05 03 01 02 03 02 07 03 08 c2 00",
    );
}

#[test]
fn telemetry_bytes() {
    let ts: Timestamp = "2026-11-28T12:00:00.123Z".parse().unwrap();
    let mut telemetry = Telemetry::new(Stamp::Unix(ts));
    for (name, value) in [
        ("level_m", Value::Number(1.234)),
        ("battery_pct", Value::Number(87.5)),
        ("rssi_dbm", Value::Number(-97.0)),
        ("pump_on", Value::Bool(true)),
        ("pump_mode", Value::text("auto").unwrap()),
    ] {
        telemetry
            .push(MetricName::parse(name).unwrap(), value)
            .unwrap();
    }
    assert_wire(
        Frame::reliable(node(), 2, telemetry),
        concat!(
            "01 02 01 11 00 02 00 00 00 53 00 ",                   // header
            "01 7b ca 06 22 a2 01 00 00 ",                         // stamp: unix ms
            "05 ",                                                 // metric count
            "07 6c 65 76 65 6c 5f 6d 04 58 39 b4 c8 76 be f3 3f ", // level_m: f64 1.234
            "0b 62 61 74 74 65 72 79 5f 70 63 74 03 00 00 af 42 ", // battery_pct: f32 87.5
            "08 72 73 73 69 5f 64 62 6d 02 9f ff ff ff ",          // rssi_dbm: i32 -97
            "07 70 75 6d 70 5f 6f 6e 01 ",                         // pump_on: true
            "09 70 75 6d 70 5f 6d 6f 64 65 05 04 61 75 74 6f ",    // pump_mode: enum "auto"
            "7f 26",                                               // CRC
        ),
        concat!(
            "00 05 01 02 01 11 02 02 01 01 02 53 08 01 7b ca ",
            "06 22 a2 01 01 20 05 07 6c 65 76 65 6c 5f 6d 04 ",
            "58 39 b4 c8 76 be f3 3f 0b 62 61 74 74 65 72 79 ",
            "5f 70 63 74 03 01 2c af 42 08 72 73 73 69 5f 64 ",
            "62 6d 02 9f ff ff ff 07 70 75 6d 70 5f 6f 6e 01 ",
            "09 70 75 6d 70 5f 6d 6f 64 65 05 04 61 75 74 6f ",
            "7f 26 00",
        ),
    );
}

#[test]
fn ack_bytes() {
    assert_wire(
        Frame::unsequenced(node(), 0, Ack::cumulative(2)),
        "01 10 00 11 00 00 00 00 00 04 00 02 00 00 00 24 f9",
        "00 03 01 10 02 11 01 01 01 01 02 04 02 02 01 01 03 24 f9 00",
    );
    let selective = Ack {
        up_to: 2,
        selective: 0b101,
    };
    assert_wire(
        Frame::unsequenced(node(), 0, selective),
        "01 10 00 11 00 00 00 00 00 08 00 02 00 00 00 05 00 00 00 07 6d",
        "00 03 01 10 02 11 01 01 01 01 02 08 02 02 01 01 02 05 01 01 03 07 6d 00",
    );
}

fn drainage_settings() -> Settings {
    let mut settings = Settings::new();
    settings.push_number(Setting::WarningM, 0.5).unwrap();
    settings
        .push_number(Setting::ReportIntervalS, 60.0)
        .unwrap();
    settings
}

#[test]
fn config_bytes() {
    let config = Config {
        settings: drainage_settings(),
    };
    assert_wire(
        Frame::reliable(node(), 3, config),
        concat!(
            "01 12 01 11 00 03 00 00 00 26 00 ",             // header
            "09 77 61 72 6e 69 6e 67 5f 6d 03 00 00 00 3f ", // warning_m: f32 0.5
            "11 72 65 70 6f 72 74 5f 69 6e 74 65 72 76 61 6c 5f 73 02 3c 00 00 00 ", // report_interval_s: i32 60
            "7e 4e",                                                                 // CRC
        ),
        concat!(
            "00 05 01 12 01 11 02 03 01 01 02 26 0c 09 77 61 ",
            "72 6e 69 6e 67 5f 6d 03 01 01 16 3f 11 72 65 70 ",
            "6f 72 74 5f 69 6e 74 65 72 76 61 6c 5f 73 02 3c ",
            "01 01 03 7e 4e 00",
        ),
    );
}

#[test]
fn heartbeat_with_settings_bytes() {
    let heartbeat = Heartbeat {
        uptime_ms: 90_000,
        dropped_frames: 0,
        pending_from: 5,
        battery_pct: Some(87),
        settings: drainage_settings(),
    };
    assert_wire(
        Frame::unsequenced(node(), 4, heartbeat),
        concat!(
            "01 04 00 11 00 04 00 00 00 39 00 ",                   // header
            "90 5f 01 00 00 00 00 00 00 00 00 00 05 00 00 00 57 ", // the 17 fixed bytes
            "01 26 ",                                              // extension: settings, 38 bytes
            "09 77 61 72 6e 69 6e 67 5f 6d 03 00 00 00 3f ",       // warning_m: f32 0.5
            "11 72 65 70 6f 72 74 5f 69 6e 74 65 72 76 61 6c 5f 73 02 3c 00 00 00 ", // report_interval_s: i32 60
            "26 58",                                                                 // CRC
        ),
        concat!(
            "00 03 01 04 02 11 02 04 01 01 02 39 04 90 5f 01 ",
            "01 01 01 01 01 01 01 01 02 05 01 01 0f 57 01 26 ",
            "09 77 61 72 6e 69 6e 67 5f 6d 03 01 01 16 3f 11 ",
            "72 65 70 6f 72 74 5f 69 6e 74 65 72 76 61 6c 5f ",
            "73 02 3c 01 01 03 26 58 00",
        ),
    );
}

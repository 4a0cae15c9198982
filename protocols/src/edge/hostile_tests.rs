//! Hostile input: every way a frame can be wrong is reported precisely, and
//! whatever the bytes, the decoder never panics and never loses the next
//! good frame.

use std::vec::Vec;

use proptest::prelude::*;

use super::error::{bad, Problem};
use super::round_trip_tests::{decode_all, frame, wire};
use super::*;
use crate::{MetricName, Value};

/// Header fields for a hand-made frame.
struct Raw {
    version: u8,
    kind: u8,
    flags: u8,
    node: u16,
    declared: Option<u16>,
}

const HEARTBEAT: Raw = Raw {
    version: 1,
    kind: 0x04,
    flags: 0,
    node: 9,
    declared: None,
};
const TELEMETRY: Raw = Raw {
    kind: 0x02,
    ..HEARTBEAT
};
const TIME_SYNC: Raw = Raw {
    kind: 0x11,
    ..HEARTBEAT
};
const CONFIG: Raw = Raw {
    kind: 0x12,
    flags: 0x01,
    ..HEARTBEAT
};

impl Raw {
    /// Header + body + a correct CRC, stuffed and delimited.
    fn wire(&self, body: &[u8]) -> Vec<u8> {
        let mut raw = Vec::from([self.version, self.kind, self.flags]);
        raw.extend_from_slice(&self.node.to_le_bytes());
        raw.extend_from_slice(&5u32.to_le_bytes());
        let declared = self.declared.unwrap_or(body.len() as u16);
        raw.extend_from_slice(&declared.to_le_bytes());
        raw.extend_from_slice(body);
        let crc = super::crc::crc16(&raw);
        raw.extend_from_slice(&crc.to_le_bytes());
        stuffed(&raw)
    }
}

fn stuffed(raw: &[u8]) -> Vec<u8> {
    let mut out = std::vec![0u8; raw.len() * 2 + 3];
    let len = super::cobs::stuff(raw, &mut out[1..]).unwrap();
    out.truncate(len + 2);
    out[len + 1] = 0;
    out
}

fn good_frame() -> Frame {
    let mut t = Telemetry::new(Stamp::Uptime(86_400_000));
    for (name, value) in [
        ("level_m", Value::Number(1.234)),
        ("rain_mm_total", Value::Number(1234.0)),
        ("rain_mm_h", Value::Number(0.5)),
        ("battery_pct", Value::Number(87.5)),
        ("rssi_dbm", Value::Number(-97.0)),
        ("snr_db", Value::Number(7.5)),
    ] {
        t.push(MetricName::parse(name).unwrap(), value).unwrap();
    }
    Frame::reliable(NodeId::new(17).unwrap(), 1234, t)
}

/// The results of `bytes` followed by a good frame, whose decoding must be
/// the last result; returns the results before it.
fn errors_before_good_frame(bytes: &[u8]) -> Vec<Result<Frame, DecodeError>> {
    let good = good_frame();
    let mut stream = bytes.to_vec();
    stream.extend_from_slice(&wire(&good));
    let mut results = decode_all(&stream);
    assert_eq!(results.pop(), Some(Ok(good)), "after {bytes:02x?}");
    results
}

fn heartbeat_body() -> Vec<u8> {
    let mut body = Vec::from(7u64.to_le_bytes());
    body.extend_from_slice(&[0; 8]);
    body.push(0xFF);
    body
}

/// Each case's bytes, followed by a good frame, yield its error and
/// nothing else before the good frame.
fn assert_each_refused(cases: impl IntoIterator<Item = (Vec<u8>, DecodeError)>) {
    for (bytes, want) in cases {
        assert_eq!(
            errors_before_good_frame(&bytes),
            [Err(want)],
            "{bytes:02x?}"
        );
    }
}

/// `cases` as whole frames: each header with its body.
fn framed<const N: usize>(
    cases: [(Raw, Vec<u8>, DecodeError); N],
) -> impl Iterator<Item = (Vec<u8>, DecodeError)> {
    cases
        .into_iter()
        .map(|(raw, body, want)| (raw.wire(&body), want))
}

#[test]
fn each_header_fault_has_its_own_error() {
    let body = heartbeat_body();
    let cases: [(Vec<u8>, DecodeError); 8] = [
        (stuffed(&[1, 2, 3, 4, 5]), DecodeError::Truncated { len: 5 }),
        (Vec::from([0, 0x05, 0x11, 0]), DecodeError::Cobs),
        (
            Raw {
                version: 2,
                ..HEARTBEAT
            }
            .wire(&body),
            DecodeError::UnknownVersion(2),
        ),
        (
            Raw {
                kind: 0x7F,
                ..HEARTBEAT
            }
            .wire(&body),
            DecodeError::UnknownType(0x7F),
        ),
        (
            Raw {
                flags: 0x02,
                ..HEARTBEAT
            }
            .wire(&body),
            bad("flags", Problem::OutOfRange),
        ),
        (
            Raw {
                node: 0,
                ..HEARTBEAT
            }
            .wire(&body),
            bad("node", Problem::OutOfRange),
        ),
        (
            Raw {
                node: 0xFFFF,
                ..HEARTBEAT
            }
            .wire(&body),
            bad("node", Problem::OutOfRange),
        ),
        (
            Raw {
                declared: Some(99),
                ..HEARTBEAT
            }
            .wire(&body),
            DecodeError::BodyLength {
                declared: 99,
                actual: 17,
            },
        ),
    ];
    assert_each_refused(cases);
}

#[test]
fn a_wrong_crc_is_reported_with_both_values() {
    let mut bytes = HEARTBEAT.wire(&heartbeat_body());
    let crc_at = bytes.len() - 2;
    bytes[crc_at] ^= 0x01;
    match errors_before_good_frame(&bytes).as_slice() {
        [Err(DecodeError::BadCrc { found, computed })] => assert_eq!(found ^ computed, 0x0100),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_body_fault_has_its_own_error() {
    let stamp = [0u8; 9];
    let with_stamp = |rest: &[u8]| [&stamp[..], rest].concat();
    let cases: [(Raw, Vec<u8>, DecodeError); 12] = [
        (
            HEARTBEAT,
            Vec::from([1, 2, 3]),
            bad("uptime", Problem::Missing),
        ),
        (TIME_SYNC, Vec::from([0; 9]), bad("body", Problem::Trailing)),
        (
            HEARTBEAT,
            [&heartbeat_body()[..16], &[150]].concat(),
            bad("battery", Problem::OutOfRange),
        ),
        (
            TELEMETRY,
            Vec::from([7, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            bad("stamp", Problem::OutOfRange),
        ),
        (
            TELEMETRY,
            [&[1u8][..], &[0xFF; 8], &[1]].concat(),
            bad("stamp", Problem::OutOfRange),
        ),
        (
            TELEMETRY,
            with_stamp(&[0]),
            bad("metric count", Problem::OutOfRange),
        ),
        (
            TELEMETRY,
            with_stamp(&[13]),
            bad("metric name", Problem::Missing),
        ),
        (
            TELEMETRY,
            with_stamp(&[1, 2, b'L', b'm', 0]),
            bad("metric name", Problem::BadName),
        ),
        (
            TELEMETRY,
            with_stamp(&[1, 2, 0xC3, 0x28, 0]),
            bad("metric name", Problem::BadName),
        ),
        (
            TELEMETRY,
            with_stamp(&[2, 1, b'a', 1, 1, b'a', 0]),
            bad("metric name", Problem::Duplicate),
        ),
        (
            TELEMETRY,
            with_stamp(&[1, 1, b'a', 3, 0, 0, 0xC0, 0x7F]),
            bad("value", Problem::OutOfRange),
        ),
        (
            TELEMETRY,
            with_stamp(&[1, 1, b'a', 9]),
            bad("value", Problem::OutOfRange),
        ),
    ];
    assert_each_refused(framed(cases));
}

#[test]
fn each_settings_fault_has_its_own_error() {
    let with_fixed = |ext: &[u8]| [heartbeat_body(), ext.to_vec()].concat();
    let pair = [1, b'a', 2, 1, 0, 0, 0];
    let cases: [(Raw, Vec<u8>, DecodeError); 9] = [
        (CONFIG, Vec::new(), bad("config settings", Problem::Missing)),
        (
            CONFIG,
            Vec::from([1, b'A', 1]),
            bad("config key", Problem::BadName),
        ),
        (
            CONFIG,
            [&pair[..], &pair[..]].concat(),
            bad("config key", Problem::Duplicate),
        ),
        (
            CONFIG,
            Vec::from([1, b'a', 7]),
            bad("value", Problem::OutOfRange),
        ),
        (
            CONFIG,
            (0..9u8).flat_map(|i| [1, b'a' + i, 0]).collect(),
            bad("config settings", Problem::OutOfRange),
        ),
        (
            HEARTBEAT,
            with_fixed(&[1]),
            bad("heartbeat extension", Problem::Missing),
        ),
        (
            HEARTBEAT,
            with_fixed(&[1, 9, 1, b'a']),
            bad("heartbeat extension", Problem::Missing),
        ),
        (
            HEARTBEAT,
            with_fixed(&[1, 0]),
            bad("heartbeat settings", Problem::Missing),
        ),
        (
            HEARTBEAT,
            with_fixed(&[[1, 7].as_slice(), &pair, &[1, 7], &pair].concat()),
            bad("heartbeat settings", Problem::Duplicate),
        ),
    ];
    assert_each_refused(framed(cases));
}

#[test]
fn unknown_heartbeat_extensions_are_skipped() {
    let pair = [1, b'a', 2, 5, 0, 0, 0];
    let body = [
        heartbeat_body(),
        Vec::from([0x7E, 2, 0xAA, 0xBB, 1, 7]),
        pair.to_vec(),
    ]
    .concat();
    let mut results = errors_before_good_frame(&HEARTBEAT.wire(&body));
    let Some(Ok(Frame {
        message: Message::Heartbeat(hb),
        ..
    })) = results.pop()
    else {
        panic!("{results:?}");
    };
    assert_eq!(hb.settings.get("a"), Some(&Value::Number(5.0)));
    assert_eq!(hb.settings.len(), 1);
}

#[test]
fn an_oversized_frame_is_dropped_whole() {
    let results = errors_before_good_frame(&[0x42; 3 * MAX_WIRE_LEN]);
    assert_eq!(results, [Err(DecodeError::Oversized)]);
}

#[test]
fn every_truncation_is_an_error_and_the_next_frame_survives() {
    let bytes = wire(&good_frame());
    for cut in 2..bytes.len() - 1 {
        let results = errors_before_good_frame(&bytes[..cut]);
        assert_eq!(results.len(), 1, "cut at {cut}");
        assert!(results[0].is_err(), "cut at {cut}");
    }
}

/// A corrupted frame is never accepted, and never costs the frame before
/// or after it.
#[test]
fn every_single_byte_corruption_is_caught() {
    let before = Frame::unsequenced(NodeId::new(2).unwrap(), 0, Ack::cumulative(9));
    let target = wire(&good_frame());
    let mut stream = wire(&before).to_vec();
    let prefix = stream.len();
    stream.extend_from_slice(&target);
    for at in 0..target.len() {
        for replacement in (0..=255u8).filter(|&b| b != target[at]) {
            let mut corrupted = stream.clone();
            corrupted[prefix + at] = replacement;
            let mut results = errors_before_good_frame(&corrupted);
            assert_eq!(results.remove(0), Ok(before.clone()));
            assert!(
                results.iter().all(Result::is_err),
                "byte {at} = {replacement:#04x}: {results:?}"
            );
        }
    }
}

proptest! {
    #[test]
    fn garbage_between_frames_costs_no_good_frame(
        first in frame(),
        garbage in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut stream = wire(&first).to_vec();
        stream.extend_from_slice(&garbage);
        let results = errors_before_good_frame(&stream);
        prop_assert_eq!(results.first(), Some(&Ok(first)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 0..6)) {
        let mut decoder = FrameDecoder::new();
        for chunk in &chunks {
            for frame in decoder.feed(chunk).flatten() {
                prop_assert_eq!(decode_all(&wire(&frame)), std::vec![Ok(frame)]);
            }
            prop_assert!(decoder.buffered() <= MAX_STUFFED_LEN);
        }
    }
}

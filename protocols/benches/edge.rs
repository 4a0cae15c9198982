//! Edge link codec throughput: encoding and decoding a typical telemetry
//! frame (a drainage node's 6 metrics), reported in frames per second.
//! Measures only; asserts nothing beyond the frame surviving the trip.

// A bench is a harness, like a test: a fixture it cannot build must stop it
// loudly, so it may unwrap (clippy.toml allows the same in tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use retrofit_protocols::edge::{
    encode, Frame, FrameDecoder, NodeId, Stamp, Telemetry, MAX_WIRE_LEN,
};
use retrofit_protocols::{MetricName, Timestamp, Value};

fn typical_telemetry() -> Frame {
    let ts = Timestamp::from_millis(1_795_867_200_123);
    let mut telemetry = Telemetry::new(Stamp::Unix(ts));
    for (name, value) in [
        ("level_m", 1.234),
        ("rain_mm_total", 1_234.0),
        ("rain_mm_h", 0.5),
        ("battery_pct", 87.5),
        ("rssi_dbm", -97.0),
        ("snr_db", 7.5),
    ] {
        telemetry
            .push(MetricName::parse(name).unwrap(), Value::Number(value))
            .unwrap();
    }
    Frame::reliable(NodeId::new(17).unwrap(), 1_234, telemetry)
}

fn codec(c: &mut Criterion) {
    let frame = typical_telemetry();
    let mut wire = [0u8; MAX_WIRE_LEN];
    let len = encode(&frame, &mut wire).unwrap();
    let wire = &wire[..len];
    let mut group = c.benchmark_group(format!("edge_telemetry_6_metrics_{len}_bytes"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode", |b| {
        let mut out = [0u8; MAX_WIRE_LEN];
        b.iter(|| encode(black_box(&frame), &mut out).unwrap())
    });
    group.bench_function("decode", |b| {
        let mut decoder = FrameDecoder::new();
        b.iter(|| decoder.feed(black_box(wire)).next().unwrap().unwrap())
    });
    group.finish();
    let mut decoder = FrameDecoder::new();
    assert_eq!(decoder.feed(wire).next(), Some(Ok(frame)));
}

criterion_group!(benches, codec);
criterion_main!(benches);

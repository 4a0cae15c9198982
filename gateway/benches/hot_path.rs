//! The per-message hot path of the LoRaWAN slice: decode a ChirpStack v4
//! uplink (JSON), normalize it, encode the MQTT payload and the line
//! protocol point; plus each step alone, and the bare JSON scan
//! (serde_json into `IgnoredAny`). Figures in docs/BENCHMARKS.md.

// A bench is a harness, like a test: a fixture it cannot build must stop it
// loudly, so it may unwrap (clippy.toml allows the same in tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use retrofit_gateway::config::Config;
use retrofit_gateway::links::lorawan::LorawanConfig;
use retrofit_gateway::links::LinkSpec;
use retrofit_protocols::chirpstack::Uplink;
use retrofit_protocols::line_protocol::write_reading;

const DEMO: &str = include_str!("../../config/demo.toml");
const UPLINK: &str = include_str!("../../protocols/testdata/chirpstack-v4-uplink.json");
const TOPIC: &str = "application/7d3c1f2a/device/a84041000181c617/event/up";

fn demo_link() -> LorawanConfig {
    let config = Config::parse(DEMO, "demo.toml").expect("demo config");
    match config.links.into_iter().next() {
        Some(LinkSpec::Lorawan(link)) => link,
        _ => panic!("demo's first link is lorawan"),
    }
}

/// The reference uplink as ChirpStack publishes it: compact JSON (here
/// with its keys sorted).
fn compact(text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).expect("reference JSON");
    v.to_string()
}

/// The reference uplink without `object`, so the LDDS75 decoder runs.
fn uplink_without_object() -> String {
    let mut v: serde_json::Value = serde_json::from_str(UPLINK).expect("reference JSON");
    v.as_object_mut().map(|o| o.remove("object"));
    v["data"] = "DOQG5gAAAAE=".into();
    v.to_string()
}

fn whole_path(c: &mut Criterion) {
    let link = demo_link();
    let mut g = c.benchmark_group("uplink_to_outputs");
    g.throughput(Throughput::Elements(1));
    for (name, payload) in [
        ("object", UPLINK.to_string()),
        ("object_compact", compact(UPLINK)),
        ("decoder", uplink_without_object()),
    ] {
        g.bench_function(name, |b| {
            let mut line = String::with_capacity(256);
            b.iter(|| {
                let reading = link
                    .reading_from_uplink(TOPIC, payload.as_bytes())
                    .expect("valid uplink");
                let json = reading.to_json();
                line.clear();
                write_reading(&mut line, &reading).expect("line");
                (json.len(), line.len())
            })
        });
    }
    g.finish();
}

fn steps(c: &mut Criterion) {
    let link = demo_link();
    let reading = link
        .reading_from_uplink(TOPIC, UPLINK.as_bytes())
        .expect("valid uplink");
    let mut g = c.benchmark_group("steps");
    g.bench_function("parse_uplink_json", |b| {
        b.iter(|| Uplink::parse(UPLINK).map(|u| u.f_cnt))
    });
    g.bench_function("parse_and_normalize", |b| {
        b.iter(|| {
            link.reading_from_uplink(TOPIC, UPLINK.as_bytes())
                .map(|r| r.seq)
        })
    });
    g.bench_function("mqtt_payload", |b| b.iter(|| reading.to_json().len()));
    let mut line = String::with_capacity(256);
    g.bench_function("line_protocol", |b| {
        b.iter(|| {
            line.clear();
            write_reading(&mut line, &reading).map(|_| line.len())
        })
    });
    g.finish();
}

/// Merely checking the uplink's JSON (the floor under `parse`).
fn scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("scan");
    g.bench_function("serde_json_ignored_any", |b| {
        b.iter(|| serde_json::from_str::<serde::de::IgnoredAny>(UPLINK).is_ok())
    });
    g.finish();
}

criterion_group!(benches, whole_path, steps, scan);
criterion_main!(benches);

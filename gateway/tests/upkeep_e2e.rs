//! The kept history end to end: a timeline with past timestamps published
//! over the direct MQTT link to a real gateway (killed and restarted in
//! the middle) gives the same service levels from the gateway's own
//! history as the same timeline written by hand and read with
//! `--history`, and `history export` reproduces them too.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::mqtt::{publish_all, Collector};
use support::{GatewayProcess, Mosquitto};

const CONFIG: &str = r#"
[gateway]
id = "gw-1"
site = "kangfu-garden"
data_dir = "DATA"

[mqtt]
url = "URL"

[[link]]
id = "direct"
type = "mqtt"
url = "URL"

[[device]]
id = "lift-1"
kind = "elevator"
link = "direct"
topic = "t/lift-1"
expected_interval_s = 60

[[device]]
id = "well-1"
kind = "drainage"
link = "direct"
topic = "t/well-1"
expected_interval_s = 300
"#;

/// Minutes after 2026-11-01T00:00Z as RFC 3339.
fn t(minutes: u32) -> String {
    format!("2026-11-01T{:02}:{:02}:00.000Z", minutes / 60, minutes % 60)
}

/// One reading: (device, kind, minute, mode).
type Point = (&'static str, &'static str, u32, Option<&'static str>);

/// lift-1: every minute for 10 h, out of service 2:00-3:00, silent
/// 5:00-6:00 (last reading 4:59). well-1: every 5 min until 4:55.
fn timeline() -> Vec<Point> {
    let lift = (0..600).filter(|m| !(300..360).contains(m)).map(|m| {
        let mode = if (120..180).contains(&m) {
            "out_of_service"
        } else {
            "normal"
        };
        ("lift-1", "elevator", m, Some(mode))
    });
    let well = (0..60).map(|k| ("well-1", "drainage", 5 * k, None));
    lift.chain(well).collect()
}

fn metrics((_, _, _, mode): &Point) -> String {
    match mode {
        Some(m) => format!(r#"{{"mode":"{m}","floor":2}}"#),
        None => r#"{"level_m":0.4}"#.into(),
    }
}

/// What the device publishes on its topic.
fn uplink(p: &Point) -> (String, Vec<u8>) {
    let body = format!(
        r#"{{"ts":"{}","seq":{},"metrics":{}}}"#,
        t(p.2),
        p.2,
        metrics(p)
    );
    (format!("t/{}", p.0), body.into_bytes())
}

/// The same reading as a normalized history line.
fn normalized(p: &Point) -> String {
    format!(
        r#"{{"v":1,"site":"kangfu-garden","kind":"{}","device":"{}","ts":"{}","seq":{},"source":"mqtt","metrics":{}}}"#,
        p.1,
        p.0,
        t(p.2),
        p.2,
        metrics(p)
    )
}

fn gateway_cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(args)
        .arg("-c")
        .arg(config)
        .args(["--from", &t(0), "--to", &t(600)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The figures of a `sla --format json` output (without the entrapments).
fn figures(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v.as_object_mut().unwrap().remove("entrapments");
    v
}

#[test]
fn the_gateways_history_and_a_hand_written_one_give_the_same_figures() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gw.toml");
    let text = CONFIG
        .replace("DATA", &dir.path().join("data").display().to_string())
        .replace("URL", &broker.url());
    std::fs::write(&config, text).unwrap();
    let collector = Collector::start(broker.port, "retrofit/v1/+/elevator/+/telemetry");
    let mut gateway = GatewayProcess::start(&config);

    let points = timeline();
    let (first, second): (Vec<&Point>, Vec<&Point>) = points.iter().partition(|p| p.2 < 300);
    // Publish the first reading until the link's subscription is in place.
    support::wait_until("first reading through", Duration::from_secs(30), || {
        publish_all(broker.port, vec![uplink(first[0])]);
        !collector.messages().is_empty()
    });
    assert_eq!(
        publish_all(broker.port, first.iter().map(|p| uplink(p)).collect()),
        first.len()
    );
    // Killed mid-window: what it had not yet kept comes again from the journal.
    gateway.restart();
    assert_eq!(
        publish_all(broker.port, second.iter().map(|p| uplink(p)).collect()),
        second.len()
    );

    support::wait_until("history has every reading", Duration::from_secs(60), || {
        let export = gateway_cli(&config, &["history", "export"]);
        export.lines().filter(|l| l.contains("\"metrics\"")).count() == points.len()
    });
    gateway.restart();

    let kept = gateway_cli(&config, &["sla", "--format", "json"]);
    let hand = dir.path().join("hand.jsonl");
    let lines: Vec<String> = points.iter().map(normalized).collect();
    std::fs::write(&hand, lines.join("\n")).unwrap();
    let from_file = gateway_cli(
        &config,
        &[
            "sla",
            "--format",
            "json",
            "--history",
            hand.to_str().unwrap(),
        ],
    );
    assert_eq!(figures(&kept), figures(&from_file));

    let exported = dir.path().join("export.jsonl");
    std::fs::write(&exported, gateway_cli(&config, &["history", "export"])).unwrap();
    let from_export = gateway_cli(
        &config,
        &[
            "sla",
            "--format",
            "json",
            "--history",
            exported.to_str().unwrap(),
        ],
    );
    assert_eq!(figures(&kept), figures(&from_export));

    // And the figures are §12's: lift-1 down 2:00-3:00 (mode) and
    // 5:02-6:00 (offline from 4:59 + 180 s), 540 of 600 readings.
    let r = figures(&kept);
    let lift = &r["devices"][0];
    let d = 1.0 + (60.0 - 2.0) / 60.0;
    let avail = lift["availability_pct"].as_f64().unwrap();
    assert!((avail - 100.0 * (10.0 - d) / 10.0).abs() < 1e-9, "{avail}");
    assert_eq!(lift["failures"], 2);
    let complete = lift["data_completeness_pct"].as_f64().unwrap();
    assert!(
        (complete - 100.0 * 540.0 / 600.0).abs() < 1e-9,
        "{complete}"
    );
    // well-1: offline from 4:55 + 15 min to the end, 60 of 120 readings.
    let well = &r["devices"][1];
    let avail = well["availability_pct"].as_f64().unwrap();
    assert!(
        (avail - 100.0 * (5.0 + 10.0 / 60.0) / 10.0).abs() < 1e-9,
        "{avail}"
    );
}

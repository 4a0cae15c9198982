//! `retrofit-sim demo` end to end: embedded broker, in-process gateway,
//! LoRaWAN load and simulated edge nodes on a pseudo-terminal serial bus;
//! telemetry of every kind and the serial nodes' alarms must come out on
//! the normalized topics, every uplink must be acknowledged, and every
//! acknowledged uplink must come out (one machine, its own broker: none
//! may be lost). The demo runs with an empty `PATH`: it needs no outside
//! binary (no socat).

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// The value after `label` in `text`, e.g. `telemetry 42` -> 42.
fn count_after(text: &str, label: &str) -> u64 {
    let rest = &text[text
        .rfind(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        + label.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?}"))
}

/// `retrofit-sim args` with nothing on `PATH`, logging at `info` to a
/// pipe; its stdout and stderr.
fn sim_without_path(args: &[&str]) -> (String, String) {
    let empty = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_retrofit-sim"))
        .args(args)
        .env("PATH", empty.path())
        .env("RUST_LOG", "info,rumqttd=off")
        .env_remove("NO_COLOR")
        .output()
        .expect("run retrofit-sim");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "retrofit-sim {args:?} failed: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    (stdout, stderr)
}

#[test]
fn runs_the_community_and_shows_normalized_telemetry() {
    let (out, log) = sim_without_path(&[
        "demo",
        "--duration",
        "6s",
        "--devices",
        "6",
        "--rate",
        "30",
        "--speed",
        "100",
    ]);
    let last_summary = out
        .lines()
        .rfind(|l| l.starts_with('['))
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    assert!(
        last_summary.contains("devices seen: elevator 1, ev_charger 3, parking 4, drainage 6"),
        "{last_summary}"
    );
    let sent = count_after(&out, "load sent");
    assert!(sent >= 100, "{out}");
    assert_eq!(count_after(last_summary, "dead letters"), 0, "{out}");
    let closing = out
        .lines()
        .find(|l| l.starts_with("demo stopped:"))
        .unwrap_or_else(|| panic!("no closing line in:\n{out}"));
    assert_eq!(count_after(closing, "acknowledged"), sent, "{out}");
    // Every acknowledged uplink came out, each counted once by device and
    // fCnt; the telemetry count holds them and the serial nodes' readings.
    let uplinks = out
        .lines()
        .find(|l| l.starts_with("LoRaWAN uplinks out:"))
        .unwrap_or_else(|| panic!("no uplink count in:\n{out}"));
    assert_eq!(count_after(uplinks, "out:"), sent, "{uplinks}");
    assert_eq!(count_after(uplinks, " of "), sent, "{uplinks}");
    assert!(count_after(last_summary, "telemetry") > sent, "{out}");
    // The serial nodes: their readings, and the entrapment scenario's alarms.
    assert!(out.contains("elevator lift-b3 floor="), "{out}");
    assert!(out.contains("drainage drain-w21 level_m="), "{out}");
    assert!(
        out.contains("ev_charger pile-p1-0"),
        "the demo piles report over OCPP: {out}"
    );
    assert!(count_after(last_summary, "events") >= 3, "{out}");
    assert!(
        out.contains(
            "EVENT elevator lift-b3 entrapment raised (critical) alarm lift-b3.entrapment."
        ),
        "{out}"
    );
    assert!(out.contains("nodes stopped: lift-b3 "), "{out}");
    // The Modbus RTU slaves of the well bus, polled by the modbus link.
    for wired in [
        "drainage drain-w03-level level_m=",
        "drainage rain-roof-2 rain_mm_h=",
        "ev_charger ev-meter-p1 voltage_v=",
    ] {
        assert!(out.contains(wired), "{wired} missing in:\n{out}");
    }
    // Its log on a pipe: plain text, no colour codes.
    assert!(log.contains("gateway running"), "{log}");
    assert!(!log.contains('\x1b'), "escape codes in the log:\n{log:?}");
}

//! `retrofit-sim bench --quick` end to end: its own Mosquitto and
//! VictoriaMetrics, the gateway binary of this workspace, 500 uplinks at
//! 500/s. Asserts the tooling's correctness (every reading counted on the
//! normalized topic and in the store, both broker hops measured), never
//! its timing.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const READINGS: &str = "500";

/// The target directory of this test's build (`…/target/{profile}/retrofit-sim`).
fn profile_dir() -> PathBuf {
    let sim = Path::new(env!("CARGO_BIN_EXE_retrofit-sim"));
    sim.parent()
        .unwrap_or_else(|| panic!("{} has no directory", sim.display()))
        .to_path_buf()
}

/// Builds the workspace's gateway binary beside the simulator's.
fn gateway_binary() -> PathBuf {
    let profile = profile_dir();
    let target = profile
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent", profile.display()));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut build = Command::new(env!("CARGO"));
    build
        .args([
            "build",
            "-p",
            "retrofit-gateway",
            "--bin",
            "retrofit-gateway",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target);
    if profile.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo build: {e}"));
    assert!(status.success(), "building retrofit-gateway failed");
    profile.join("retrofit-gateway")
}

/// The cells of the table row whose first cell is `label`.
fn row<'a>(table: &'a str, label: &str) -> Vec<&'a str> {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("| {label} |")))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{table}"));
    line.trim_matches('|').split('|').map(str::trim).collect()
}

#[test]
fn quick_bench_counts_every_reading_on_the_topic_and_in_the_store() {
    let gateway = gateway_binary();
    let output = Command::new(env!("CARGO_BIN_EXE_retrofit-sim"))
        .args(["bench", "--quick", "--count", READINGS, "--rates", READINGS])
        .arg("--gateway")
        .arg(&gateway)
        .output()
        .expect("run retrofit-sim bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed:\n{stderr}");

    // run | offered | achieved | sent | acked | on topic | in store | cpu | p50 | p99 | idle | peak | held
    let run = row(&stdout, "500/s");
    assert_eq!(run[3], READINGS, "sent: {stdout}");
    assert_eq!(run[4], READINGS, "acknowledged by the broker: {stdout}");
    assert_eq!(
        run[5], READINGS,
        "readings on the normalized topic: {stdout}"
    );
    assert_eq!(run[6], READINGS, "points in the store: {stdout}");
    for cell in &run[7..12] {
        assert!(
            cell.parse::<f64>().is_ok(),
            "a measured figure, not {cell:?}: {stdout}"
        );
    }
    for hops in [
        "broker one hop (QoS 1 -> QoS 1)",
        "broker two hops (via a QoS 1 relay)",
    ] {
        let broker = row(&stdout, hops);
        assert_eq!(
            broker[3], broker[5],
            "every ceiling message received: {stdout}"
        );
        assert_eq!(broker[12], "all received");
    }
    // Whether a rate "held" depends on timing too: only the line counts.
    assert!(
        stdout.contains("Highest rate held with no loss: "),
        "{stdout}"
    );
}

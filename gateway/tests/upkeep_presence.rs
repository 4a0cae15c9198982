//! Offline detection per §12 through real processes: with the output
//! broker down, devices that keep reporting stay online; with the network
//! server's broker down, the LoRaWAN devices go offline after `grace_s`
//! with reason "link down"; a gateway restart takes presence back from the
//! kept history instead of starting devices as unknown.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use retrofit_protocols::Timestamp;
use support::fleet;
use support::mqtt::publish_all;
use support::rig::{now_ms, Rig};

/// The status readings of the kept history, as (device, status, reason).
fn statuses(rig: &Rig) -> Vec<(String, String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(["history", "export", "-c"])
        .arg(&rig.gateway.config)
        .args([
            "--from",
            "2000-01-01T00:00:00Z",
            "--to",
            "2100-01-01T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|j| j["status"].is_string() && j["kind"] != "gateway")
        .map(|j| {
            let s = |k: &str| j[k].as_str().unwrap().to_string();
            (s("device"), s("status"), s("reason"))
        })
        .collect()
}

#[test]
fn link_down_marks_lorawan_devices_offline_output_down_marks_nothing() {
    // A short grace for both devices (3 s), through the config overrides.
    std::env::set_var("RETROFIT_DEVICE_PARK_0000_GRACE_S", "3");
    std::env::set_var("RETROFIT_DEVICE_DRAIN_0001_GRACE_S", "3");
    let mut rig = Rig::start(2, "");
    let devices = rig.devices.clone();
    let mut f_cnt = 10;
    let mut uplinks = |rig: &Rig| {
        f_cnt += 1;
        let batch = devices
            .iter()
            .map(|d| fleet::uplink(d, f_cnt, Timestamp(now_ms()), true).0)
            .collect();
        publish_all(rig.input.port, batch);
    };

    // The output broker is down for 6 s (twice the grace) while both
    // devices keep reporting: nobody is offline.
    rig.output.kill();
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        uplinks(&rig);
        std::thread::sleep(Duration::from_millis(500));
    }
    rig.output.restart();
    uplinks(&rig);
    let offline: Vec<_> = statuses(&rig)
        .into_iter()
        .filter(|s| s.1 == "offline")
        .collect();
    assert!(offline.is_empty(), "{offline:?}");

    // The network server's broker goes away: after the grace both are
    // offline, and the reason names the link.
    rig.input.kill();
    support::wait_until("devices offline", Duration::from_secs(30), || {
        statuses(&rig).iter().filter(|s| s.1 == "offline").count() == devices.len()
    });
    for (device, _, reason) in statuses(&rig).iter().filter(|s| s.1 == "offline") {
        assert_eq!(reason, "link down: ns unreachable", "{device}");
    }

    // A restart keeps them offline (no `unknown`, no second offline).
    rig.gateway.restart();
    rig.input.restart();
    let before = statuses(&rig).len();
    support::wait_until("devices back", Duration::from_secs(30), || {
        uplinks(&rig);
        statuses(&rig).iter().filter(|s| s.1 == "online").count() >= 2 * devices.len()
    });
    let after = statuses(&rig);
    assert!(after.iter().all(|s| s.1 != "unknown"), "{after:?}");
    let new: Vec<_> = after[before..].iter().map(|s| s.1.as_str()).collect();
    assert!(
        new.iter().all(|s| *s == "online"),
        "only back online after the restart: {new:?}"
    );
}

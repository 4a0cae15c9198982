//! Outage tests' shared workload and checks: an interleaved LoRaWAN load
//! published at a steady rate while something is done to the rig at given
//! progress points, then "every acknowledged reading reaches the store
//! exactly once and the normalized topics in order". Never decides what
//! an outage is; the test crates do.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use retrofit_protocols::Timestamp;

use super::fleet;
use super::load::Load;
use super::rig::{now_ms, Rig};

/// (topic, payload) of one uplink.
pub type Message = (String, Vec<u8>);
/// (device, measurement time in ms) of one reading.
pub type ReadingKey = (String, i64);
/// At a load progress, something done to the rig.
pub type Phase = (usize, Box<dyn FnMut(&mut Rig)>);

/// Uplinks for every device, `per_device` each, interleaved; returns them
/// with each one's (device, measurement time).
pub fn workload(rig: &Rig, per_device: u32) -> (Vec<Message>, Vec<ReadingKey>) {
    let base = now_ms() - 3_600_000;
    let mut msgs = Vec::new();
    let mut expected = Vec::new();
    for k in 1..=per_device {
        for (i, d) in rig.devices.iter().enumerate() {
            let ts = base + i64::from(k) * 1000 + i as i64;
            let (msg, want) = fleet::uplink(d, k, Timestamp(ts), k % 2 == 0);
            msgs.push(msg);
            expected.push((want.device, ts));
        }
    }
    (msgs, expected)
}

/// Runs the workload at `rate` uplinks a second, running each phase's
/// action once the load has reached its progress; returns the readings
/// the input broker acknowledged (all of them, or the test fails).
pub fn run_load(
    rig: &mut Rig,
    per_device: u32,
    rate: u32,
    mut phases: Vec<Phase>,
) -> Vec<ReadingKey> {
    let (msgs, expected) = workload(rig, per_device);
    let total = msgs.len();
    let load = Load::start(rig.input.port, msgs, rate);
    for (at, action) in phases.iter_mut() {
        let at = *at;
        super::wait_until("load progress", Duration::from_secs(120), || {
            load.progress() >= at
        });
        action(rig);
    }
    let acked = load.finish(Duration::from_secs(180));
    assert_eq!(
        acked.len(),
        total,
        "the input broker acknowledged every uplink"
    );
    acked.into_iter().map(|i| expected[i].clone()).collect()
}

/// Store check: exactly the acknowledged readings, once each.
pub fn assert_store_has_exactly(rig: &Rig, acked: &[ReadingKey]) {
    let want: BTreeSet<ReadingKey> = acked.iter().cloned().collect();
    let found = |rig: &Rig| -> BTreeMap<ReadingKey, usize> {
        let mut found = BTreeMap::new();
        for s in rig.vm.export("parking_occupied|drainage_level_m") {
            let device = s["metric"]["device"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            for t in s["timestamps"].as_array().into_iter().flatten() {
                let key = (device.clone(), t.as_i64().unwrap_or_default());
                if want.contains(&key) {
                    *found.entry(key).or_default() += 1;
                }
            }
        }
        found
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let found =
        loop {
            let found = found(rig);
            if found.len() == want.len() {
                break found;
            }
            if std::time::Instant::now() > deadline {
                let missing: Vec<_> = want
                    .iter()
                    .filter(|k| !found.contains_key(*k))
                    .take(10)
                    .collect();
                panic!(
                "{} of {} acknowledged readings in the store; first missing: {missing:?}\nlog:\n{}",
                found.len(),
                want.len(),
                rig.gateway.log().lines().rev().take(40).collect::<Vec<_>>().join("\n")
            );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
    let dups: Vec<_> = found.iter().filter(|(_, &n)| n > 1).collect();
    assert!(dups.is_empty(), "duplicates in the store: {dups:?}");
}

/// Normalized topics: every acknowledged reading at least once, and per
/// device the first arrival of each reading in `seq` order.
pub fn assert_topics_have_all(rig: &Rig, acked: &[ReadingKey], exactly_once: bool) {
    let want: BTreeSet<(String, String)> = acked
        .iter()
        .map(|(d, ts)| (d.clone(), Timestamp(*ts).to_string()))
        .collect();
    super::wait_until(
        "every acknowledged reading on the topics",
        Duration::from_secs(180),
        || {
            let got: BTreeSet<(String, String)> = rig
                .telemetry()
                .iter()
                .map(|j| {
                    (
                        j["device"].as_str().unwrap_or_default().to_string(),
                        j["ts"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            want.is_subset(&got)
        },
    );
    let mut per_device: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for j in rig.telemetry() {
        per_device
            .entry(j["device"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(j["seq"].as_u64().unwrap_or_default());
    }
    for (device, seqs) in per_device {
        let mut seen = BTreeSet::new();
        let firsts: Vec<u64> = seqs.iter().copied().filter(|s| seen.insert(*s)).collect();
        assert!(
            firsts.windows(2).all(|w| w[0] < w[1]),
            "{device} out of order: {firsts:?}"
        );
        if exactly_once {
            assert_eq!(
                firsts.len(),
                seqs.len(),
                "{device} delivered twice: {seqs:?}"
            );
        }
    }
}

//! A full disk under load, through real processes (issue 10, spec §8): the
//! gateway's data directory is on a small tmpfs that a filler file runs
//! out of space while LoRaWAN uplinks arrive. The journal cannot commit, so
//! intake stops and the gateway raises a critical `journal_failure` alarm;
//! once the filler is deleted, every uplink the input broker acknowledged
//! reaches the normalized topics and the store (exactly once there), and
//! the alarm is cleared with the id it was raised with.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::mqtt::Message;
use support::outage::{assert_store_has_exactly, assert_topics_have_all, run_load};
use support::rig::Rig;
use support::small_disk::SmallDisk;

const DEVICES: usize = 20;
const PER_DEVICE: u32 = 100;
const RATE: u32 = 400;

/// The gateway's log line of a failed commit (error level).
const COMMIT_FAILED: &str = "journal commit failed";
/// The gateway's log line of each further failed attempt.
const STILL_FAILING: &str = "journal commit still failing";
/// The gateway's log line once commits succeed again.
const COMMITS_AGAIN: &str = "journal commits again";
/// Failed retries (with growing pauses) before the space comes back.
const RETRIES: usize = 5;

/// The gateway's `journal_failure` events: (state, severity, alarm_id).
fn journal_failure_events(messages: &[Message]) -> Vec<(String, String, String)> {
    messages
        .iter()
        .filter(|m| m.topic.ends_with("/gateway/gw-test/event"))
        .map(Message::json)
        .filter(|j| j["event"] == "journal_failure")
        .map(|j| {
            let field = |k: &str| j[k].as_str().unwrap_or_default().to_string();
            (field("state"), field("severity"), field("alarm_id"))
        })
        .collect()
}

fn log_tail(rig: &Rig) -> String {
    let log = rig.gateway.log();
    let lines: Vec<&str> = log.lines().rev().take(40).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[test]
fn full_disk_under_load_loses_no_acknowledged_reading_and_recovers() {
    let disk = Arc::new(SmallDisk::mount("16m"));
    let mut rig = Rig::start_with_data_dir(DEVICES, "", Some(disk.path().join("data")));
    let total = DEVICES * PER_DEVICE as usize;
    let (fill, free) = (disk.clone(), disk.clone());
    let acked = run_load(
        &mut rig,
        PER_DEVICE,
        RATE,
        vec![
            // As the load starts: the journal's write-ahead log is still
            // growing then (once it has reached its checkpoint size SQLite
            // reuses it, and a full disk stops only what needs new space).
            (
                0,
                Box::new(move |r: &mut Rig| {
                    assert!(fill.fill() > 0, "the filler took the free space");
                    assert!(fill.available() < 64 * 1024, "the disk is full");
                    support::wait_until(
                        "the gateway to log the failed commit",
                        Duration::from_secs(30),
                        || r.gateway.log().contains(COMMIT_FAILED),
                    );
                    assert!(r.gateway.pid().is_some(), "the gateway keeps running");
                }),
            ),
            (
                total / 2,
                Box::new(move |r: &mut Rig| {
                    support::wait_until(
                        "the gateway to retry the commit with backoff",
                        Duration::from_secs(60),
                        || r.gateway.log().matches(STILL_FAILING).count() >= RETRIES,
                    );
                    assert!(
                        !r.gateway.log().contains(COMMITS_AGAIN),
                        "the journal committed on a full disk:\n{}",
                        log_tail(r)
                    );
                    free.free();
                }),
            ),
        ],
    );

    support::wait_until(
        "journal_failure raised and cleared",
        Duration::from_secs(60),
        || {
            let events = journal_failure_events(&rig.collector.messages());
            events.iter().any(|e| e.0 == "cleared")
        },
    );
    let events = journal_failure_events(&rig.collector.messages());
    let raised: Vec<_> = events.iter().filter(|e| e.0 == "raised").collect();
    let cleared: Vec<_> = events.iter().filter(|e| e.0 == "cleared").collect();
    assert_eq!(raised.len(), 1, "one failure, one raise: {events:?}");
    assert_eq!(raised[0].1, "critical");
    assert!(
        cleared.iter().all(|c| c.2 == raised[0].2),
        "cleared with the raise's alarm_id: {events:?}"
    );
    assert!(
        rig.gateway.log().contains(COMMITS_AGAIN),
        "{}",
        log_tail(&rig)
    );

    assert_store_has_exactly(&rig, &acked);
    assert_topics_have_all(&rig, &acked, false);
    drop(rig);
}

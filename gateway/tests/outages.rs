//! Outages under steady load, through real processes (spec §8): the store
//! down and back, both brokers restarted, the gateway SIGKILLed and
//! restarted. Every reading the input broker acknowledged must reach the
//! normalized topics and the store; the store holds it exactly once. And a
//! 64 KiB journal filled while the store is down: it drops the oldest
//! telemetry first, counts every drop, and keeps alarms.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use retrofit_gateway::journal::record_cost;
use retrofit_protocols::Timestamp;
use support::fleet;
use support::outage::{assert_store_has_exactly, assert_topics_have_all, run_load};
use support::rig::{now_ms, Rig};

const DEVICES: usize = 20;
const PER_DEVICE: u32 = 100;
const RATE: u32 = 400;

#[test]
fn store_down_under_load_then_back() {
    let mut rig = Rig::start(DEVICES, "");
    let total = DEVICES * PER_DEVICE as usize;
    let acked = run_load(
        &mut rig,
        PER_DEVICE,
        RATE,
        vec![
            (total / 4, Box::new(|r: &mut Rig| r.vm.stop())),
            (total * 3 / 4, Box::new(|r: &mut Rig| r.vm.restart())),
        ],
    );
    assert_store_has_exactly(&rig, &acked);
    assert_topics_have_all(&rig, &acked, true);
}

#[test]
fn both_brokers_restarted_under_load() {
    let mut rig = Rig::start(DEVICES, "");
    let total = DEVICES * PER_DEVICE as usize;
    let acked = run_load(
        &mut rig,
        PER_DEVICE,
        RATE,
        vec![
            (
                total / 4,
                Box::new(|r: &mut Rig| r.input.graceful_restart()),
            ),
            (
                total / 2,
                Box::new(|r: &mut Rig| r.output.graceful_restart()),
            ),
        ],
    );
    assert_store_has_exactly(&rig, &acked);
    assert_topics_have_all(&rig, &acked, false);
}

#[test]
fn gateway_sigkilled_repeatedly_under_load() {
    let mut rig = Rig::start(DEVICES, "");
    let total = DEVICES * PER_DEVICE as usize;
    let kill_and_restart = || -> Box<dyn FnMut(&mut Rig)> {
        Box::new(|r: &mut Rig| {
            r.gateway.kill();
            r.gateway.restart();
        })
    };
    let acked = run_load(
        &mut rig,
        PER_DEVICE,
        RATE,
        (1..=4)
            .map(|k| (total * k / 5, kill_and_restart()))
            .collect(),
    );
    assert_store_has_exactly(&rig, &acked);
    assert_topics_have_all(&rig, &acked, false);
}

fn journal_stats(rig: &Rig) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(["journal", "stats", "-c"])
        .arg(&rig.gateway.config)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first number after `prefix` on the line starting with it.
fn stats_number(stats: &str, prefix: &str) -> usize {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}` line in {stats}"))
}

/// Telemetry the store's output lost to the size bound.
fn dropped_telemetry(stats: &str) -> usize {
    stats_number(stats, "output influx drops: telemetry ")
}

/// Telemetry the store's output has yet to deliver.
fn store_depth(stats: &str) -> usize {
    stats_number(stats, "output influx bulk: depth ")
}

/// Most readings the journal holds at once: its bound over the accounted
/// size of the smallest reading (the normalized topics carry the journal's
/// payloads; 8 bytes of margin for a smaller one not seen there).
fn journal_capacity(rig: &Rig) -> usize {
    let smallest = rig
        .collector
        .on("/telemetry")
        .iter()
        .filter(|m| !m.topic.contains("/gateway/"))
        .map(|m| m.payload.len() as u64)
        .min()
        .expect("readings on the normalized topics");
    (JOURNAL_MAX_BYTES / record_cost(smallest - 8)) as usize
}

const JOURNAL_MAX_BYTES: u64 = 65_536;
/// `batch_size` of the test fleet's `[influx]` table.
const STORE_BATCH: usize = 2000;

/// The journal-full test's readings: reading `i` comes from device
/// `i % 10` with frame counter `10 + i`, measured at `base + i` ms, so a
/// stored sample names its reading, and readings commit in index order.
struct Readings {
    base: i64,
    sent: u32,
}

impl Readings {
    fn new() -> Self {
        Self {
            base: now_ms() - 600_000,
            sent: 0,
        }
    }

    /// Publishes the next `n` readings; returns their indices.
    fn publish(&mut self, rig: &Rig, n: u32) -> Range<u32> {
        let from = self.sent;
        let uplinks: Vec<_> = (from..from + n)
            .map(|i| {
                let device = &rig.devices[i as usize % rig.devices.len()];
                let ts = Timestamp(self.base + i64::from(i));
                fleet::uplink(device, 10 + i, ts, true).0
            })
            .collect();
        let acked = support::mqtt::publish_all(rig.input.port, uplinks);
        assert_eq!(acked, n as usize, "the input broker acknowledged all");
        self.sent += n;
        from..self.sent
    }

    /// Whether reading `i` has come out on a normalized topic.
    fn out(&self, i: u32) -> impl Fn(&[support::mqtt::Message]) -> bool {
        let ts = Timestamp(self.base + i64::from(i));
        move |messages| {
            messages.iter().any(|m| {
                m.topic.ends_with("/telemetry")
                    && m.json()["ts"].as_str().and_then(|t| t.parse().ok()) == Some(ts)
            })
        }
    }

    /// Indices of the readings the store holds.
    fn stored(&self, rig: &Rig) -> BTreeSet<u32> {
        let mut stored = BTreeSet::new();
        for series in rig.vm.export("parking_occupied|drainage_level_m") {
            let device = series["metric"]["device"].as_str().unwrap_or_default();
            for t in series["timestamps"].as_array().into_iter().flatten() {
                let i = t.as_i64().map(|t| t - self.base);
                let Some(i) = i.and_then(|i| u32::try_from(i).ok()) else {
                    continue;
                };
                let from = rig.devices.get(i as usize % rig.devices.len());
                if i < self.sent && from.is_some_and(|d| d.id == device) {
                    stored.insert(i);
                }
            }
        }
        stored
    }
}

/// What the store holds of readings committed in order while it was down
/// and the journal dropped the oldest: the readings from `newest` on, and
/// older ones only in `in_flight`, the one batch its output had read
/// before their drop (it retries a batch until the store takes it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Eviction {
    /// Readings the store never got.
    lost: usize,
    /// The older readings it got anyway (empty if none).
    in_flight: Range<u32>,
    /// Every reading from here to the last is in the store.
    newest: u32,
}

/// Reads the store's holding of `readings` as an [`Eviction`]: lost
/// readings may only precede the kept newest ones, except for one older
/// contiguous batch; any other pattern is an error naming the runs.
fn eviction(stored: &BTreeSet<u32>, readings: Range<u32>) -> Result<Eviction, String> {
    let mut runs: Vec<(bool, Range<u32>)> = Vec::new();
    for i in readings.clone() {
        let kept = stored.contains(&i);
        match runs.last_mut() {
            Some((k, run)) if *k == kept => run.end = i + 1,
            _ => runs.push((kept, i..i + 1)),
        }
    }
    let lost = runs.iter().filter(|(k, _)| !k).map(|(_, r)| r.len()).sum();
    let kept: Vec<&Range<u32>> = runs.iter().filter(|(k, _)| *k).map(|(_, r)| r).collect();
    let ends_kept = runs.last().is_some_and(|(k, _)| *k);
    match kept.as_slice() {
        [newest] if ends_kept => Ok(Eviction {
            lost,
            in_flight: newest.start..newest.start,
            newest: newest.start,
        }),
        [in_flight, newest] if ends_kept => Ok(Eviction {
            lost,
            in_flight: (*in_flight).clone(),
            newest: newest.start,
        }),
        _ => Err(format!("(kept, readings) runs: {runs:?}")),
    }
}

#[test]
fn eviction_reads_oldest_first_loss_with_one_batch_in_flight() {
    let stored = |r: &[Range<u32>]| r.iter().cloned().flatten().collect::<BTreeSet<u32>>();
    let newest_only = eviction(&(6..10).collect(), 0..10).unwrap();
    assert_eq!((newest_only.lost, newest_only.newest), (6, 6));
    assert!(newest_only.in_flight.is_empty());
    let with_batch = eviction(&stored(&[2..4, 7..10]), 0..10).unwrap();
    assert_eq!(
        with_batch,
        Eviction {
            lost: 5,
            in_flight: 2..4,
            newest: 7
        }
    );
    // A second old batch, a newer reading lost, the newest lost: not
    // oldest first.
    assert!(eviction(&stored(&[0..2, 4..6, 8..10]), 0..10).is_err());
    assert!(eviction(&stored(&[0..5, 6..10]), 0..10).is_ok());
    assert!(eviction(&stored(&[0..5, 6..9]), 0..10).is_err());
    assert!(eviction(&BTreeSet::new(), 0..10).is_err());
}

fn overflow(state: &'static str) -> impl Fn(&[support::mqtt::Message]) -> bool {
    move |m| {
        m.iter().any(|x| {
            x.topic.ends_with("/gateway/gw-test/event")
                && x.json()["event"] == "journal_overflow"
                && x.json()["state"] == state
        })
    }
}

/// Waits until the store holds reading `fence` and its output has
/// acknowledged everything before it.
fn wait_store_settled(rig: &Rig, readings: &Readings, fence: u32) {
    let what = format!("the store to hold reading {fence} and to catch up");
    support::wait_until(&what, Duration::from_secs(60), || {
        readings.stored(rig).contains(&fence) && store_depth(&journal_stats(rig)) == 0
    });
}

#[test]
fn journal_full_drops_oldest_telemetry_counts_it_and_keeps_alarms() {
    let started = Instant::now();
    let mut rig = Rig::start(10, "[journal]\nmax_bytes = 65536\n");
    let mut readings = Readings::new();
    // Nothing of the store's from before the outage is left in flight.
    let fence = readings.publish(&rig, 1);
    wait_store_settled(&rig, &readings, fence.start);

    rig.vm.stop();
    let outage = readings.publish(&rig, 1500);
    rig.collector.wait_for(
        "overflow raised",
        Duration::from_secs(60),
        overflow("raised"),
    );
    // The journal drops while it appends the outage's readings: all of
    // them are committed (they come out on the normalized topic in order)
    // before the store comes back, so the drops are one episode.
    rig.collector.wait_for(
        "the outage's readings committed",
        Duration::from_secs(60),
        readings.out(outage.end - 1),
    );

    // The store comes back: the journal drains, appends stop dropping.
    // Nothing is published until the store has caught up: an append while
    // the drain is still under way would drop again (oldest first, with
    // another batch in flight), a second drop this test does not model.
    rig.vm.restart();
    support::wait_until("the store to catch up", Duration::from_secs(60), || {
        store_depth(&journal_stats(&rig)) == 0
    });
    support::wait_until("overflow cleared", Duration::from_secs(60), || {
        readings.publish(&rig, 5);
        overflow("cleared")(&rig.collector.messages())
    });
    let last = readings.sent - 1;
    wait_store_settled(&rig, &readings, last);
    let stats = journal_stats(&rig);
    let since_fence = outage.start..readings.sent;
    let stored = readings.stored(&rig);
    let seen = eviction(&stored, since_fence);
    // Oldest first, on every dropped reading: what the store misses is
    // older than all it holds, but for one batch its output had read
    // before the drop and delivered once the store was back (the oldest
    // readings kept: it read them from its cursor, the fence; any before
    // them were dropped before it could read them).
    let seen = seen.unwrap_or_else(|runs| panic!("not oldest first: {runs}\n{stats}"));
    assert!(
        seen.lost > 0,
        "the store misses what the journal dropped: {seen:?}\n{stats}"
    );
    // Exactly the readings the store misses were counted as its drops: a
    // batch it had read before the drop and delivered after is taken off
    // its count. The gateway's own report (bulk too, a minute apart) may
    // add one drop a minute.
    let dropped = dropped_telemetry(&stats);
    let own_reports = (started.elapsed().as_secs() / 60) as usize;
    assert!(
        dropped >= seen.lost && dropped <= seen.lost + own_reports,
        "missing {}, counted {dropped}\n{stats}",
        seen.lost
    );
    let batch = seen.in_flight.len();
    // That batch is one batch: at most what the output reads at once and
    // what the journal held.
    let capacity = journal_capacity(&rig);
    eprintln!("{seen:?}, counted {dropped}, capacity {capacity}");
    assert!(
        batch <= STORE_BATCH.min(capacity),
        "batch in flight {batch} > min({STORE_BATCH}, {capacity})"
    );
    let drop_lines: Vec<&str> = stats.lines().filter(|l| l.contains("drops:")).collect();
    // The journal's line, then one per output: mqtt, influx, history.
    assert_eq!(drop_lines.len(), 4, "{stats}");
    assert!(
        drop_lines.iter().all(|l| l.contains("event 0, status 0")),
        "no alarm or status dropped: {stats}"
    );
}

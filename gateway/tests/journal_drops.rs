//! Drop policy and size bound: with a small `max_bytes`, telemetry goes
//! oldest first, urgent records last, every drop is counted, and the file
//! on disk stays bounded.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod journal_support;

use std::collections::BTreeMap;
use std::path::Path;

use journal_support::*;
use proptest::prelude::*;
use retrofit_gateway::journal::{record_cost, ClassCounts, Journal, Lane, NewRecord, RecordClass};

fn dead_letter(seq: u64) -> NewRecord {
    NewRecord {
        class: RecordClass::DeadLetter,
        payload: format!(r#"{{"reason":"unknown device","seq":{seq}}}"#).into_bytes(),
    }
}

/// Rows and payload bytes of one lane, straight from the file.
fn stored(dir: &Path, lane: Lane) -> (u64, u64) {
    let conn = rusqlite::Connection::open(dir.join(retrofit_gateway::journal::FILE_NAME)).unwrap();
    let table = match lane {
        Lane::Urgent => "record_urgent",
        Lane::Bulk => "record_bulk",
    };
    conn.query_row(
        &format!("SELECT count(*), coalesce(sum(length(payload)), 0) FROM {table}"),
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .unwrap()
}

/// Every record still stored, per lane, as (pos, class, payload).
fn retained(journal: &Journal, lane: Lane) -> Vec<(u64, RecordClass, Vec<u8>)> {
    // The output never acks, so its reader sees everything still stored.
    let mut reader = journal.reader("never-acks").unwrap();
    peek_all(&mut reader, lane)
        .into_iter()
        .map(|e| (e.pos, e.class, e.payload))
        .collect()
}

#[test]
fn telemetry_is_dropped_oldest_first_and_alarms_survive() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 40 * record_cost(telemetry_payload(0).len() as u64);
    let journal = Journal::open(dir.path(), &config(budget), &["never-acks"]).unwrap();
    let mut dropped_now = ClassCounts::default();
    for batch in 0..20u64 {
        let mut records: Vec<NewRecord> = (0..10).map(|i| telemetry(batch * 10 + i)).collect();
        if batch % 4 == 0 {
            records.insert(3, event(batch));
        }
        let outcome = journal.append(&records).unwrap();
        dropped_now.add(RecordClass::Telemetry, outcome.dropped.telemetry);
        assert_eq!(
            outcome.dropped.total(),
            outcome.dropped.telemetry,
            "only telemetry may go"
        );
        assert!(journal.stats().unwrap().accounted_bytes() <= budget);
    }
    let urgent = retained(&journal, Lane::Urgent);
    assert_eq!(
        urgent.iter().map(|(_, _, p)| seq_of(p)).collect::<Vec<_>>(),
        vec![0, 4, 8, 12, 16]
    );

    let bulk = seqs_of(&retained(&journal, Lane::Bulk));
    let missing = 200 - bulk.len() as u64;
    assert!(missing > 0);
    assert_eq!(
        bulk,
        (missing..200).collect::<Vec<_>>(),
        "the newest telemetry is what remains"
    );
    let stats = journal.stats().unwrap();
    assert_eq!(stats.drops.telemetry, missing);
    assert_eq!(stats.drops.total(), missing);
    assert_eq!(dropped_now.telemetry, missing);
}

#[test]
fn urgent_records_go_last_oldest_first_and_are_counted_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 10 * record_cost(event_payload(0).len() as u64);
    let journal = Journal::open(dir.path(), &config(budget), &["never-acks"]).unwrap();
    journal
        .append(&(0..5).map(telemetry).collect::<Vec<_>>())
        .unwrap();
    let mut records: Vec<NewRecord> = (0..12).map(event).collect();
    records.extend((100..104).map(dead_letter));
    let outcome = journal.append(&records).unwrap();

    assert!(
        retained(&journal, Lane::Bulk).is_empty(),
        "all telemetry goes before any alarm"
    );
    assert_eq!(outcome.dropped.telemetry, 5);
    let urgent = retained(&journal, Lane::Urgent);
    let kept_events = urgent
        .iter()
        .filter(|(_, c, _)| *c == RecordClass::Event)
        .count() as u64;
    let kept_letters = urgent
        .iter()
        .filter(|(_, c, _)| *c == RecordClass::DeadLetter)
        .count() as u64;
    assert_eq!(kept_letters, 4, "the newest urgent records are kept");
    assert_eq!(outcome.dropped.event, 12 - kept_events);
    assert!(outcome.dropped.event > 0);
    let positions: Vec<u64> = urgent.iter().map(|(p, _, _)| *p).collect();
    assert_eq!(
        positions,
        (17 - positions.len() as u64..=16).collect::<Vec<_>>()
    );

    drop(journal);
    let reopened = Journal::open(dir.path(), &config(budget), &["never-acks"]).unwrap();
    assert_eq!(
        reopened.stats().unwrap().drops,
        outcome.dropped,
        "drop counts are persisted"
    );
}

#[test]
fn file_stays_bounded_under_sustained_appends() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 1 << 20;
    let journal = Journal::open(dir.path(), &config(budget), &["never-acks"]).unwrap();
    let mut peak_file = 0;
    for batch in 0..100u64 {
        let records: Vec<NewRecord> = (0..1000).map(|i| telemetry(batch * 1000 + i)).collect();
        journal.append(&records).unwrap();
        let stats = journal.stats().unwrap();
        assert!(stats.accounted_bytes() <= budget);
        peak_file = peak_file.max(stats.file_bytes);
    }
    let db_bytes = std::fs::metadata(dir.path().join(retrofit_gateway::journal::FILE_NAME))
        .unwrap()
        .len();
    assert!(
        db_bytes <= budget + budget / 16 + (64 << 10),
        "database file is {db_bytes} bytes for a {budget} byte bound"
    );
    assert!(
        peak_file <= db_bytes + (24 << 20),
        "journal files peaked at {peak_file} bytes"
    );
    let (rows, payload) = stored(dir.path(), Lane::Bulk);
    assert_eq!(
        journal.stats().unwrap().accounted_bytes(),
        payload + rows * record_cost(0)
    );
    assert_eq!(journal.stats().unwrap().drops.telemetry + rows, 100_000);
}

fn seqs_of(records: &[(u64, RecordClass, Vec<u8>)]) -> Vec<u64> {
    records.iter().map(|(_, _, p)| seq_of(p)).collect()
}

/// A random batch: classes and payload sizes.
fn batch_strategy() -> impl Strategy<Value = Vec<(u8, usize)>> {
    prop::collection::vec((0u8..4, 10usize..400), 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Without acks, every appended record is either still stored or counted
    /// as dropped; stored lanes are their newest suffixes; an urgent drop
    /// leaves no telemetry behind; the accounting matches the file.
    #[test]
    fn every_record_is_kept_or_counted(budget in 500u64..20_000, batches in prop::collection::vec(batch_strategy(), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), &config(budget), &["never-acks"]).unwrap();
        let mut appended: BTreeMap<&str, u64> = BTreeMap::new();
        let mut last_pos = [0u64; 2];
        for batch in &batches {
            let records: Vec<NewRecord> = batch.iter().map(|&(class, len)| NewRecord {
                class: RecordClass::ALL[class as usize],
                payload: vec![b'x'; len],
            }).collect();
            for r in &records {
                *appended.entry(r.class.as_str()).or_default() += 1;
                last_pos[if r.class.lane() == Lane::Urgent { 0 } else { 1 }] += 1;
            }
            let outcome = journal.append(&records).unwrap();
            if outcome.dropped.total() > outcome.dropped.telemetry {
                prop_assert!(retained(&journal, Lane::Bulk).is_empty());
            }
            let stats = journal.stats().unwrap();
            prop_assert!(stats.accounted_bytes() <= budget);
            let on_disk: u64 = Lane::ALL.iter().map(|&l| { let (n, p) = stored(dir.path(), l); p + n * record_cost(0) }).sum();
            prop_assert_eq!(stats.accounted_bytes(), on_disk);
        }
        let drops = journal.stats().unwrap().drops;
        for (i, lane) in [Lane::Urgent, Lane::Bulk].into_iter().enumerate() {
            let kept = retained(&journal, lane);
            let positions: Vec<u64> = kept.iter().map(|(p, _, _)| *p).collect();
            let first = last_pos[i] + 1 - positions.len() as u64;
            prop_assert_eq!(positions, (first..=last_pos[i]).collect::<Vec<_>>());
        }
        for class in RecordClass::ALL {
            let kept = Lane::ALL.iter().flat_map(|&l| retained(&journal, l)).filter(|(_, c, _)| *c == class).count() as u64;
            prop_assert_eq!(kept + drops.get(class), appended.get(class.as_str()).copied().unwrap_or(0), "class {:?}", class);
        }
    }
}

#[test]
fn drops_are_counted_per_output_against_what_each_had_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let one = record_cost(telemetry(999).payload.len() as u64);
    let journal = Journal::open(dir.path(), &config(150 * one), &["fast", "slow"]).unwrap();
    journal
        .append(&(0..100).map(telemetry).collect::<Vec<_>>())
        .unwrap();
    // "fast" has delivered the first 80, "slow" nothing.
    let mut fast = journal.reader("fast").unwrap();
    let delivered = fast.peek(Lane::Bulk, 80).unwrap();
    fast.ack(Lane::Bulk, delivered.last().unwrap().pos).unwrap();
    // 100 more push out about 50 of the oldest: all undelivered by "slow",
    // none by "fast".
    let outcome = journal
        .append(&(100..200).map(telemetry).collect::<Vec<_>>())
        .unwrap();
    let dropped = outcome.dropped.get(RecordClass::Telemetry);
    assert!((50..80).contains(&dropped), "{dropped}");
    let stats = journal.stats().unwrap();
    let drops = |o: &str| stats.output(o).unwrap().drops.get(RecordClass::Telemetry);
    assert_eq!((drops("fast"), drops("slow")), (0, dropped));
    assert_eq!(stats.drops.get(RecordClass::Telemetry), dropped);
}

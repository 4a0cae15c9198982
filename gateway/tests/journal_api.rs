//! Journal API: append, peek, ack, resume across reopen, per-output
//! cursors, GC, stats and change notification.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod journal_support;

use journal_support::*;
use retrofit_gateway::journal::{Journal, JournalError, Lane, RecordClass};

#[test]
fn payloads_are_valid_readings_of_the_expected_size() {
    let t = telemetry_payload(123_456);
    assert_eq!(seq_of(&t), 123_456);
    assert!(
        (180..=240).contains(&t.len()),
        "telemetry payload is {} bytes",
        t.len()
    );
    assert_eq!(seq_of(&event_payload(7)), 7);
}

#[test]
fn entries_come_back_in_commit_order_per_lane() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["mqtt"]);
    let outcome = journal
        .append(&[telemetry(1), event(2), telemetry(3), event(4)])
        .unwrap();
    assert_eq!(outcome.appended, 4);
    assert_eq!(outcome.dropped.total(), 0);
    journal.append(&[telemetry(5)]).unwrap();

    let mut reader = journal.reader("mqtt").unwrap();
    let bulk = peek_all(&mut reader, Lane::Bulk);
    assert_eq!(seqs(&bulk), vec![1, 3, 5]);
    assert_eq!(
        bulk.iter().map(|e| e.pos).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(bulk
        .iter()
        .all(|e| e.lane == Lane::Bulk && e.class == RecordClass::Telemetry));
    let urgent = peek_all(&mut reader, Lane::Urgent);
    assert_eq!(seqs(&urgent), vec![2, 4]);
    assert!(urgent
        .iter()
        .all(|e| e.lane == Lane::Urgent && e.class == RecordClass::Event));
    assert_eq!(reader.peek(Lane::Bulk, 2).unwrap().len(), 2);
    assert!(reader.peek(Lane::Bulk, 0).unwrap().is_empty());
}

#[test]
fn peek_without_ack_repeats_and_ack_advances() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["mqtt"]);
    journal
        .append(&(1..=10).map(telemetry).collect::<Vec<_>>())
        .unwrap();
    let mut reader = journal.reader("mqtt").unwrap();
    let first = reader.peek(Lane::Bulk, 4).unwrap();
    assert_eq!(reader.peek(Lane::Bulk, 4).unwrap(), first);
    reader.ack(Lane::Bulk, first[3].pos).unwrap();
    assert_eq!(seqs(&reader.peek(Lane::Bulk, 4).unwrap()), vec![5, 6, 7, 8]);
    assert_eq!(
        seqs(&reader.peek_after(Lane::Bulk, 6, 2).unwrap()),
        vec![7, 8]
    );
    assert_eq!(
        seqs(&reader.peek_after(Lane::Bulk, 2, 2).unwrap()),
        vec![5, 6],
        "never before the cursor"
    );
    // Acking backwards is a no-op, acking past the head is refused.
    reader.ack(Lane::Bulk, 2).unwrap();
    assert_eq!(seqs(&reader.peek(Lane::Bulk, 1).unwrap()), vec![5]);
    assert!(matches!(
        reader.ack(Lane::Bulk, 11),
        Err(JournalError::AckBeyondHead {
            lane: Lane::Bulk,
            pos: 11,
            last: 10
        })
    ));
    assert!(matches!(
        reader.ack(Lane::Urgent, 1),
        Err(JournalError::AckBeyondHead { last: 0, .. })
    ));
}

#[test]
fn cursors_are_per_output_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = open(dir.path(), &["mqtt", "influx"]);
        journal
            .append(&(1..=6).map(telemetry).collect::<Vec<_>>())
            .unwrap();
        journal.append(&[event(100), event(101)]).unwrap();
        let mut mqtt = journal.reader("mqtt").unwrap();
        mqtt.ack(Lane::Bulk, 4).unwrap();
        mqtt.ack(Lane::Urgent, 2).unwrap();
        let mut influx = journal.reader("influx").unwrap();
        influx.ack(Lane::Bulk, 1).unwrap();
    }
    let journal = open(dir.path(), &["mqtt", "influx"]);
    let mut mqtt = journal.reader("mqtt").unwrap();
    let mut influx = journal.reader("influx").unwrap();
    assert_eq!(seqs(&peek_all(&mut mqtt, Lane::Bulk)), vec![5, 6]);
    assert!(peek_all(&mut mqtt, Lane::Urgent).is_empty());
    assert_eq!(
        seqs(&peek_all(&mut influx, Lane::Bulk)),
        vec![2, 3, 4, 5, 6]
    );
    assert_eq!(seqs(&peek_all(&mut influx, Lane::Urgent)), vec![100, 101]);

    journal.append(&[telemetry(7)]).unwrap();
    assert_eq!(
        peek_all(&mut mqtt, Lane::Bulk).last().map(|e| e.pos),
        Some(7)
    );
}

#[test]
fn delivered_by_all_is_collected_and_positions_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = open(dir.path(), &["a", "b"]);
        journal
            .append(&(1..=5).map(telemetry).collect::<Vec<_>>())
            .unwrap();
        journal.reader("a").unwrap().ack(Lane::Bulk, 5).unwrap();
        assert_eq!(journal.stats().unwrap().lane(Lane::Bulk).records, 5);
        journal.reader("b").unwrap().ack(Lane::Bulk, 3).unwrap();
        let stats = journal.stats().unwrap();
        assert_eq!(
            stats.lane(Lane::Bulk).records,
            2,
            "rows 1..=3 delivered by both are gone"
        );
        journal.reader("b").unwrap().ack(Lane::Bulk, 5).unwrap();
        let stats = journal.stats().unwrap();
        assert_eq!(
            (stats.lane(Lane::Bulk).records, stats.lane(Lane::Bulk).bytes),
            (0, 0)
        );
    }
    let journal = open(dir.path(), &["a", "b"]);
    journal.append(&[telemetry(6)]).unwrap();
    let entries = peek_all(&mut journal.reader("a").unwrap(), Lane::Bulk);
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.pos, seq_of(&e.payload)))
            .collect::<Vec<_>>(),
        vec![(6, 6)]
    );
}

#[test]
fn new_output_starts_at_the_head_and_dropped_outputs_stop_holding_rows() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = open(dir.path(), &["mqtt", "old"]);
        journal
            .append(&(1..=3).map(telemetry).collect::<Vec<_>>())
            .unwrap();
        journal.reader("mqtt").unwrap().ack(Lane::Bulk, 3).unwrap();
        assert_eq!(
            journal.stats().unwrap().lane(Lane::Bulk).records,
            3,
            "\"old\" still needs them"
        );
    }
    let journal = open(dir.path(), &["mqtt", "influx"]);
    assert!(
        matches!(journal.reader("old"), Err(JournalError::UnknownOutput(name)) if name == "old")
    );
    let mut influx = journal.reader("influx").unwrap();
    assert!(peek_all(&mut influx, Lane::Bulk).is_empty());
    journal.append(&[telemetry(4)]).unwrap();
    assert_eq!(seqs(&peek_all(&mut influx, Lane::Bulk)), vec![4]);
    let stats = journal.stats().unwrap();
    assert_eq!(
        stats.lane(Lane::Bulk).records,
        1,
        "rows only \"old\" needed were collected"
    );
    let names: Vec<_> = stats.outputs.iter().map(|o| o.output.as_str()).collect();
    assert_eq!(names, vec!["influx", "mqtt"]);
}

#[test]
fn stats_report_depth_age_and_size_also_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["mqtt", "influx"]);
    journal
        .append(&(1..=10).map(telemetry).collect::<Vec<_>>())
        .unwrap();
    journal.append(&[event(1)]).unwrap();
    journal.reader("mqtt").unwrap().ack(Lane::Bulk, 7).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));

    let read_only = Journal::open_read_only(dir.path()).unwrap();
    for stats in [journal.stats().unwrap(), read_only.stats().unwrap()] {
        let mqtt = stats.output("mqtt").unwrap();
        assert_eq!(mqtt.lane(Lane::Bulk).acked_pos, 7);
        assert_eq!(mqtt.lane(Lane::Bulk).depth, 3);
        assert_eq!(mqtt.lane(Lane::Urgent).depth, 1);
        let influx = stats.output("influx").unwrap();
        assert_eq!(influx.lane(Lane::Bulk).depth, 10);
        let age = influx.lane(Lane::Bulk).oldest_undelivered_age.unwrap();
        assert!(
            age >= std::time::Duration::from_millis(20) && age < std::time::Duration::from_secs(60)
        );
        let payload_bytes: u64 = (1..=10)
            .map(|s| telemetry_payload(s).len() as u64)
            .sum::<u64>()
            + event_payload(1).len() as u64;
        assert_eq!(
            stats.accounted_bytes(),
            payload_bytes + 11 * retrofit_gateway::journal::RECORD_OVERHEAD_BYTES
        );
        assert!(stats.file_bytes > 0);
        assert_eq!(stats.drops.total(), 0);
    }
    journal.reader("mqtt").unwrap().ack(Lane::Bulk, 10).unwrap();
    let mqtt = read_only.stats().unwrap().output("mqtt").unwrap().clone();
    assert_eq!(
        (
            mqtt.lane(Lane::Bulk).depth,
            mqtt.lane(Lane::Bulk).oldest_undelivered_age
        ),
        (0, None)
    );
}

#[test]
fn read_only_open_never_creates_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Journal::open_read_only(dir.path()),
        Err(JournalError::NotFound(_))
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn changes_are_signalled_after_each_committing_append() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["mqtt"]);
    let mut changes = journal.changes();
    assert!(!changes.has_changed().unwrap());
    journal.append(&[]).unwrap();
    assert!(
        !changes.has_changed().unwrap(),
        "an empty append commits nothing"
    );
    journal.append(&[telemetry(1)]).unwrap();
    assert!(changes.has_changed().unwrap());
    let seen = *changes.borrow_and_update();
    journal.append(&[event(2)]).unwrap();
    assert!(*changes.borrow_and_update() > seen);
}

#[test]
fn journal_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<Journal>();
    assert_send::<retrofit_gateway::journal::JournalReader>();

    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), &["mqtt"]);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let journal = journal.clone();
            s.spawn(move || {
                for i in 0..25 {
                    journal.append(&[telemetry(t * 1000 + i)]).unwrap();
                }
            });
        }
    });
    let entries = peek_all(&mut journal.reader("mqtt").unwrap(), Lane::Bulk);
    assert_eq!(
        entries.iter().map(|e| e.pos).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>()
    );
    let mut got = seqs(&entries);
    got.sort_unstable();
    let mut want: Vec<u64> = (0..4)
        .flat_map(|t| (0..25).map(move |i| t * 1000 + i))
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn a_file_that_is_not_a_journal_is_refused_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(retrofit_gateway::journal::FILE_NAME);
    std::fs::write(&path, vec![0xA5u8; 64 * 1024]).unwrap();
    assert!(matches!(
        Journal::open(dir.path(), &Default::default(), &["mqtt"]),
        Err(JournalError::Sqlite(_))
    ));
    assert!(Journal::open_read_only(dir.path()).is_err());

    let other = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(other.path().join(retrofit_gateway::journal::FILE_NAME))
        .unwrap();
    conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL); INSERT INTO meta VALUES ('schema_version', 99);")
        .unwrap();
    drop(conn);
    assert!(matches!(
        Journal::open(other.path(), &Default::default(), &["mqtt"]),
        Err(JournalError::SchemaVersion { found: 99, .. })
    ));
}

#[test]
fn tampered_rows_are_reported_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), &["mqtt"])
        .append(&[telemetry(1), telemetry(2)])
        .unwrap();
    let conn =
        rusqlite::Connection::open(dir.path().join(retrofit_gateway::journal::FILE_NAME)).unwrap();
    conn.execute("UPDATE record_bulk SET class = 42 WHERE pos = 2", [])
        .unwrap();
    // Reopened, as after a restart: what was committed before is read from
    // the file (the in-memory tail only holds this process's commits).
    let journal = open(dir.path(), &["mqtt"]);
    let mut reader = journal.reader("mqtt").unwrap();
    assert!(matches!(
        reader.peek(Lane::Bulk, 10),
        Err(JournalError::BadCode {
            what: "record class",
            code: 42
        })
    ));
    assert_eq!(seqs(&reader.peek(Lane::Bulk, 1).unwrap()), vec![1]);
}

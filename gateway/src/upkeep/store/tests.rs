use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Reading};
use retrofit_protocols::{
    DeviceKind, EventName, EventState, Id, MetricName, Severity, Source, Timestamp, Value,
};

use super::*;
use crate::upkeep::history::{Maintenance, OperatorRecord, Visit};
use crate::upkeep::jsonl;

const MIN: i64 = 60_000;

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

fn reading(device: &str, kind: DeviceKind, minute: i64, seq: u64, body: Body) -> Reading {
    Reading {
        site: id("s"),
        kind,
        device: id(device),
        connector: None,
        ts: Timestamp(minute * MIN),
        seq,
        source: Source::Mqtt,
        body,
    }
}

fn mode(m: &str) -> Body {
    Body::Telemetry(vec![
        (MetricName::parse("mode").unwrap(), Value::text(m).unwrap()),
        (MetricName::parse("floor").unwrap(), Value::Number(3.0)),
    ])
}

fn alarm(device: &str, n: u64, state: EventState) -> Body {
    Body::Event(EventBody {
        event: EventName::parse("entrapment").unwrap(),
        severity: Severity::Critical,
        state,
        alarm_id: AlarmId::parse(&format!("{device}.entrapment.{n}")).unwrap(),
        detail: BoundedText::default(),
    })
}

fn store(dir: &tempfile::TempDir, max_bytes: u64) -> HistoryStore {
    HistoryStore::open(dir.path(), Bound::new(400, max_bytes)).unwrap()
}

#[test]
fn records_once_and_loads_the_window_with_its_context() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 1 << 30);
    let lift = DeviceKind::Elevator;
    let mut readings: Vec<Reading> = (0..100)
        .map(|m| {
            reading(
                "lift-1",
                lift,
                m,
                m as u64,
                mode(if m < 5 { "out_of_service" } else { "normal" }),
            )
        })
        .collect();
    readings.push(reading(
        "lift-1",
        lift,
        3,
        1000,
        alarm("lift-1", 1, EventState::Raised),
    ));
    readings.push(reading(
        "lift-1",
        lift,
        4,
        1001,
        alarm("lift-1", 2, EventState::Raised),
    ));
    readings.push(reading(
        "lift-1",
        lift,
        4,
        1002,
        alarm("lift-1", 2, EventState::Cleared),
    ));
    assert_eq!(s.record(&readings).unwrap(), 103);
    assert_eq!(s.record(&readings).unwrap(), 0, "replays are kept once");
    let visit = Visit {
        alarm_id: AlarmId::parse("lift-1.entrapment.1").unwrap(),
        at: Timestamp(20 * MIN),
        by: BoundedText::lossy("wang"),
    };
    s.record_operator(&OperatorRecord::Arrive(visit)).unwrap();
    s.record_operator(&OperatorRecord::Maintenance(Maintenance {
        from: Timestamp(50 * MIN),
        to: Timestamp(60 * MIN),
        device: None,
        kind: Some(lift),
        reason: BoundedText::lossy("inspection"),
    }))
    .unwrap();

    let h = s
        .load(&id("s"), Timestamp(10 * MIN), Timestamp(30 * MIN))
        .unwrap();
    // 20 keys in the window, the last before it (minute 9, normal).
    let telemetry: Vec<i64> = h
        .readings
        .iter()
        .filter(|r| matches!(r.body, Body::Telemetry(_)))
        .map(|r| r.ts.as_millis() / MIN)
        .collect();
    assert_eq!(telemetry, (9..30).collect::<Vec<_>>());
    // Only the open alarm (raised at 3, never cleared) comes from before.
    let events: Vec<i64> = h
        .readings
        .iter()
        .filter(|r| matches!(r.body, Body::Event(_)))
        .map(|r| r.seq as i64)
        .collect();
    assert_eq!(events, [1000]);
    assert_eq!(h.arrivals.len(), 1);
    assert!(h.maintenance.is_empty(), "window 50..60 is outside 10..30");
    // Only the state metric is kept.
    let Body::Telemetry(m) = &h.readings[0].body else {
        panic!()
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0.as_str(), "mode");

    // What `history export` writes reads back to the same history.
    let mut text = Vec::new();
    jsonl::write(&h, &mut text).unwrap();
    let back = jsonl::read(text.as_slice()).unwrap();
    assert_eq!(back.readings.len(), h.readings.len());
    assert_eq!(back.arrivals, h.arrivals);
}

#[test]
fn the_bound_drops_the_oldest_counts_them_and_keeps_open_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let max_bytes = 256 * 1024;
    let s = store(&dir, max_bytes);
    let well = DeviceKind::Drainage;
    // An alarm raised first and never cleared, one raised and cleared.
    let open = reading("well-1", well, 0, 1, alarm("well-1", 1, EventState::Raised));
    let closed = [
        reading("well-1", well, 1, 2, alarm("well-1", 2, EventState::Raised)),
        reading(
            "well-1",
            well,
            2,
            3,
            alarm("well-1", 2, EventState::Cleared),
        ),
    ];
    s.record(std::slice::from_ref(&open)).unwrap();
    s.record(&closed).unwrap();
    let n = 20_000;
    for chunk in (0..n).collect::<Vec<i64>>().chunks(1000) {
        let batch: Vec<Reading> = chunk
            .iter()
            .map(|&m| {
                reading(
                    "well-1",
                    well,
                    10 + m,
                    100 + m as u64,
                    Body::Telemetry(vec![]),
                )
            })
            .collect();
        s.record(&batch).unwrap();
    }
    assert!(s.used_bytes().unwrap() > max_bytes, "filled past the bound");
    s.enforce_bound(n * MIN).unwrap();
    assert!(s.used_bytes().unwrap() <= max_bytes);
    let dropped = s.drops().unwrap().get("bound_telemetry");
    assert!(dropped > 0);
    let h = s
        .load(&id("s"), Timestamp(0), Timestamp((n + 10) * MIN))
        .unwrap();
    let kept: Vec<i64> = h
        .readings
        .iter()
        .filter(|r| matches!(r.body, Body::Telemetry(_)))
        .map(|r| r.ts.as_millis() / MIN - 10)
        .collect();
    assert_eq!(kept.len() as u64 + dropped, n as u64, "every drop counted");
    assert_eq!(
        kept.first(),
        Some(&(dropped as i64)),
        "the oldest went first"
    );
    assert!(
        h.readings.contains(&open),
        "the open alarm is never dropped"
    );
}

#[test]
fn ack_and_arrive_follow_the_alarm_and_refuse_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 1 << 30);
    let lift = DeviceKind::Elevator;
    s.record(&[
        reading("lift-1", lift, 1, 1, alarm("lift-1", 1, EventState::Raised)),
        reading("lift-1", lift, 2, 2, alarm("lift-1", 2, EventState::Raised)),
        reading(
            "lift-1",
            lift,
            3,
            3,
            alarm("lift-1", 2, EventState::Cleared),
        ),
    ])
    .unwrap();
    let id1 = AlarmId::parse("lift-1.entrapment.1").unwrap();
    let a = s
        .mark(Action::Acknowledge, &id1, "li", Timestamp(4 * MIN))
        .unwrap();
    assert_eq!(a.stage, crate::upkeep::alarms::Stage::Acknowledged);
    assert_eq!(a.acknowledged.unwrap().by.as_str(), "li");
    let a = s
        .mark(Action::Arrive, &id1, "wang", Timestamp(9 * MIN))
        .unwrap();
    assert_eq!(a.stage, crate::upkeep::alarms::Stage::Arrived);
    let active = s.active_alarms().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].alarm_id, id1);
    assert_eq!(active[0].arrived.as_ref().unwrap().at, Timestamp(9 * MIN));
    let ghost = AlarmId::parse("lift-1.entrapment.77").unwrap();
    assert!(matches!(
        s.mark(Action::Arrive, &ghost, "wang", Timestamp(0)),
        Err(AlarmError::NotFound(_))
    ));
    // The arrival is in the history the service levels read.
    let h = s.load(&id("s"), Timestamp(0), Timestamp(60 * MIN)).unwrap();
    assert_eq!(h.first_arrival(&id1), Some(Timestamp(9 * MIN)));
}

#[test]
fn a_version_0_file_is_reordered_by_time_and_keeps_its_readings() {
    let dir = tempfile::tempdir().unwrap();
    {
        let old = rusqlite::Connection::open(dir.path().join(FILE_NAME)).unwrap();
        old.execute_batch(
            "CREATE TABLE seen (
                device TEXT NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
                connector INTEGER NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
                state TEXT,
                PRIMARY KEY (device, ts, seq, connector)) WITHOUT ROWID;
             CREATE INDEX seen_by_ts ON seen (ts);
             INSERT INTO seen VALUES ('lift-1', 60000, 1, 0, 'elevator', 'mqtt', 'normal'),
                                     ('lift-1', 120000, 2, 0, 'elevator', 'mqtt', 'fault');",
        )
        .unwrap();
    }
    let s = store(&dir, 1 << 30);
    let states = |s: &HistoryStore| {
        s.load(&id("s"), Timestamp(0), Timestamp(10 * MIN))
            .unwrap()
            .readings
            .iter()
            .map(|r| (r.seq, r.body.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        states(&s),
        [(1, mode_only("normal")), (2, mode_only("fault"))]
    );
    s.record(&[reading("lift-1", DeviceKind::Elevator, 2, 2, mode("fault"))])
        .unwrap();
    assert_eq!(states(&s).len(), 2, "still idempotent after the upgrade");
    drop(s);
    let conn = rusqlite::Connection::open(dir.path().join(FILE_NAME)).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let old_index: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('seen_by_ts', 'seen_v0')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((version, old_index), (1, 0));
}

fn mode_only(m: &str) -> Body {
    Body::Telemetry(vec![(
        MetricName::parse("mode").unwrap(),
        Value::text(m).unwrap(),
    )])
}

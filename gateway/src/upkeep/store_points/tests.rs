use retrofit_protocols::{DeviceKind, Id, Timestamp};

use super::*;
use crate::upkeep::sla::Tally;
use crate::upkeep::store::Bound;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2026-11-02T00:00:00Z.
const NOV_2: i64 = 1_793_577_600_000;

fn windows(from: i64, n: i64, len: i64) -> Vec<(i64, i64)> {
    (0..n)
        .map(|i| (from + i * len, from + (i + 1) * len))
        .collect()
}

#[test]
fn first_start_catches_up_48_hours_and_7_days_at_most() {
    let now = NOV_2 + 10 * MIN;
    let long_ago = Some(NOV_2 - 100 * DAY);
    assert_eq!(
        due(SlaPeriod::Hour, long_ago, now),
        windows(NOV_2 - 48 * HOUR, 48, HOUR)
    );
    assert_eq!(
        due(SlaPeriod::Day, long_ago, now),
        windows(NOV_2 - 7 * DAY, 7, DAY)
    );
}

#[test]
fn nothing_is_due_before_the_history_starts() {
    let now = NOV_2 + 10 * MIN;
    assert_eq!(due(SlaPeriod::Hour, None, now), vec![]);
    // A history started at 22:30: its hour and the next are due, and the
    // day it started in; nothing before.
    let started = Some(NOV_2 - 90 * MIN);
    assert_eq!(
        due(SlaPeriod::Hour, started, now),
        windows(NOV_2 - 2 * HOUR, 2, HOUR)
    );
    assert_eq!(
        due(SlaPeriod::Day, started, now),
        windows(NOV_2 - DAY, 1, DAY)
    );
}

#[test]
fn a_window_is_due_only_once_settled() {
    let written = Some(NOV_2 - HOUR);
    assert!(due(SlaPeriod::Hour, written, NOV_2 + SETTLE_MS - 1).is_empty());
    assert_eq!(
        due(SlaPeriod::Hour, written, NOV_2 + SETTLE_MS),
        windows(NOV_2 - HOUR, 1, HOUR)
    );
    let day_written = Some(NOV_2 - DAY);
    assert_eq!(
        due(SlaPeriod::Day, day_written, NOV_2 + 59 * MIN),
        windows(NOV_2 - DAY, 1, DAY)
    );
    assert_eq!(due(SlaPeriod::Day, Some(NOV_2), NOV_2 + 23 * HOUR), vec![]);
}

#[test]
fn a_restart_resumes_after_the_last_window_written() {
    let now = NOV_2 + 10 * MIN;
    assert_eq!(
        due(SlaPeriod::Hour, Some(NOV_2 - 4 * HOUR), now),
        windows(NOV_2 - 4 * HOUR, 4, HOUR)
    );
    assert_eq!(due(SlaPeriod::Hour, Some(NOV_2), now), vec![]);
    assert_eq!(
        due(SlaPeriod::Day, Some(NOV_2 - 2 * DAY), now),
        windows(NOV_2 - 2 * DAY, 2, DAY)
    );
}

#[test]
fn a_long_stop_catches_up_only_within_the_bound() {
    let now = NOV_2 + 10 * MIN;
    let month_ago = Some(NOV_2 - 30 * DAY);
    assert_eq!(
        due(SlaPeriod::Hour, month_ago, now),
        windows(NOV_2 - 48 * HOUR, 48, HOUR)
    );
    assert_eq!(
        due(SlaPeriod::Day, month_ago, now),
        windows(NOV_2 - 7 * DAY, 7, DAY)
    );
}

#[test]
fn odd_marks_and_clocks_never_panic() {
    // A clock set back: the mark is in the future, nothing is due.
    assert_eq!(due(SlaPeriod::Hour, Some(NOV_2 + DAY), NOV_2), vec![]);
    // An unaligned mark rewrites its window (idempotent in the store).
    assert_eq!(
        due(SlaPeriod::Hour, Some(NOV_2 - HOUR + 1), NOV_2 + SETTLE_MS),
        windows(NOV_2 - HOUR, 1, HOUR)
    );
    for now in [i64::MIN, -1, 0, i64::MAX] {
        for written in [None, Some(i64::MIN), Some(0), Some(i64::MAX)] {
            for period in SlaPeriod::ALL {
                assert!(due(period, written, now).len() <= 48);
            }
        }
    }
}

#[test]
fn a_report_becomes_site_kind_and_device_lines() {
    let site = Id::parse("kangfu-garden").unwrap();
    let lift = Id::parse("lift-1").unwrap();
    let tally = Tally {
        window_ms: HOUR,
        down_ms: 15 * MIN,
        out_ms: 15 * MIN,
        failures: 1,
        received: 60,
        expected: 60,
        ..Tally::default()
    };
    let report = SlaReport {
        from: Timestamp::from_millis(NOV_2),
        to: Timestamp::from_millis(NOV_2 + HOUR),
        site: Figures::new(&site, None, None, &tally),
        kinds: vec![Figures::new(
            &site,
            Some(DeviceKind::Elevator),
            None,
            &tally,
        )],
        devices: vec![Figures::new(
            &site,
            Some(DeviceKind::Elevator),
            Some(&lift),
            &tally,
        )],
        entrapments: vec![],
    };
    let fields = "availability_pct=75.0,uptime_pct=75.0,failures=1i,mtbf_h=0.75,mttr_h=0.25,\
                  data_completeness_pct=100.0 1793577600000\n";
    assert_eq!(
        sla_lines(&report, SlaPeriod::Hour),
        vec![
            format!("sla,site=kangfu-garden,period=hour {fields}"),
            format!("sla,site=kangfu-garden,kind=elevator,period=hour {fields}"),
            format!("sla,site=kangfu-garden,kind=elevator,device=lift-1,period=hour {fields}"),
        ]
    );
}

#[test]
fn the_mark_persists_and_never_moves_back() {
    let dir = tempfile::tempdir().unwrap();
    let bound = Bound::new(400, 1 << 30);
    let store = HistoryStore::open(dir.path(), bound).unwrap();
    assert_eq!(store.sla_written(SlaPeriod::Hour).unwrap(), None);
    assert_eq!(store.history_start().unwrap(), None);
    store.mark_sla_written(SlaPeriod::Hour, NOV_2).unwrap();
    store
        .mark_sla_written(SlaPeriod::Hour, NOV_2 - HOUR)
        .unwrap();
    store.mark_sla_written(SlaPeriod::Day, NOV_2 - DAY).unwrap();
    drop(store);
    let store = HistoryStore::open(dir.path(), bound).unwrap();
    assert_eq!(store.sla_written(SlaPeriod::Hour).unwrap(), Some(NOV_2));
    assert_eq!(
        store.sla_written(SlaPeriod::Day).unwrap(),
        Some(NOV_2 - DAY)
    );
}

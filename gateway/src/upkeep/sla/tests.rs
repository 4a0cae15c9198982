//! Table-driven service-level cases. Every expected figure is written as
//! arithmetic from the timeline and §12's definitions, never copied from
//! the code's output. Times are offsets in hours from T0; W = 10 h.

use retrofit_protocols::reading::{AlarmId, BoundedText, EventBody, StatusBody};
use retrofit_protocols::{EventName, EventState, MetricName, Presence, Severity, Value};

use super::*;
use crate::upkeep::history::{Maintenance, Visit};

/// 2026-11-01T00:00:00Z
const T0: i64 = 1_793_491_200_000;
const H: f64 = 3_600_000.0;
const W: f64 = 10.0;

fn at(hours: f64) -> Timestamp {
    Timestamp(T0 + (hours * H).round() as i64)
}

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

fn spec(device: &str, kind: DeviceKind, interval_s: u32) -> Arc<Device> {
    Arc::new(Device {
        id: id(device),
        kind,
        link: id("l"),
        expected_interval_s: interval_s,
        grace_s: 3 * interval_s,
    })
}

fn reading(device: &Device, hours: f64, seq: u64, body: Body) -> Reading {
    Reading {
        site: id("s"),
        kind: device.kind,
        device: device.id.clone(),
        connector: None,
        ts: at(hours),
        seq,
        source: Source::Mqtt,
        body,
    }
}

fn metrics(pairs: &[(&str, &str)]) -> Body {
    Body::Telemetry(
        pairs
            .iter()
            .map(|(n, v)| (MetricName::parse(n).unwrap(), Value::text(v).unwrap()))
            .collect(),
    )
}

fn alarm(name: &str, severity: Severity, state: EventState, alarm_id: &str) -> Body {
    Body::Event(EventBody {
        event: EventName::parse(name).unwrap(),
        severity,
        state,
        alarm_id: AlarmId::parse(alarm_id).unwrap(),
        detail: BoundedText::default(),
    })
}

/// A telemetry reading every `interval_s` in `[from_h, to_h)`, except in
/// the open gap `(gap.0, gap.1)`, with `state` deciding its metrics.
fn regular(
    d: &Device,
    (from_h, to_h): (f64, f64),
    gap: Option<(f64, f64)>,
    state: impl Fn(f64) -> Body,
) -> Vec<Reading> {
    let step = f64::from(d.expected_interval_s) / 3600.0;
    let n = ((to_h - from_h) / step).round() as u64;
    (0..n)
        .map(|k| (k, from_h + k as f64 * step))
        .filter(|(_, h)| gap.is_none_or(|(a, b)| *h <= a || *h >= b))
        .map(|(k, h)| reading(d, h, 1_000_000 + k, state(h)))
        .collect()
}

fn quiet(_: f64) -> Body {
    metrics(&[])
}

fn report(devices: &[Arc<Device>], history: &History, planned: &[Maintenance]) -> SlaReport {
    let query = SlaQuery {
        site: id("s"),
        from: at(0.0),
        to: at(W),
        devices,
        planned,
        arrival_target_s: DEFAULT_ARRIVAL_TARGET_S,
    };
    compute(&query, history).unwrap()
}

fn window(device: Option<&str>, from_h: f64, to_h: f64) -> Maintenance {
    Maintenance {
        from: at(from_h),
        to: at(to_h),
        device: device.map(id),
        kind: None,
        reason: BoundedText::default(),
    }
}

#[track_caller]
fn close(actual: Option<f64>, expected: Option<f64>) {
    match (actual, expected) {
        (Some(a), Some(e)) => assert!((a - e).abs() < 1e-9, "{a} != {e}"),
        (a, e) => assert_eq!(a, e),
    }
}

/// Expected figures: availability, uptime, failures, MTBF h, MTTR h,
/// completeness.
struct Expect(
    Option<f64>,
    Option<f64>,
    u64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

#[track_caller]
fn check(f: &Figures, e: Expect) {
    close(f.availability_pct, e.0);
    close(f.uptime_pct, e.1);
    assert_eq!(f.failures, e.2, "failures");
    close(f.mtbf_h, e.3);
    close(f.mttr_h, e.4);
    close(f.data_completeness_pct, e.5);
}

struct Case {
    name: &'static str,
    devices: Vec<Arc<Device>>,
    history: History,
    planned: Vec<Maintenance>,
    expect: Expect,
}

/// An elevator offline 2h+3min..3h (last reading at 2 h, grace 180 s,
/// next at 3 h), with a critical `power_loss` 2.5h..3.5h overlapping it,
/// and `mode` out_of_service 5h..6h.
fn overlapping_causes() -> Case {
    let d = spec("elev-1", DeviceKind::Elevator, 60);
    let mode = |h: f64| {
        let m = if (5.0..6.0).contains(&h) {
            "out_of_service"
        } else {
            "normal"
        };
        metrics(&[("mode", m)])
    };
    let mut readings = regular(&d, (0.0, W), Some((2.0, 3.0)), mode);
    let pl = "elev-1.power_loss.1";
    readings.push(reading(
        &d,
        2.5,
        1,
        alarm("power_loss", Severity::Critical, EventState::Raised, pl),
    ));
    readings.push(reading(
        &d,
        3.5,
        2,
        alarm("power_loss", Severity::Critical, EventState::Cleared, pl),
    ));
    let offline_start = 2.0 + 180.0 / 3600.0;
    let d_h = (3.5 - offline_start) + (6.0 - 5.0);
    // 600 minutes, minus the 59 readings strictly between 2 h and 3 h.
    let received = 600.0 - 59.0;
    Case {
        name: "overlapping offline, critical alarm and mode",
        devices: vec![d],
        history: History {
            readings,
            ..History::default()
        },
        planned: vec![],
        expect: Expect(
            Some(100.0 * (W - d_h) / W),
            Some(100.0 * (W - d_h) / W),
            2,
            Some((W - d_h) / 2.0),
            Some(d_h / 2.0),
            Some(100.0 * received / 600.0),
        ),
    }
}

/// A charger: connector 1 faulted 1h..2h, connector 2 unavailable
/// 1.5h..2.5h: one failure 1h..2.5h. Two readings a minute: completeness
/// capped at 100.
fn charger_connectors() -> Case {
    let d = spec("ev-1", DeviceKind::EvCharger, 60);
    let mut readings = Vec::new();
    for (connector, bad, (a, b)) in [(1, "faulted", (1.0, 2.0)), (2, "unavailable", (1.5, 2.5))] {
        let status = move |h: f64| {
            let s = if (a..b).contains(&h) {
                bad
            } else {
                "available"
            };
            metrics(&[("status", s)])
        };
        for mut r in regular(&d, (0.0, W), None, status) {
            r.connector = Some(connector);
            readings.push(r);
        }
    }
    let d_h = 2.5 - 1.0;
    Case {
        name: "charger connectors overlap, completeness capped",
        devices: vec![d],
        history: History {
            readings,
            ..History::default()
        },
        planned: vec![],
        expect: Expect(
            Some(100.0 * (W - d_h) / W),
            Some(100.0 * (W - d_h) / W),
            1,
            Some(W - d_h),
            Some(d_h),
            Some(100.0),
        ),
    }
}

/// A drainage well: critical alarms A 1h..3h and B 2.5h..4.5h (one
/// out-of-service span 1h..4.5h starting outside maintenance), C 6h..7h
/// starting inside maintenance 5.5h..6.5h (not a failure). Maintenance
/// 2h..4h (config) and 5.5h..6.5h (operator record).
fn maintenance_cuts() -> Case {
    let d = spec("drain-1", DeviceKind::Drainage, 300);
    let mut readings = regular(&d, (0.0, W), None, quiet);
    for (name, from, to) in [("a", 1.0, 3.0), ("b", 2.5, 4.5), ("c", 6.0, 7.0)] {
        let alarm_id = format!("drain-1.high_water.{name}");
        readings.push(reading(
            &d,
            from,
            1,
            alarm(
                "high_water",
                Severity::Critical,
                EventState::Raised,
                &alarm_id,
            ),
        ));
        readings.push(reading(
            &d,
            to,
            2,
            alarm(
                "high_water",
                Severity::Critical,
                EventState::Cleared,
                &alarm_id,
            ),
        ));
    }
    let m = (4.0 - 2.0) + (6.5 - 5.5);
    let out = (4.5 - 1.0) + (7.0 - 6.0);
    let d_h = (2.0 - 1.0) + (4.5 - 4.0) + (7.0 - 6.5);
    Case {
        name: "maintenance windows cut intervals",
        devices: vec![d],
        history: History {
            readings,
            maintenance: vec![window(Some("drain-1"), 5.5, 6.5)],
            ..History::default()
        },
        planned: vec![window(None, 2.0, 4.0)],
        expect: Expect(
            Some(100.0 * (W - m - d_h) / (W - m)),
            Some(100.0 * (W - out) / W),
            1,
            Some(W - m - d_h),
            Some(d_h),
            Some(100.0),
        ),
    }
}

/// `mode` out_of_service from -1h to 1h and from 9h on: the window cuts
/// the first at its start (not a failure: it started before) and the
/// second at its end.
fn window_cuts_both_ends() -> Case {
    let d = spec("elev-2", DeviceKind::Elevator, 60);
    let mode = |h: f64| {
        let m = if !(1.0..9.0).contains(&h) {
            "out_of_service"
        } else {
            "normal"
        };
        metrics(&[("mode", m)])
    };
    let readings = regular(&d, (-2.0, W + 1.0), None, mode);
    let d_h = (1.0 - 0.0) + (W - 9.0);
    Case {
        name: "window cuts intervals at both ends",
        devices: vec![d],
        history: History {
            readings,
            ..History::default()
        },
        planned: vec![],
        expect: Expect(
            Some(100.0 * (W - d_h) / W),
            Some(100.0 * (W - d_h) / W),
            1,
            Some(W - d_h),
            Some(d_h),
            Some(100.0),
        ),
    }
}

/// Regular readings, a minor alarm, a gateway status: nothing out of
/// service, MTBF and MTTR null.
fn no_failures() -> Case {
    let d = spec("park-1", DeviceKind::Parking, 600);
    let mut readings = regular(&d, (0.0, W), None, quiet);
    let low = "park-1.battery_low.1";
    readings.push(reading(
        &d,
        1.0,
        1,
        alarm("battery_low", Severity::Minor, EventState::Raised, low),
    ));
    let mut status = reading(
        &d,
        1.0,
        2,
        Body::Status(StatusBody {
            status: Presence::Online,
            since: at(0.0),
            last_seen: Some(at(0.0)),
            reason: BoundedText::default(),
        }),
    );
    status.source = Source::Gateway;
    readings.push(status);
    // Replays of the same (seq, ts) count once.
    readings.extend(regular(&d, (0.0, 5.0), None, quiet));
    Case {
        name: "no failures",
        devices: vec![d],
        history: History {
            readings,
            ..History::default()
        },
        planned: vec![],
        expect: Expect(Some(100.0), Some(100.0), 0, None, None, Some(100.0)),
    }
}

/// A device that stops at 4 h and never returns, expected every 300 s:
/// offline from 4h + 900 s to the window's end.
fn silent_until_the_end() -> Case {
    let d = spec("drain-2", DeviceKind::Drainage, 300);
    let readings = regular(&d, (0.0, 4.0 + 1.0 / 12.0), None, quiet);
    let d_h = W - (4.0 + 900.0 / 3600.0);
    // Readings at 0, 5, ..., 240 minutes: 49 of 120 expected.
    Case {
        name: "silent until the end",
        devices: vec![d],
        history: History {
            readings,
            ..History::default()
        },
        planned: vec![],
        expect: Expect(
            Some(100.0 * (W - d_h) / W),
            Some(100.0 * (W - d_h) / W),
            1,
            Some(W - d_h),
            Some(d_h),
            Some(100.0 * 49.0 / 120.0),
        ),
    }
}

#[test]
fn device_figures_follow_the_definitions() {
    for case in [
        overlapping_causes(),
        charger_connectors(),
        maintenance_cuts(),
        window_cuts_both_ends(),
        no_failures(),
        silent_until_the_end(),
    ] {
        let r = report(&case.devices, &case.history, &case.planned);
        assert_eq!(r.devices.len(), 1, "{}", case.name);
        eprintln!("case: {}", case.name);
        check(&r.devices[0], case.expect);
    }
}

fn visit(alarm_id: &str, hours: f64) -> Visit {
    Visit {
        alarm_id: AlarmId::parse(alarm_id).unwrap(),
        at: at(hours),
        by: BoundedText::lossy("wang"),
    }
}

/// Entrapments raised at 1h (arrival 20 min, released 40 min: compliant),
/// 5h (arrival 45 min, released 60 min: late), 8h (never reached, the
/// 30 min target passed before the window's end: late) and 9h50 (never
/// reached, target after the window's end: undecided).
#[test]
fn entrapments_against_the_arrival_target() {
    let d = spec("elev-3", DeviceKind::Elevator, 60);
    let mut history = History {
        readings: regular(&d, (0.0, W), None, quiet),
        ..History::default()
    };
    let cases: [(&str, f64, Option<f64>, Option<f64>); 4] = [
        (
            "elev-3.entrapment.1",
            1.0,
            Some(1.0 + 20.0 / 60.0),
            Some(1.0 + 40.0 / 60.0),
        ),
        (
            "elev-3.entrapment.2",
            5.0,
            Some(5.0 + 45.0 / 60.0),
            Some(6.0),
        ),
        ("elev-3.entrapment.3", 8.0, None, None),
        ("elev-3.entrapment.4", 9.0 + 50.0 / 60.0, None, None),
    ];
    for (seq, (alarm_id, raised, arrived, released)) in cases.iter().enumerate() {
        let raise = alarm(
            "entrapment",
            Severity::Critical,
            EventState::Raised,
            alarm_id,
        );
        history
            .readings
            .push(reading(&d, *raised, seq as u64, raise));
        if let Some(r) = released {
            let clear = alarm(
                "entrapment",
                Severity::Critical,
                EventState::Cleared,
                alarm_id,
            );
            history
                .readings
                .push(reading(&d, *r, 100 + seq as u64, clear));
        }
        if let Some(a) = arrived {
            history.arrivals.push(visit(alarm_id, *a));
        }
    }
    // An arrival for an alarm of another device changes nothing.
    history.arrivals.push(visit("elev-9.entrapment.1", 8.1));
    let r = report(std::slice::from_ref(&d), &history, &[]);
    let got: Vec<_> = r
        .entrapments
        .iter()
        .map(|e| (e.arrival_s, e.release_s, e.compliant))
        .collect();
    assert_eq!(
        got,
        [
            (Some(20.0 * 60.0), Some(40.0 * 60.0), Some(true)),
            (Some(45.0 * 60.0), Some(60.0 * 60.0), Some(false)),
            (None, None, Some(false)),
            (None, None, None),
        ]
    );
    assert_eq!(r.entrapments[0].arrived_at, Some(at(1.0 + 20.0 / 60.0)));
    assert_eq!(r.entrapments[1].released_at, Some(at(6.0)));
    // Out of service: 1h..1h40, 5h..6h, 8h..W (the 9h50 one inside it).
    let d_h = 40.0 / 60.0 + 1.0 + (W - 8.0);
    check(
        &r.devices[0],
        Expect(
            Some(100.0 * (W - d_h) / W),
            Some(100.0 * (W - d_h) / W),
            3,
            Some((W - d_h) / 3.0),
            Some(d_h / 3.0),
            Some(100.0),
        ),
    );
    assert_eq!(r.devices[0].entrapments, 4);
    close(r.site.entrapment_compliance_pct, Some(100.0 * 1.0 / 3.0));
}

/// Two wells (a: down 1h..2h; b: down 1h..2h, maintenance 5h..W) and an
/// elevator with no failures: kind and site figures are time-weighted
/// (weights W - M), failures add up, MTBF/MTTR from the summed times.
#[test]
fn kind_and_site_aggregate_time_weighted() {
    let a = spec("drain-a", DeviceKind::Drainage, 300);
    let b = spec("drain-b", DeviceKind::Drainage, 300);
    let e = spec("elev-a", DeviceKind::Elevator, 60);
    let mut readings = Vec::new();
    for d in [&a, &b] {
        readings.extend(regular(d, (0.0, W), None, quiet));
        let alarm_id = format!("{}.sensor_fault.1", d.id);
        readings.push(reading(
            d,
            1.0,
            1,
            alarm(
                "sensor_fault",
                Severity::Critical,
                EventState::Raised,
                &alarm_id,
            ),
        ));
        readings.push(reading(
            d,
            2.0,
            2,
            alarm(
                "sensor_fault",
                Severity::Critical,
                EventState::Cleared,
                &alarm_id,
            ),
        ));
    }
    // The elevator reports only the first half: offline from 5h + 180 s.
    readings.extend(regular(&e, (0.0, 5.0 + 1.0 / 60.0), None, quiet));
    let history = History {
        readings,
        ..History::default()
    };
    let planned = [window(Some("drain-b"), 5.0, W)];
    let r = report(&[a, b, e], &history, &planned);
    check(
        &r.devices[0],
        Expect(Some(90.0), Some(90.0), 1, Some(9.0), Some(1.0), Some(100.0)),
    );
    check(
        &r.devices[1],
        Expect(
            Some(100.0 * (W - 5.0 - 1.0) / (W - 5.0)),
            Some(90.0),
            1,
            Some(4.0),
            Some(1.0),
            Some(100.0),
        ),
    );
    let drainage = r
        .kinds
        .iter()
        .find(|k| k.kind == Some(DeviceKind::Drainage))
        .unwrap();
    let (w2, m2, d2) = (2.0 * W, 5.0, 2.0);
    check(
        drainage,
        Expect(
            Some(100.0 * (w2 - m2 - d2) / (w2 - m2)),
            Some(100.0 * (w2 - d2) / w2),
            2,
            Some((w2 - m2 - d2) / 2.0),
            Some(d2 / 2.0),
            Some(100.0),
        ),
    );
    // The elevator: down from 5h03 to W, 301 of 600 readings.
    let de = W - (5.0 + 180.0 / 3600.0);
    let (w3, m3, d3) = (3.0 * W, 5.0, 2.0 + de);
    check(
        &r.site,
        Expect(
            Some(100.0 * (w3 - m3 - d3) / (w3 - m3)),
            Some(100.0 * (w3 - d3) / w3),
            3,
            Some((w3 - m3 - d3) / 3.0),
            Some(d3 / 3.0),
            Some(100.0 * (120.0 + 120.0 + 301.0) / (120.0 + 120.0 + 600.0)),
        ),
    );
    assert_eq!(r.site.kind, None);
    assert_eq!(r.kinds.len(), 2);
}

#[test]
fn an_empty_window_is_an_error_and_no_devices_give_null_figures() {
    let query = SlaQuery {
        site: id("s"),
        from: at(1.0),
        to: at(1.0),
        devices: &[],
        planned: &[],
        arrival_target_s: DEFAULT_ARRIVAL_TARGET_S,
    };
    assert!(compute(&query, &History::default()).is_err());
    let r = report(&[], &History::default(), &[]);
    check(&r.site, Expect(None, None, 0, None, None, None));
}

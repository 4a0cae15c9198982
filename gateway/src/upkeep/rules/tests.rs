use retrofit_protocols::{DeviceKind, MetricName, Timestamp};

use super::config::{Rule, RuleKind};
use super::*;

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

fn device(name: &str, kind: DeviceKind) -> Arc<Device> {
    Arc::new(Device {
        id: id(name),
        kind,
        link: id("ns"),
        expected_interval_s: 300,
        grace_s: 900,
    })
}

fn telemetry(device: &str, minute: i64, seq: u64, metric: &str, x: f64) -> Reading {
    Reading {
        site: id("s"),
        kind: DeviceKind::Drainage,
        device: id(device),
        connector: None,
        ts: Timestamp(minute * 60_000),
        seq,
        source: Source::Lorawan,
        body: Body::Telemetry(vec![(MetricName::parse(metric).unwrap(), Value::Number(x))]),
    }
}

fn rule(what: RuleKind) -> Rule {
    Rule {
        device: None,
        kind: Some(DeviceKind::Drainage),
        rain_device: Some(id("rain-1")),
        what,
        metric: None,
        clear_after_ms: 0,
    }
}

/// `event:state:severity` of each alarm reading, and their alarm ids.
fn run(book: &mut RuleBook, readings: &[Reading]) -> (Vec<String>, Vec<String>) {
    let out: Vec<Reading> = readings
        .iter()
        .flat_map(|r| book.observe(r, r.ts.as_millis()))
        .collect();
    let mut ids = Vec::new();
    let seen = out
        .iter()
        .map(|r| {
            let Body::Event(e) = &r.body else {
                panic!("not an event")
            };
            assert_eq!(r.source, Source::Gateway);
            ids.push(e.alarm_id.as_str().to_string());
            format!("{}:{}:{}", e.event, e.state, e.severity)
        })
        .collect();
    (seen, ids)
}

#[test]
fn high_water_is_one_alarm_that_escalates_and_steps_down_with_hysteresis() {
    let what = RuleKind::HighWater {
        warning_m: 0.8,
        overflow_m: 1.2,
        hysteresis_m: 0.05,
    };
    let mut book = RuleBook::new(vec![rule(what)], &[device("well-1", DeviceKind::Drainage)]);
    // Up through warning and overflow, then down: critical holds until
    // 1.2 - 0.05, major until 0.8 - 0.05.
    let levels = [0.5, 0.85, 0.9, 1.25, 1.18, 1.1, 0.78, 0.7, 0.79];
    let readings: Vec<Reading> = levels
        .iter()
        .enumerate()
        .map(|(i, x)| telemetry("well-1", i as i64, 10 + i as u64, "level_m", *x))
        .collect();
    let (events, ids) = run(&mut book, &readings);
    assert_eq!(
        events,
        [
            "high_water:raised:major",
            "high_water:raised:critical",
            "high_water:raised:major",
            "high_water:cleared:major",
        ]
    );
    assert!(ids.iter().all(|i| *i == ids[0]), "one alarm: {ids:?}");
    assert_eq!(
        ids[0], "well-1.high_water.11",
        "named after the raising reading"
    );
    // A replay of the same readings in a fresh book gives the same alarm readings.
    let mut again = RuleBook::new(vec![rule(what)], &[device("well-1", DeviceKind::Drainage)]);
    assert_eq!(run(&mut again, &readings).1, ids);
}

#[test]
fn battery_low_with_hysteresis_and_restored_after_restart() {
    let what = RuleKind::BatteryLow {
        below_pct: 20.0,
        hysteresis_pct: 5.0,
    };
    let devices = [device("well-1", DeviceKind::Drainage)];
    let mut book = RuleBook::new(vec![rule(what)], &devices);
    let r = |m, x| telemetry("well-1", m, m as u64, "battery_pct", x);
    let (events, ids) = run(&mut book, &[r(0, 25.0), r(1, 19.0), r(2, 22.0)]);
    assert_eq!(events, ["battery_low:raised:minor"]);
    // After a restart the alarm is taken back and cleared under its id.
    let mut book = RuleBook::new(vec![rule(what)], &devices);
    let held = Active {
        alarm_id: AlarmId::parse(&ids[0]).unwrap(),
        severity: Severity::Minor,
    };
    book.restore(id("well-1"), KnownEvent::BatteryLow, held);
    let (events, after) = run(&mut book, &[r(3, 24.0), r(4, 26.0)]);
    assert_eq!(events, ["battery_low:cleared:minor"]);
    assert_eq!(after, ids);
}

#[test]
fn blockage_is_suspected_when_level_rises_without_rain() {
    let what = RuleKind::BlockageSuspected {
        rise_m: 0.3,
        within_s: 3600,
    };
    let devices = [
        device("well-1", DeviceKind::Drainage),
        device("rain-1", DeviceKind::Drainage),
    ];
    let mut book = RuleBook::new(vec![rule(what)], &devices);
    let level = |m, x| telemetry("well-1", m, m as u64, "level_m", x);
    let rain = |m, x| telemetry("rain-1", m, m as u64, "rain_mm_h", x);
    // Rising 0.2 -> 0.6 in 30 min while it rains: no alarm.
    let (events, _) = run(&mut book, &[rain(0, 4.0), level(0, 0.2), level(30, 0.6)]);
    assert!(events.is_empty(), "{events:?}");
    // Dry, and rising again by 0.3 within the hour: suspected; rain clears it.
    let (events, _) = run(
        &mut book,
        &[
            rain(40, 0.0),
            level(45, 0.4),
            level(60, 0.75),
            rain(61, 3.0),
            level(62, 0.76),
        ],
    );
    assert_eq!(
        events,
        [
            "blockage_suspected:raised:major",
            "blockage_suspected:cleared:major"
        ]
    );
}

#[test]
fn impossible_values_are_refused() {
    for (metric, x) in [
        ("battery_pct", 120.0),
        ("battery_pct", -1.0),
        ("level_m", -0.1),
        ("rain_mm_h", -3.0),
    ] {
        let e = in_range(telemetry("well-1", 0, 0, metric, x)).unwrap_err();
        assert_eq!(e.reason, "out_of_range", "{metric}");
    }
    for (metric, x) in [
        ("battery_pct", 100.0),
        ("level_m", 0.0),
        ("rssi_dbm", -120.0),
    ] {
        assert!(
            in_range(telemetry("well-1", 0, 0, metric, x)).is_ok(),
            "{metric}"
        );
    }
}

#[test]
fn rule_problems_are_located() {
    const DEMO: &str = include_str!("../../../../config/demo.toml");
    let rules = "\n[[rule]]\ntype = \"high_water\"\nkind = \"drainage\"\nwarning_m = 1.0\noverflow_m = 0.5\n\
                 [[rule]]\ntype = \"flood\"\n\
                 [[rule]]\ntype = \"battery_low\"\ndevice = \"ghost\"\nbelow_pct = 20\n\
                 [[rule]]\ntype = \"blockage_suspected\"\ndevice = \"drain-w17\"\nrise_m = 0.3\nwithin_s = 3600\nrain_device = \"rain-roof-1\"\n";
    let e = crate::config::Config::parse(&format!("{DEMO}{rules}"), "t.toml")
        .unwrap_err()
        .to_string();
    let base = DEMO.lines().count();
    assert!(
        e.contains(&format!("t.toml:{}:8: high_water needs", base + 3)),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "t.toml:{}:8: unknown rule type \"flood\"",
            base + 8
        )),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "t.toml:{}:10: no [[device]] has id ghost",
            base + 11
        )),
        "{e}"
    );
    assert_eq!(e.lines().count(), 3, "{e}");
    let ok = rules.split("[[rule]]").last().unwrap();
    let c = crate::config::Config::parse(&format!("{DEMO}\n[[rule]]{ok}"), "t.toml").unwrap();
    assert_eq!(c.rules.len(), 1);
}

#[test]
fn flapping_is_damped_by_clear_after() {
    let what = RuleKind::BatteryLow {
        below_pct: 20.0,
        hysteresis_pct: 0.0,
    };
    let mut damped = rule(what);
    damped.clear_after_ms = 10 * 60_000;
    let mut book = RuleBook::new(vec![damped], &[device("well-1", DeviceKind::Drainage)]);
    let r = |m, x| telemetry("well-1", m, m as u64, "battery_pct", x);
    // Flapping around 20 % every minute: one alarm, no clear until the
    // level has stayed up for 10 minutes.
    let flapping: Vec<Reading> = (0..8)
        .map(|m| r(m, if m % 2 == 0 { 19.0 } else { 21.0 }))
        .collect();
    let (events, _) = run(&mut book, &flapping);
    assert_eq!(events, ["battery_low:raised:minor"]);
    let (events, _) = run(&mut book, &[r(8, 21.0), r(17, 21.0), r(18, 21.0)]);
    assert_eq!(
        events,
        ["battery_low:cleared:minor"],
        "cleared 10 min after 21 % at minute 7"
    );
}

#[test]
fn stale_when_a_metric_stops_arriving_cleared_when_it_comes_back() {
    let mut stale = rule(RuleKind::Stale { after_s: 600 });
    stale.metric = Some(MetricName::parse("level_m").unwrap());
    let mut book = RuleBook::new(vec![stale], &[device("well-1", DeviceKind::Drainage)]);
    let site = id("s");
    let min = |m: i64| Timestamp(m * 60_000);
    assert!(book.tick(&site, min(0)).is_empty());
    // The battery arrives, the level does not.
    let (events, _) = run(&mut book, &[telemetry("well-1", 5, 1, "battery_pct", 80.0)]);
    assert!(events.is_empty());
    assert!(book.tick(&site, min(9)).is_empty());
    let raised = book.tick(&site, min(10));
    assert_eq!(raised.len(), 1);
    let Body::Event(e) = &raised[0].body else {
        panic!()
    };
    assert_eq!(
        (e.event.as_str(), e.state, e.severity),
        ("stale", EventState::Raised, Severity::Minor)
    );
    assert_eq!(raised[0].ts, min(10));
    assert!(book.tick(&site, min(11)).is_empty(), "raised once");
    let (events, ids) = run(&mut book, &[telemetry("well-1", 12, 2, "level_m", 0.4)]);
    assert_eq!(events, ["stale:cleared:minor"]);
    assert_eq!(ids[0], e.alarm_id.as_str());
}

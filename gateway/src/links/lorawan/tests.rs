use super::*;
use crate::config::Config;
use crate::links::LinkSpec;
use retrofit_protocols::reading::Body;
use retrofit_protocols::Value;

const DEMO: &str = include_str!("../../../../config/demo.toml");
const REFERENCE: &str = include_str!("../../../../protocols/testdata/chirpstack-v4-uplink.json");
const TOPIC: &str = "application/7d3c1f2a/device/a84041000181c617/event/up";

fn link() -> LorawanConfig {
    let c = Config::parse(DEMO, "demo.toml").unwrap();
    match c.links.into_iter().next().unwrap() {
        LinkSpec::Lorawan(l) => l,
        _ => panic!("first demo link is lorawan"),
    }
}

fn metric(r: &Reading, name: &str) -> Option<Value> {
    match &r.body {
        Body::Telemetry(m) => m
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

#[test]
fn normalizes_the_reference_uplink_from_object() {
    let r = link()
        .reading_from_uplink(TOPIC, REFERENCE.as_bytes())
        .unwrap();
    assert_eq!(r.device.as_str(), "drain-w17");
    assert_eq!(r.seq, 1234);
    assert_eq!(r.ts.to_string(), "2026-11-28T12:00:00.123Z");
    assert_eq!(metric(&r, "level_m"), Some(Value::Number(1.234)));
    assert_eq!(metric(&r, "rssi_dbm"), Some(Value::Number(-97.0)));
    assert_eq!(metric(&r, "snr_db"), Some(Value::Number(7.5)));
}

#[test]
fn decodes_data_when_object_is_absent() {
    let mut up: serde_json::Value = serde_json::from_str(REFERENCE).unwrap();
    up.as_object_mut().unwrap().remove("object");
    // LDDS75: battery 3.300 V, distance 1766 mm, no interrupt, temp 0, sensor flag 1.
    let bytes = [0x0c, 0xe4, 0x06, 0xe6, 0x00, 0x00, 0x00, 0x01];
    up["data"] = base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .into();
    let r = link()
        .reading_from_uplink(TOPIC, up.to_string().as_bytes())
        .unwrap();
    let Some(Value::Number(level)) = metric(&r, "level_m") else {
        panic!("{r:?}")
    };
    assert!((level - (3.0 - 1.766)).abs() < 1e-9, "{level}");
}

#[test]
fn rejects_hostile_uplinks() {
    let l = link();
    let good: serde_json::Value = serde_json::from_str(REFERENCE).unwrap();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "malformed_json"),
        ("".into(), "malformed_json"),
        (
            with(&|v| v["deviceInfo"]["devEui"] = "ffffffffffffffff".into()),
            "topic_mismatch",
        ),
        (with(&|v| v["fCnt"] = "12".into()), "invalid_field"),
        (
            with(&|v| v["object"] = serde_json::json!({"level m": 1})),
            "invalid_metric",
        ),
        (
            with(&|v| v["object"] = serde_json::json!({"level_m": "deep"})),
            "invalid_value",
        ),
        (
            with(&|v| v["object"] = serde_json::json!({"level_m": {"x": 1}})),
            "invalid_value",
        ),
        (
            format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000)),
            "oversized",
        ),
    ];
    for (payload, reason) in cases {
        let got = l
            .reading_from_uplink(TOPIC, payload.as_bytes())
            .unwrap_err();
        assert_eq!(got.reason, reason, "{}", &payload[..payload.len().min(120)]);
    }
    let unknown = REFERENCE.replace("a84041000181c617", "0000000000000042");
    let topic = TOPIC.replace("a84041000181c617", "0000000000000042");
    assert_eq!(
        l.reading_from_uplink(&topic, unknown.as_bytes())
            .unwrap_err()
            .reason,
        "unknown_device"
    );
}

const STATUS: &str = include_str!("../../../../protocols/testdata/chirpstack-v4-status.json");
const JOIN: &str = include_str!("../../../../protocols/testdata/chirpstack-v4-join.json");

fn event_topic(event: &str) -> String {
    TOPIC.replace("/event/up", &format!("/event/{event}"))
}

#[test]
fn a_status_event_is_a_battery_and_margin_reading() {
    let l = link();
    let Ok(Handled::Reading {
        reading,
        frame_counter: false,
        ..
    }) = l.handle_event(&event_topic("status"), STATUS.as_bytes())
    else {
        panic!("status is a reading whose seq is no frame counter")
    };
    assert_eq!(reading.device.as_str(), "drain-w17");
    assert_eq!(reading.ts.to_string(), "2026-11-28T13:00:00.250Z");
    assert_eq!(reading.seq, STATUS_SEQ_BASE + reading.ts.as_millis() as u64);
    assert!(reading.seq > u64::from(u32::MAX), "never an fCnt");
    assert_eq!(metric(&reading, "battery_pct"), Some(Value::Number(87.5)));
    assert_eq!(metric(&reading, "margin_db"), Some(Value::Number(7.0)));
    let mains = STATUS.replace("\"margin\"", "\"externalPowerSource\": true, \"margin\"");
    let r = l
        .reading_from_status(&event_topic("status"), mains.as_bytes())
        .unwrap();
    assert_eq!(metric(&r, "battery_pct"), None, "mains powered");
    assert_eq!(metric(&r, "margin_db"), Some(Value::Number(7.0)));
}

#[test]
fn a_join_event_resets_the_device_counter_and_records_nothing() {
    let l = link();
    let got = l.handle_event(&event_topic("join"), JOIN.as_bytes());
    let Ok(Handled::CounterReset(device)) = got else {
        panic!("{got:?}")
    };
    assert_eq!(device.as_str(), "drain-w17");
    let Ok(Handled::Reading {
        frame_counter: true,
        ..
    }) = l.handle_event(TOPIC, REFERENCE.as_bytes())
    else {
        panic!("an uplink's seq is its frame counter")
    };
}

#[test]
fn rejects_hostile_join_status_and_log_events() {
    let l = link();
    let unknown = "0000000000000042";
    let cases = [
        ("status", "{not json".to_string(), "malformed_json"),
        ("join", "{\"deviceInfo\":".to_string(), "malformed_json"),
        ("join", "[]".to_string(), "invalid_field"),
        ("status", STATUS.replace("87.5", "187.5"), "invalid_field"),
        (
            "join",
            JOIN.replace("\"devAddr\": \"01ab23ce\"", "\"devAddr\": 1"),
            "invalid_field",
        ),
        (
            "status",
            STATUS.replace("a84041000181c617", unknown),
            "topic_mismatch",
        ),
        ("txack", STATUS.to_string(), "unknown_event"),
        (
            "log",
            LOG.replace("\"ERROR\"", "\"FATAL\""),
            "invalid_field",
        ),
    ];
    for (event, payload, reason) in cases {
        let got = l.handle_event(&event_topic(event), payload.as_bytes());
        assert_eq!(got.unwrap_err().reason, reason, "{event}: {payload}");
    }
    let topic = event_topic("join").replace("a84041000181c617", unknown);
    let payload = JOIN.replace("a84041000181c617", unknown);
    let got = l.handle_event(&topic, payload.as_bytes());
    assert_eq!(got.unwrap_err().reason, "unknown_device");
}

#[test]
fn subscribes_to_up_join_status_and_log_events() {
    let mut l = link();
    l.application = "app1".into();
    l.shared_group = None;
    assert_eq!(
        l.filters(),
        ["up", "join", "status", "log"].map(|e| format!("application/app1/device/+/event/{e}"))
    );
    l.shared_group = Some(Id::parse("gws").unwrap());
    assert!(l
        .filters()
        .iter()
        .all(|f| f.starts_with("$share/gws/application/app1/device/+/event/")));
}

const LOG: &str = include_str!("../../../../protocols/testdata/chirpstack-v4-log.json");

#[test]
fn a_log_error_is_dead_lettered_naming_the_device_and_other_levels_record_nothing() {
    let l = link();
    let e = l
        .handle_event(&event_topic("log"), LOG.as_bytes())
        .unwrap_err();
    assert_eq!(e.reason, "network_server_error");
    assert!(
        e.detail
            .starts_with("device drain-w17: UPLINK_CODEC: JS error"),
        "{}",
        e.detail
    );
    for level in ["\"WARNING\"", "\"INFO\"", "null"] {
        let info = LOG.replace("\"ERROR\"", level);
        let got = l.handle_event(&event_topic("log"), info.as_bytes());
        assert!(matches!(got, Ok(Handled::Nothing)), "{level}: {got:?}");
    }
    let other = LOG.replace("a84041000181c617", "0000000000000042");
    let topic = event_topic("log").replace("a84041000181c617", "0000000000000042");
    let e = l.handle_event(&topic, other.as_bytes()).unwrap_err();
    assert_eq!(e.reason, "unknown_device");
}

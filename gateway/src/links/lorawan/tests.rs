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

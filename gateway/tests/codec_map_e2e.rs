//! Issue 11's "Must show" for vendor codecs, through the real daemon with
//! real Mosquittos: a Dragino LDDS75 uplink carrying its vendor codec's
//! `object` (decoder preferred, or the object through a codec map), a
//! nested codec output with one value that cannot convert, and a direct
//! MQTT device publishing its vendor's own JSON.

// A test crate: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use support::in_process::InProcessGateway;
use support::mqtt::{publish_all, Collector, Message};

const REFERENCE: &str = include_str!("../../protocols/testdata/chirpstack-v4-uplink.json");
const LDDS75_MAP: &str = include_str!("../../config/examples/codec-map-dragino-ldds75.toml");
/// The issue's exact Dragino codec output.
const DRAGINO_OBJECT: &str = r#"{"Bat":3.371,"Distance":"1234 mm","Interrupt_flag":0,"TempC_DS18B20":"0.00","Sensor_flag":1}"#;
/// The same reading as LDDS75 bytes: 3371 mV, 1234 mm, no interrupt,
/// 0.0 °C, probe detected.
const LDDS75_BYTES: [u8; 8] = [0x0d, 0x2b, 0x04, 0xd2, 0x00, 0x00, 0x00, 0x01];
const SITE: &str = "codec-site";

const DEVICES: &str = r#"
[[codec_map]]
name = "nested-level"

[[codec_map.entry]]
path = "level.value"
metric = "level_m"

[[codec_map.entry]]
path = "sensors[0].temp"
metric = "temperature_c"
unit = "°F"

[[codec_map.entry]]
path = "bat"
metric = "battery_pct"

[[codec_map]]
name = "rain-dtu"

[[codec_map.entry]]
path = "rain.total"
metric = "rain_mm_total"
unit = "mm"

[[codec_map.entry]]
path = "rate"
metric = "rain_mm_h"

[[codec_map.entry]]
path = "bat"
metric = "battery_pct"

[[device]]
id = "ldds75-decoder"
kind = "drainage"
link = "ns"
dev_eui = "a840410000000001"
decoder = "dragino_ldds75"
mount_height_m = 3.0

[[device]]
id = "ldds75-object"
kind = "drainage"
link = "ns"
dev_eui = "a840410000000002"
decoder = "dragino_ldds75"
codec_map = "dragino-ldds75"
mount_height_m = 3.0

[[device]]
id = "well-nested"
kind = "drainage"
link = "ns"
dev_eui = "a840410000000003"
codec_map = "nested-level"

[[device]]
id = "rain-dtu-1"
kind = "drainage"
link = "direct"
topic = "dtu/rain-1"
codec_map = "rain-dtu"
"#;

fn gateway() -> InProcessGateway {
    InProcessGateway::start_with(|input, output, data| {
        format!(
            "[gateway]\nid = \"gw-1\"\nsite = \"{SITE}\"\ndata_dir = \"{}\"\n\n[mqtt]\nurl = \"{output}\"\n\n\
             [[link]]\nid = \"ns\"\ntype = \"lorawan\"\nurl = \"{input}\"\n\n\
             [[link]]\nid = \"direct\"\ntype = \"mqtt\"\nurl = \"{input}\"\n\n{LDDS75_MAP}\n{DEVICES}",
            data.display()
        )
    })
}

/// The reference uplink re-addressed to `eui`, with `object` (or none)
/// and `data`.
fn uplink(eui: &str, f_cnt: u32, object: Option<&str>, data: &[u8]) -> (String, Vec<u8>) {
    let mut up: Value = serde_json::from_str(REFERENCE).unwrap();
    up["deviceInfo"]["devEui"] = eui.into();
    up["fCnt"] = f_cnt.into();
    up["data"] = base64::engine::general_purpose::STANDARD
        .encode(data)
        .into();
    match object {
        Some(o) => up["object"] = serde_json::from_str(o).unwrap(),
        None => {
            up.as_object_mut().unwrap().remove("object");
        }
    }
    let topic = format!("application/app/device/{eui}/event/up");
    (topic, serde_json::to_vec(&up).unwrap())
}

/// Publishes `messages` until the gateway has accepted `n` inputs of
/// `source` (the links subscribe shortly after start).
fn send_until_accepted(
    gw: &InProcessGateway,
    source: &str,
    n: u64,
    messages: &[(String, Vec<u8>)],
) {
    support::wait_until(
        "the gateway accepted the inputs",
        Duration::from_secs(30),
        || {
            publish_all(gw.input.port, messages.to_vec());
            gw.accepted_from(source) >= n
        },
    );
}

fn telemetry(messages: &[Message], device: &str) -> Vec<Value> {
    let topic = format!("retrofit/v1/{SITE}/drainage/{device}/telemetry");
    messages
        .iter()
        .filter(|m| m.topic == topic)
        .map(Message::json)
        .collect()
}

fn dead_letters(messages: &[Message]) -> Vec<Value> {
    let topic = format!("retrofit/v1/{SITE}/gateway/gw-1/deadletter");
    messages
        .iter()
        .filter(|m| m.topic == topic)
        .map(Message::json)
        .collect()
}

fn ignored_keys(gw: &InProcessGateway, device: &str) -> u64 {
    gw.counters
        .ignored_keys_snapshot()
        .get(device)
        .copied()
        .unwrap_or(0)
}

#[test]
fn the_dragino_codec_uplink_gives_the_decoders_metrics_or_the_maps() {
    let gw = gateway();
    let out = Collector::start(gw.output.port, "retrofit/#");
    let messages = [
        uplink("a840410000000001", 7, Some(DRAGINO_OBJECT), &LDDS75_BYTES),
        // `data` no decoder could read: the map's metrics come from `object`.
        uplink("a840410000000002", 7, Some(DRAGINO_OBJECT), &[0xff]),
    ];
    send_until_accepted(&gw, "lorawan", 2, &messages);
    out.wait_for("both readings", Duration::from_secs(30), |m| {
        !telemetry(m, "ldds75-decoder").is_empty() && !telemetry(m, "ldds75-object").is_empty()
    });
    let all = out.messages();
    for device in ["ldds75-decoder", "ldds75-object"] {
        for reading in telemetry(&all, device) {
            let m = &reading["metrics"];
            assert_eq!(m["battery_v"], json!(3.371), "{reading}");
            assert_eq!(m["distance_mm"], json!(1234), "{reading}");
            assert_eq!(m["level_m"], json!(1.766), "{reading}");
            assert_eq!(m["temperature_c"], json!(0), "{reading}");
            assert_eq!(m["rssi_dbm"], json!(-97), "{reading}");
            assert!(
                m.get("Bat").is_none() && m.get("Sensor_flag").is_none(),
                "{reading}"
            );
        }
    }
    // The decoder's own flag marks which path ran.
    let decoded = &telemetry(&all, "ldds75-decoder")[0]["metrics"];
    assert_eq!(decoded["interrupt"], json!(false), "{decoded}");
    assert!(telemetry(&all, "ldds75-object")[0]["metrics"]
        .get("interrupt")
        .is_none());
    assert_eq!(dead_letters(&all), Vec::<Value>::new(), "no dead letter");
    assert!(gw.counters.rejected_snapshot().is_empty());
    // Interrupt_flag and Sensor_flag, once per uplink accepted.
    let accepted_object_uplinks = telemetry(&all, "ldds75-object").len() as u64;
    assert!(ignored_keys(&gw, "ldds75-object") >= 2 * accepted_object_uplinks.max(1));
    assert_eq!(ignored_keys(&gw, "ldds75-object") % 2, 0);
    assert_eq!(ignored_keys(&gw, "ldds75-decoder"), 0);
    gw.stop();
}

#[test]
fn a_nested_codec_output_maps_through_paths_and_a_bad_value_fails_alone() {
    let gw = gateway();
    let out = Collector::start(gw.output.port, "retrofit/#");
    let object = r#"{"level":{"value":1.2,"unit":"m"},"sensors":[{"temp":"71.6 °F"}],"bat":"empty","fw":"1.2.3"}"#;
    let messages = [uplink("a840410000000003", 1, Some(object), &[])];
    send_until_accepted(&gw, "lorawan", 1, &messages);
    out.wait_for(
        "the reading and the dead letter",
        Duration::from_secs(30),
        |m| !telemetry(m, "well-nested").is_empty() && !dead_letters(m).is_empty(),
    );
    let all = out.messages();
    let reading = &telemetry(&all, "well-nested")[0];
    assert_eq!(reading["metrics"]["level_m"], json!(1.2), "{reading}");
    assert_eq!(reading["metrics"]["temperature_c"], json!(22), "{reading}");
    assert!(reading["metrics"].get("battery_pct").is_none(), "{reading}");
    for letter in dead_letters(&all) {
        assert_eq!(letter["reason"], "invalid_value", "{letter}");
        let detail = letter["detail"].as_str().unwrap();
        assert!(detail.starts_with("battery_pct: \"empty\""), "{letter}");
        assert_eq!(letter["origin"], messages[0].0.as_str(), "{letter}");
        assert_eq!(letter["link"], "ns", "{letter}");
    }
    assert!(ignored_keys(&gw, "well-nested") >= 1, "fw is counted");
    gw.stop();
}

#[test]
fn a_direct_device_publishing_its_vendor_json_is_connected_with_a_map() {
    let gw = gateway();
    let out = Collector::start(gw.output.port, "retrofit/#");
    let vendor =
        json!({"imei": "861234567890123", "rain": {"total": "12.5 mm"}, "rate": 3.2, "bat": "87%"});
    let messages = [(
        "dtu/rain-1".to_string(),
        serde_json::to_vec(&vendor).unwrap(),
    )];
    send_until_accepted(&gw, "mqtt", 1, &messages);
    out.wait_for("the reading", Duration::from_secs(30), |m| {
        !telemetry(m, "rain-dtu-1").is_empty()
    });
    let all = out.messages();
    let reading = &telemetry(&all, "rain-dtu-1")[0];
    assert_eq!(reading["source"], "mqtt");
    assert_eq!(
        reading["metrics"],
        json!({"rain_mm_total": 12.5, "rain_mm_h": 3.2, "battery_pct": 87}),
        "{reading}"
    );
    assert_eq!(dead_letters(&all), Vec::<Value>::new());
    assert!(ignored_keys(&gw, "rain-dtu-1") >= 1, "imei is counted");
    gw.stop();
}

const LOG: &str = include_str!("../../protocols/testdata/chirpstack-v4-log.json");

#[test]
fn a_codec_error_logged_by_the_network_server_is_counted_and_dead_lettered() {
    let gw = gateway();
    let out = Collector::start(gw.output.port, "retrofit/#");
    let eui = "a840410000000002";
    let log = LOG.replace("a84041000181c617", eui);
    let topic = format!("application/app/device/{eui}/event/log");
    let info = log.replace("\"ERROR\"", "\"INFO\"");
    let error = || {
        gw.counters
            .rejected_snapshot()
            .get(&("lorawan".into(), "network_server_error".into()))
            .copied()
            .unwrap_or(0)
    };
    support::wait_until("the log error counted", Duration::from_secs(30), || {
        let messages = vec![
            (topic.clone(), info.clone().into_bytes()),
            (topic.clone(), log.clone().into_bytes()),
        ];
        publish_all(gw.input.port, messages);
        error() > 0
    });
    // Only the ERROR events: one letter per error counted, none for INFO.
    out.wait_for("a dead letter per error", Duration::from_secs(30), |m| {
        dead_letters(m).len() as u64 == error()
    });
    let letters = dead_letters(&out.messages());
    assert!(!letters.is_empty());
    for letter in letters {
        assert_eq!(letter["reason"], "network_server_error", "{letter}");
        let detail = letter["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("device ldds75-object: UPLINK_CODEC: JS error"),
            "{letter}"
        );
        assert_eq!(letter["origin"], topic.as_str());
    }
    gw.stop();
}

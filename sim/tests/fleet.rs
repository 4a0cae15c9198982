//! `retrofit-sim fleet` prints a valid gateway config: TOML with N
//! devices, unique valid IDs and devEUIs, known decoders, and the broker
//! and store URLs it was given.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use retrofit_protocols::chirpstack::DevEui;
use retrofit_protocols::sensor::SensorFormat;
use retrofit_protocols::{DeviceKind, Id};
use retrofit_sim::site_config::load_target;
use toml::Value;

fn devices(doc: &Value) -> &Vec<Value> {
    doc["device"].as_array().expect("[[device]] array")
}

#[test]
fn prints_n_devices_with_unique_valid_ids_and_euis() {
    let text = common::sim_ok(&[
        "fleet",
        "--devices",
        "501",
        "--site",
        "load-test",
        "--broker",
        "mqtt://127.0.0.1:18830",
        "--influx",
        "http://127.0.0.1:8428",
    ]);
    let doc: Value = toml::from_str(&text).expect("valid TOML");
    let devices = devices(&doc);
    assert_eq!(devices.len(), 501);

    let mut ids = HashSet::new();
    let mut euis = HashSet::new();
    let mut kinds = (0, 0);
    for d in devices {
        let id = d["id"].as_str().unwrap();
        assert!(Id::parse(id).is_ok(), "{id}");
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        let eui: DevEui = d["dev_eui"].as_str().unwrap().parse().unwrap();
        assert!(euis.insert(eui), "duplicate devEui {eui}");
        let format: SensorFormat = d["decoder"].as_str().unwrap().parse().unwrap();
        let kind: DeviceKind = d["kind"].as_str().unwrap().parse().unwrap();
        assert_eq!(format.kind(), kind, "{id}");
        assert_eq!(d["link"].as_str(), Some("chirpstack"));
        match kind {
            DeviceKind::Parking => kinds.0 += 1,
            _ => {
                kinds.1 += 1;
                assert!(d["mount_height_m"].as_float().unwrap() > 0.0);
            }
        }
    }
    assert_eq!(kinds, (251, 250));
    assert!(ids.contains("park-0001") && ids.contains("drain-0250"));

    assert_eq!(doc["gateway"]["site"].as_str(), Some("load-test"));
    assert_eq!(doc["mqtt"]["url"].as_str(), Some("mqtt://127.0.0.1:18830"));
    assert_eq!(doc["influx"]["url"].as_str(), Some("http://127.0.0.1:8428"));
    let link = &doc["link"][0];
    assert_eq!(link["type"].as_str(), Some("lorawan"));
    assert_eq!(link["url"].as_str(), Some("mqtt://127.0.0.1:18830"));
    let data_dir = doc["gateway"]["data_dir"].as_str().unwrap();
    assert!(data_dir.starts_with(std::env::temp_dir().to_str().unwrap()));

    let target = load_target(&text).expect("load reads what fleet writes");
    assert_eq!(target.devices.len(), 501);
    let config = retrofit_gateway::config::Config::parse(&text, "fleet.toml")
        .unwrap_or_else(|e| panic!("the gateway refuses the fleet config:\n{e}"));
    assert_eq!(config.devices.len(), 501);
}

#[test]
fn the_lorawan_example_config_is_valid_for_gateway_and_simulator() {
    let text = include_str!("../../config/examples/lorawan.toml");
    let config = retrofit_gateway::config::Config::parse(text, "lorawan.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.devices.len(), 4);
    let target = load_target(text).unwrap();
    let formats: HashSet<SensorFormat> = target.devices.iter().map(|d| d.format).collect();
    assert_eq!(formats.len(), 2);
}

#[test]
fn defaults_to_the_local_broker_and_no_store() {
    let text = common::sim_ok(&["fleet", "--devices", "4"]);
    let doc: Value = toml::from_str(&text).unwrap();
    assert_eq!(devices(&doc).len(), 4);
    assert_eq!(doc["mqtt"]["url"].as_str(), Some("mqtt://127.0.0.1:1883"));
    assert!(doc.get("influx").is_none());
}

#[test]
fn refuses_bad_arguments() {
    for args in [
        &["fleet", "--devices", "0"][..],
        &["fleet", "--devices", "4", "--site", "Bad Site"],
        &["fleet", "--devices", "4", "--broker", "http://x"],
        &["fleet", "--devices", "4", "--influx", "ftp://x"],
        &["fleet"],
    ] {
        let out = common::sim(args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(out.stdout.is_empty(), "{args:?} printed a config");
    }
}

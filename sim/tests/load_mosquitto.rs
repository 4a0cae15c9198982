//! `retrofit-sim load` against a real Mosquitto: every uplink arrives as a
//! ChirpStack v4 event whose devEui, fCnt and data decode correctly, about
//! half carry an `object` equal to the decoded data, and the summary
//! reports every PUBACK.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use retrofit_protocols::chirpstack::Uplink;
use retrofit_protocols::sensor::{decode, DecodeParams};
use retrofit_sim::site_config::load_target;
use rumqttc::{Event, Packet};

const UPLINKS: usize = 200;

async fn collect(eventloop: &mut rumqttc::EventLoop, n: usize) -> Vec<(String, Vec<u8>)> {
    let mut got = Vec::new();
    let receive = async {
        while got.len() < n {
            if let Event::Incoming(Packet::Publish(p)) = eventloop.poll().await.unwrap() {
                got.push((p.topic, p.payload.to_vec()));
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(60), receive).await;
    got
}

#[tokio::test]
async fn publishes_decodable_uplinks_and_counts_every_puback() {
    let broker = common::Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    let text = common::sim_ok(&["fleet", "--devices", "10", "--broker", &broker.url()]);
    std::fs::write(&config, &text).unwrap();
    let target = load_target(&text).unwrap();
    let devices: HashMap<_, _> = target.devices.iter().map(|d| (d.dev_eui, d)).collect();

    let (_client, mut eventloop) = common::subscribe(
        "load-test-subscriber",
        broker.port,
        "application/+/device/+/event/up",
    )
    .await;
    let load = tokio::process::Command::new(env!("CARGO_BIN_EXE_retrofit-sim"))
        .args(["load", "-c", config.to_str().unwrap(), "--count", "200"])
        .args(["--rate", "400", "--seed", "42"])
        .output();
    let (uplinks, output) = tokio::join!(collect(&mut eventloop, UPLINKS), load);
    let output = output.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("sent 200, acknowledged 200 (PUBACK), rate "),
        "summary: {stdout}"
    );
    assert_eq!(uplinks.len(), UPLINKS);

    let mut f_cnts: HashMap<_, Vec<u32>> = HashMap::new();
    let mut with_object = 0;
    for (topic, payload) in &uplinks {
        let text = std::str::from_utf8(payload).expect("UTF-8 uplink");
        let up = Uplink::parse(text).expect("ChirpStack uplink JSON");
        let eui = up.device_info.dev_eui;
        assert!(
            topic.ends_with(&format!("/device/{eui}/event/up")),
            "{topic}"
        );
        let device = devices.get(&eui).expect("a configured devEui");
        assert_eq!(up.device_info.device_name, device.id.as_str());
        f_cnts.entry(eui).or_default().push(up.f_cnt);

        let bytes = base64::engine::general_purpose::STANDARD
            .decode(up.data.as_bytes())
            .expect("base64 data");
        let params = DecodeParams {
            f_port: up.f_port,
            mount_height_m: device.mount_height_m,
        };
        let metrics = decode(device.format, &bytes, &params).expect("decodable payload");
        let raw: serde_json::Value = serde_json::from_slice(payload).unwrap();
        if let Some(object) = raw.get("object").and_then(|o| o.as_object()) {
            with_object += 1;
            let decoded: serde_json::Map<_, _> = metrics
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::to_value(v).unwrap()))
                .collect();
            assert_eq!(object, &decoded, "object equals the decoded data");
        }
    }
    assert!(
        (60..=140).contains(&with_object),
        "{with_object} uplinks had an object"
    );
    assert_eq!(f_cnts.len(), 10, "every device spoke");
    for (eui, counts) in f_cnts {
        let expected: Vec<u32> = (0..counts.len() as u32).collect();
        assert_eq!(counts, expected, "fCnt of {eui} rises by one from 0");
    }
}

#[tokio::test]
async fn fails_clearly_without_a_broker() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("mqtt://127.0.0.1:{port}");
    std::fs::write(
        &config,
        common::sim_ok(&["fleet", "--devices", "2", "--broker", &url]),
    )
    .unwrap();
    let out = common::sim(&["load", "-c", config.to_str().unwrap(), "--count", "1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to the broker"), "{stderr}");
}

//! One poison point in a batch: the store refuses the batch (400), the
//! gateway splits it, dead-letters the poison and delivers the rest; the
//! pipeline never stalls on it.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::mqtt::{publish_all, Collector};
use support::strict_store::StrictStore;
use support::{GatewayProcess, Mosquitto, VictoriaMetrics};

const CONFIG: &str = r#"
[gateway]
id = "gw-strict"
site = "site-s"
data_dir = "DATA"

[mqtt]
url = "BROKER"

[influx]
url = "STORE"
org = "o"
bucket = "b"
batch_size = 500
flush_interval_ms = 500

[[link]]
id = "direct"
type = "mqtt"
url = "BROKER"

[[device]]
id = "well-1"
kind = "drainage"
link = "direct"
topic = "wells/1"

[[device]]
id = "well-2"
kind = "drainage"
link = "direct"
topic = "wells/2"
"#;

#[test]
fn a_poison_point_is_dead_lettered_and_the_rest_lands() {
    let broker = Mosquitto::start();
    let vm = VictoriaMetrics::start();
    // The store already knows `pump_state_m` as a string field: a float
    // for it conflicts, as it would in InfluxDB.
    let store = StrictStore::start(vm.port, "drainage,site=x,device=y pump_state_m=\"on\" 1\n");
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG
        .replace("DATA", &dir.path().join("data").display().to_string())
        .replace("BROKER", &broker.url())
        .replace("STORE", &store.url());
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config).unwrap();
    let collector = Collector::start(broker.port, "retrofit/v1/#");
    let gateway = GatewayProcess::start(&path);
    collector.wait_for("gateway online", Duration::from_secs(30), |m| {
        m.iter().any(|x| x.topic.ends_with("/status"))
    });

    let base = support::rig::now_ms() - 60_000;
    let reading = |device: u32, k: i64, poison: bool| {
        let extra = if poison { ",\"pump_state_m\":1.5" } else { "" };
        let ts = retrofit_protocols::Timestamp(base + k);
        (
            format!("wells/{device}"),
            format!("{{\"ts\":\"{ts}\",\"seq\":{k},\"metrics\":{{\"level_m\":{k}.5{extra}}}}}")
                .into_bytes(),
        )
    };
    // Wait for the link's subscription with a first reading.
    support::wait_until("first reading", Duration::from_secs(30), || {
        publish_all(broker.port, vec![reading(1, 0, false)]);
        !collector.on("/telemetry").is_empty()
    });
    let mut batch = Vec::new();
    for k in 1..=200 {
        batch.push(reading(1 + (k as u32 % 2), k, k == 77));
    }
    assert_eq!(publish_all(broker.port, batch), 200);

    collector.wait_for("the dead letter", Duration::from_secs(30), |m| {
        m.iter().any(|x| x.topic.ends_with("/deadletter"))
    });
    let letter = collector.on("/deadletter")[0].json();
    assert_eq!(letter["reason"], "store_rejected");
    assert!(
        letter["input"]
            .as_str()
            .unwrap()
            .contains("pump_state_m=1.5"),
        "{letter}"
    );
    assert!(
        letter["detail"]
            .as_str()
            .unwrap()
            .contains("field type conflict"),
        "{letter}"
    );

    // Every other reading is in the store; the poison one is not.
    support::wait_until("the rest in the store", Duration::from_secs(30), || {
        vm.sample_count("drainage_level_m") >= 200
    });
    let samples: Vec<(String, i64)> = vm
        .export("drainage_level_m")
        .iter()
        .flat_map(|s| {
            let dev = s["metric"]["device"].as_str().unwrap().to_string();
            s["timestamps"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| (dev.clone(), t.as_i64().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    let poison_ts = base + 77;
    assert!(
        !samples.iter().any(|(_, t)| *t == poison_ts),
        "poison point stored"
    );
    assert_eq!(samples.len(), 200, "reading 0 and 199 others");
    assert!(
        *store.rejected_batches.lock().unwrap() >= 1,
        "the store did refuse a batch"
    );
    assert!(vm.export("drainage_pump_state_m").is_empty());
    drop(gateway);
}

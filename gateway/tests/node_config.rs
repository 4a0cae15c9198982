//! Node settings over a real serial line: the gateway binary on one end of
//! a socat pseudo-terminal pair, the real `retrofit-node` binary (a
//! drainage node whose 4–20 mA level transmitter is an IIO file the test
//! writes) on the other, a real Mosquitto for the output.
//!
//! The gateway sends the node its `[[device]]` settings at its Hello; the
//! level (0.6 m) raises nothing under the 0.8 m warning level. The gateway
//! is restarted with `warning_m = 0.5` while the node keeps running: the
//! node's next frame (no Hello) brings the new Config, the node applies
//! it, the same level now raises `high_water`, its Heartbeat reports the
//! new value, and the node saved it beside its config.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use retrofit_protocols::DeviceKind;
use support::mqtt::{Collector, Message};
use support::serial::{write_gateway_config, PtyPair};
use support::{wait_until, GatewayProcess, Mosquitto};

/// The node on the gateway's serial link `rs485-1`.
const DEVICE: &str = r#"
[[device]]
id = "drain-n5"
kind = "drainage"
link = "rs485-1"
address = 5
report_interval_s = 1
warning_m = WARNING
overflow_m = 1.2
"#;

const NODE: &str = r#"
[node]
id = 5
kind = "drainage"
poll_interval_ms = 100
heartbeat_interval_s = 1

[link]
serial = "PORT"

[drainage.level]
type = "transmitter"
iio = "LEVEL"
bits = 12
vref_mv = 3300
shunt_ohm = 150
range_max_m = 5.0
"#;

/// Counts for 0.6 m: 4 + 16 × 0.6 / 5 = 5.92 mA, × 150 Ω = 888 mV.
const COUNTS_0_6_M: &str = "1102\n";

/// Builds `retrofit-node` (feature `linux`) into this test's target
/// directory; returns its path.
fn retrofit_node() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf();
    let mut build = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args(["build", "-p", "retrofit-firmware", "--features", "linux"])
        .args(["--bin", "retrofit-node", "--target-dir"])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .spawn()
        .expect("run cargo build");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = build.try_wait().expect("wait for cargo") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(900) {
            let _ = build.kill();
            panic!("building retrofit-node took more than 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "cargo build retrofit-node: {status}");
    target.join("debug").join("retrofit-node")
}

/// The node binary running; killed on drop.
struct NodeProcess {
    child: Child,
    log: PathBuf,
}

impl NodeProcess {
    fn start(binary: &Path, config: &Path) -> Self {
        let log = config.with_extension("log");
        let stderr = std::fs::File::create(&log).expect("node log");
        let child = Command::new(binary)
            .arg("-c")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start retrofit-node");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gateway_config(
    dir: &Path,
    name: &str,
    broker: &Mosquitto,
    port: &Path,
    warning: &str,
) -> PathBuf {
    let device = DEVICE.replace("WARNING", warning);
    write_gateway_config(dir, name, "site-c", broker, port, &device)
}

fn topic(channel: &str) -> String {
    format!(
        "retrofit/v1/site-c/{}/drain-n5/{channel}",
        DeviceKind::Drainage
    )
}

fn high_water(messages: &[Message]) -> Vec<serde_json::Value> {
    messages
        .iter()
        .filter(|m| m.topic == topic("event"))
        .map(Message::json)
        .filter(|e| e["event"] == "high_water")
        .collect()
}

fn levels(messages: &[Message]) -> Vec<f64> {
    messages
        .iter()
        .filter(|m| m.topic == topic("telemetry"))
        .filter_map(|m| m.json()["metrics"]["level_m"].as_f64())
        .collect()
}

#[test]
fn a_changed_warning_level_reaches_the_running_node_and_changes_its_alarms() {
    let node_binary = retrofit_node();
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path(), "edge");
    let level = dir.path().join("in_voltage0_raw");
    std::fs::write(&level, COUNTS_0_6_M).unwrap();
    let node_config = dir.path().join("node.toml");
    let node_text = NODE
        .replace("PORT", &pty.node.display().to_string())
        .replace("LEVEL", &level.display().to_string());
    std::fs::write(&node_config, node_text).unwrap();
    let collector = Collector::start(broker.port, "retrofit/v1/#");

    let first = gateway_config(dir.path(), "gw-1.toml", &broker, &pty.gateway, "0.8");
    let mut gateway = GatewayProcess::start(&first);
    let mut node = NodeProcess::start(&node_binary, &node_config);
    wait_until(
        "the node to confirm its settings",
        Duration::from_secs(60),
        || {
            gateway
                .log()
                .contains("node runs with the configured settings")
        },
    );
    assert!(gateway.log().contains("warning_m=0.8"), "{}", gateway.log());
    // report_interval_s = 1 took effect: a snapshot every second.
    collector.wait_for("readings every second", Duration::from_secs(30), |m| {
        levels(m).len() >= 4
    });
    assert!(
        levels(&collector.messages())
            .iter()
            .all(|l| (l - 0.6).abs() < 0.01),
        "{:?}",
        levels(&collector.messages())
    );
    assert_eq!(
        high_water(&collector.messages()),
        Vec::<serde_json::Value>::new()
    );
    let status = gateway.terminate();
    assert!(status.success(), "{status:?}");

    // The node keeps running; the gateway comes back with a lower warning.
    let second = gateway_config(dir.path(), "gw-2.toml", &broker, &pty.gateway, "0.5");
    let gateway = GatewayProcess::start(&second);
    collector.wait_for("high_water raised", Duration::from_secs(60), |m| {
        !high_water(m).is_empty()
    });
    let events = high_water(&collector.messages());
    assert_eq!(events[0]["state"], "raised", "{events:?}");
    assert_eq!(events[0]["severity"], "major", "{events:?}");
    wait_until("the node to report 0.5", Duration::from_secs(30), || {
        gateway
            .log()
            .contains("node runs with the configured settings")
    });
    let log = gateway.log();
    assert!(log.contains("node acknowledged its settings"), "{log}");
    assert!(log.contains("warning_m=0.5"), "{log}");

    let saved = std::fs::read_to_string(dir.path().join("node.settings.toml")).unwrap();
    assert!(saved.contains("warning_m = 0.5"), "{saved}");
    assert!(node.running(), "node log:\n{}", node.log());
    assert!(
        node.log().contains("settings from the gateway"),
        "{}",
        node.log()
    );
}

//! Test fixtures: a real Mosquitto broker on a free loopback port, killed
//! on drop, and a helper running the `retrofit-sim` binary. Readiness is
//! awaited from Mosquitto's own log line, never guessed with a sleep.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long Mosquitto may take to start listening.
const BROKER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A Mosquitto broker owned by one test.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn spawn_mosquitto(config: &std::path::Path) -> Child {
    for binary in ["mosquitto", "/usr/sbin/mosquitto"] {
        let spawned = Command::new(binary)
            .arg("-c")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Ok(child) => return child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot start mosquitto: {e}"),
        }
    }
    panic!("the mosquitto broker is not installed: run scripts/install-test-deps.sh");
}

impl Mosquitto {
    /// Starts a broker and waits until it listens.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let config = dir.path().join("mosquitto.conf");
        let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n");
        std::fs::write(&config, text).expect("write mosquitto.conf");
        let mut child = spawn_mosquitto(&config);
        let log = child.stderr.take().expect("mosquitto log");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                if line.contains("running") {
                    let _ = tx.send(());
                }
            }
        });
        let mut broker = Self {
            child,
            port,
            _dir: dir,
        };
        if rx.recv_timeout(BROKER_START_TIMEOUT).is_err() {
            let status = broker.child.try_wait().ok().flatten();
            panic!("mosquitto did not start on port {port} (exit status {status:?})");
        }
        broker
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the simulator binary to completion.
pub fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retrofit-sim"))
        .args(args)
        .output()
        .expect("run retrofit-sim")
}

/// Runs the simulator and returns its stdout, failing the test on error.
pub fn sim_ok(args: &[&str]) -> String {
    let out = sim(args);
    assert!(
        out.status.success(),
        "retrofit-sim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Subscribes to `filter` on the broker at `port` and returns once the
/// SUBACK is in (bounded), with the event loop to read messages from.
pub async fn subscribe(
    client_id: &str,
    port: u16,
    filter: &str,
) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let subscribed = async {
        loop {
            if let Event::Incoming(Packet::SubAck(_)) = eventloop.poll().await.unwrap() {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), subscribed)
        .await
        .expect("SUBACK within 10 s");
    (client, eventloop)
}

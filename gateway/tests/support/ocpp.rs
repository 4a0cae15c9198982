//! An OCPP test site: output broker, VictoriaMetrics, a collector on the
//! normalized topics, the gateway binary with an `ocpp` link, and Python
//! charge points (`tests/peers/ocpp_charge_point.py`, the `ocpp` package)
//! from the project's `.venv`.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::mqtt::Collector;
use super::{free_port, wait_until, GatewayProcess, Mosquitto, VictoriaMetrics};

pub const CP_ID: &str = "KFG-PILE-01";
pub const PASSWORD: &str = "pile-01-secret";
pub const ID_TAG: &str = "TAG-OK";

pub struct OcppSite {
    pub output: Mosquitto,
    pub vm: VictoriaMetrics,
    pub collector: Collector,
    pub gateway: GatewayProcess,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// The project's Python with the pinned test peers, or a failed test that
/// says how to install it.
pub fn python() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/install-test-deps.sh",
        p.display()
    );
    p
}

impl OcppSite {
    pub fn start() -> Self {
        let (output, vm) = (Mosquitto::start(), VictoriaMetrics::start());
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let pass = dir.path().join("pile.pass");
        std::fs::write(&pass, format!("{PASSWORD}\n")).expect("password file");
        let config = format!(
            r#"[gateway]
id = "gw-ocpp"
site = "site-a"
data_dir = "{data}"

[mqtt]
url = "{mqtt}"

[influx]
url = "{vm}"
org = "test"
bucket = "test"
batch_size = 100
flush_interval_ms = 100

[[link]]
id = "piles"
type = "ocpp"
listen = "127.0.0.1:{port}"
heartbeat_interval_s = 120
id_tags = ["{ID_TAG}"]

[[device]]
id = "pile-01"
kind = "ev_charger"
link = "piles"
charge_point_id = "{CP_ID}"
connectors = 2
password_file = "{pass}"
"#,
            data = dir.path().join("data").display(),
            mqtt = output.url(),
            vm = vm.url(),
            pass = pass.display(),
        );
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).expect("write config");
        let collector = Collector::start(output.port, "retrofit/v1/#");
        let gateway = GatewayProcess::start(&path);
        let site = Self {
            output,
            vm,
            collector,
            gateway,
            port,
            _dir: dir,
        };
        site.wait_for_listener();
        site
    }

    /// Waits until the gateway accepts TCP on the OCPP port.
    pub fn wait_for_listener(&self) {
        let port = self.port;
        wait_until("the ocpp listener", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ocpp", self.port)
    }

    /// Runs a peer scenario to its end; its JSON lines.
    pub fn run_peer(&self, scenario: &str, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut peer = self.spawn_peer(scenario, extra);
        peer.finish(Duration::from_secs(120))
    }

    pub fn spawn_peer(&self, scenario: &str, extra: &[&str]) -> Peer {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/ocpp_charge_point.py");
        let mut child = Command::new(python())
            .arg(script)
            .args([
                self.url().as_str(),
                CP_ID,
                PASSWORD,
                scenario,
                "--id-tag",
                ID_TAG,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the python charge point");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("peer stdout");
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    sink.lock().expect("lines").push(v);
                }
            }
        });
        Peer {
            child,
            lines,
            reader: Some(reader),
        }
    }
}

/// A running Python charge point.
pub struct Peer {
    child: Child,
    lines: Arc<Mutex<Vec<serde_json::Value>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Peer {
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.lines.lock().expect("lines").clone()
    }

    /// Waits for the scenario to end successfully (bounded); its lines.
    pub fn finish(&mut self, limit: Duration) -> Vec<serde_json::Value> {
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait peer") {
                break s;
            }
            assert!(
                start.elapsed() < limit,
                "python charge point still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        assert!(status.success(), "python charge point failed: {stderr}");
        // Its stdout is closed: the reader ends with the last line.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.lines()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

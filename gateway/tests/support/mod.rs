//! Test support: real Mosquitto and VictoriaMetrics processes on free ports
//! in temp directories, the gateway binary as a child process, and bounded
//! waits. Every service can be killed and restarted on the same port.
//!
//! A missing service binary fails the test with the command that installs
//! it; nothing here ever skips.
#![allow(dead_code)]

pub mod api;
pub mod fleet;
pub mod http;
pub mod in_process;
pub mod load;
pub mod modbus;
pub mod mqtt;
pub mod ocpp;
pub mod outage;
pub mod rig;
pub mod serial;
pub mod small_disk;
pub mod strict_store;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const INSTALL_HINT: &str =
    "run scripts/install-test-deps.sh (Debian packages mosquitto, victoria-metrics, socat, chromium, chromium-driver)";

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// Finds a service binary or fails with the install hint.
pub fn binary(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    if let Ok(out) = Command::new("which").arg(name).output() {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !path.is_empty() {
            return PathBuf::from(path);
        }
    }
    panic!("`{name}` is not installed: {INSTALL_HINT}");
}

/// Polls `ready` every 20 ms until it is true or `limit` passes.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// SIGTERM, then wait for the process to exit.
fn terminate(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let _ = c.wait();
    }
}

/// A Mosquitto broker of our own.
pub struct Mosquitto {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl Mosquitto {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // Mosquitto started as root drops to its own user: let it write its
        // persistence file, or a restart would lose every session.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let mut m = Self {
            port: free_port(),
            dir,
            child: None,
        };
        m.restart();
        m
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, keeping its persistence directory.
    pub fn restart(&mut self) {
        kill(&mut self.child);
        let conf = self.dir.path().join("mosquitto.conf");
        let mut f = std::fs::File::create(&conf).expect("mosquitto.conf");
        writeln!(
            f,
            "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 0\nmax_inflight_messages 0\nlog_dest none",
            self.port,
            self.dir.path().display()
        )
        .expect("write mosquitto.conf");
        let child = Command::new(binary("mosquitto"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let port = self.port;
        wait_until("mosquitto to listen", Duration::from_secs(10), || {
            port_open(port)
        });
    }

    /// Kills the broker (SIGKILL: nothing is flushed).
    pub fn kill(&mut self) {
        kill(&mut self.child);
    }

    /// Stops the broker with SIGTERM (it saves its persistence file) and
    /// starts it again on the same port.
    pub fn graceful_restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
        self.restart();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// A VictoriaMetrics store of our own, deduplicating equal timestamps the
/// way InfluxDB overwrites them.
pub struct VictoriaMetrics {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl VictoriaMetrics {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut vm = Self {
            port: free_port(),
            dir,
            child: None,
        };
        vm.restart();
        vm
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn restart(&mut self) {
        kill(&mut self.child);
        let child = Command::new(binary("victoria-metrics"))
            .arg(format!("-storageDataPath={}", self.dir.path().display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .arg("-retentionPeriod=100y")
            .arg("-dedup.minScrapeInterval=1ms")
            .arg("-search.disableCache")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start victoria-metrics");
        self.child = Some(child);
        let port = self.port;
        wait_until(
            "victoria-metrics to answer",
            Duration::from_secs(20),
            || http::get(port, "/health").is_ok_and(|(s, _)| s == 200),
        );
    }

    pub fn kill(&mut self) {
        kill(&mut self.child);
    }

    /// Stops the store with SIGTERM: it flushes what it acknowledged, as a
    /// store does in a planned outage (a SIGKILL loses its in-memory buffer,
    /// which no client can prevent).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }

    /// Every sample of series whose name matches `regex`, as
    /// (metric labels, values, timestamps) from `/api/v1/export`.
    pub fn export(&self, regex: &str) -> Vec<serde_json::Value> {
        let _ = http::get(self.port, "/internal/force_flush");
        let query = format!(
            "/api/v1/export?match[]={}",
            http::encode(&format!("{{__name__=~\"{regex}\"}}"))
        );
        let (status, body) = http::get(self.port, &query).expect("export");
        assert_eq!(status, 200, "export failed: {body}");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("export line is JSON"))
            .collect()
    }

    /// Total number of samples in series matching `regex`.
    pub fn sample_count(&self, regex: &str) -> usize {
        self.export(regex)
            .iter()
            .map(|s| s["values"].as_array().map_or(0, Vec::len))
            .sum()
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// The gateway binary running a config file.
pub struct GatewayProcess {
    child: Option<Child>,
    pub config: PathBuf,
    log: PathBuf,
}

impl GatewayProcess {
    pub fn start(config: &Path) -> Self {
        let log = config.with_extension("log");
        let mut g = Self {
            child: None,
            config: config.to_path_buf(),
            log,
        };
        g.restart();
        g
    }

    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("gateway log");
        let child = Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
            .args(["run", "-c"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start retrofit-gateway");
        self.child = Some(child);
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no drain, no flush.
    pub fn kill(&mut self) {
        kill(&mut self.child);
    }

    /// SIGTERM and wait for a clean exit (bounded).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("gateway is running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait gateway") {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "gateway did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

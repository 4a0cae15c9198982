//! Child processes of the benchmark: a Mosquitto broker and a
//! VictoriaMetrics store of its own, each on a free loopback port with its
//! files in a temp dir, and the service binaries looked up with a clear
//! hint when missing.
//!
//! Every child is killed when its guard drops, so a failed or interrupted
//! bench leaves nothing running. It never touches the machine's own broker
//! (port 1883) or any port it did not pick itself.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use tempfile::TempDir;

use super::http;

/// What installs the services the bench starts.
pub const INSTALL_HINT: &str =
    "run scripts/install-test-deps.sh (Debian packages mosquitto and victoria-metrics)";
/// How long a service may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for a terminated child to exit before killing it.
const TERM_GRACE: Duration = Duration::from_secs(10);
/// Mosquitto's limits for the workload (issue 9).
const MOSQUITTO_LIMITS: &str = "max_inflight_messages 1000\nmax_queued_messages 1000000\n";

/// A child process, killed (SIGKILL) when dropped unless already reaped.
pub struct ChildGuard {
    child: Option<Child>,
    name: &'static str,
}

impl ChildGuard {
    pub fn new(name: &'static str, child: Child) -> Self {
        Self {
            child: Some(child),
            name,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM, then waits (bounded) for the exit; kills it after that.
    pub fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + TERM_GRACE;
        while std::time::Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!(name = self.name, "did not exit on SIGTERM; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// Finds a service binary on the usual paths or fails with the hint.
pub fn find_binary(name: &str) -> anyhow::Result<PathBuf> {
    let system = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    system
        .iter()
        .chain(on_path.iter())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("`{name}` is not installed: {INSTALL_HINT}"))
}

/// The Mosquitto config of the workload, persistence off.
fn mosquitto_conf(port: u16) -> String {
    format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{MOSQUITTO_LIMITS}log_dest stderr\n"
    )
}

/// A Mosquitto broker of the bench's own.
pub struct Mosquitto {
    pub port: u16,
    _proc: ChildGuard,
    _dir: TempDir,
}

impl Mosquitto {
    /// Starts a broker and waits (bounded) for its "running" log line.
    pub fn start() -> anyhow::Result<Self> {
        let binary = find_binary("mosquitto")?;
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(&conf, mosquitto_conf(port))?;
        let mut child = Command::new(&binary)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let log = child.stderr.take();
        let guard = ChildGuard::new("mosquitto", child);
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log to its end so the pipe never fills.
        std::thread::spawn(move || {
            let Some(log) = log else { return };
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                if line.contains("running") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(START_TIMEOUT).is_err() {
            bail!("mosquitto did not start on port {port} within {START_TIMEOUT:?}");
        }
        Ok(Self {
            port,
            _proc: guard,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

/// A VictoriaMetrics store of the bench's own, deduplicating equal
/// timestamps of a series the way InfluxDB overwrites them.
pub struct Victoria {
    pub port: u16,
    _proc: ChildGuard,
    _dir: TempDir,
}

impl Victoria {
    /// Starts the store and waits (bounded) until `/health` answers.
    pub async fn start() -> anyhow::Result<Self> {
        let binary = find_binary("victoria-metrics")?;
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let child = victoria_command(&binary, dir.path(), port)
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let guard = ChildGuard::new("victoria-metrics", child);
        let healthy = async {
            loop {
                if http::get(port, "/health")
                    .await
                    .is_ok_and(|(s, _)| s == 200)
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(START_TIMEOUT, healthy)
            .await
            .with_context(|| format!("victoria-metrics did not answer on port {port}"))?;
        Ok(Self {
            port,
            _proc: guard,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn victoria_command(binary: &Path, data: &Path, port: u16) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg(format!("-storageDataPath={}", data.display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-retentionPeriod=100y")
        .arg("-dedup.minScrapeInterval=1ms")
        .arg("-search.disableCache")
        .arg("-loggerLevel=ERROR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_config_has_the_workload_limits_and_no_persistence() {
        let conf = mosquitto_conf(40123);
        assert!(conf.starts_with("listener 40123 127.0.0.1\n"));
        assert!(conf.contains("persistence false\n"));
        assert!(conf.contains("max_inflight_messages 1000\n"));
        assert!(conf.contains("max_queued_messages 1000000\n"));
    }

    #[test]
    fn a_missing_binary_points_at_the_install_script() {
        let err = find_binary("retrofit-no-such-service").unwrap_err();
        assert!(err.to_string().contains("scripts/install-test-deps.sh"));
    }
}

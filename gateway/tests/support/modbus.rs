//! Modbus peers for tests: `tests/peers/modbus_peer.py` (pymodbus, from the
//! project's `.venv`) serving an RTU bus on the node end of a socat
//! pseudo-terminal pair and a Modbus TCP server on a free port, steered by
//! commands on its stdin; and the gateway daemon run in this process, so a
//! test can read its per-device request counters.
//!
//! A missing interpreter or socat fails the test with the install hint.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use retrofit_gateway::counters::Counters;

use super::serial::PtyPair;

/// The project's Python, with the pinned test peers.
pub fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/install-test-deps.sh",
        p.display()
    );
    p
}

/// The pymodbus slaves (see the script's doc for what each one does).
pub struct ModbusPeer {
    pub pty: PtyPair,
    pub tcp_port: u16,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ModbusPeer {
    pub fn start(dir: &Path) -> Self {
        let pty = PtyPair::start(dir, "modbus");
        let tcp_port = super::free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/modbus_peer.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg("--rtu")
            .arg(&pty.node)
            .arg("--tcp-port")
            .arg(tcp_port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start modbus_peer.py");
        let stdin = child.stdin.take().expect("peer stdin");
        let stdout = BufReader::new(child.stdout.take().expect("peer stdout"));
        let mut peer = Self {
            pty,
            tcp_port,
            child,
            stdin,
            stdout,
        };
        peer.expect("ready");
        peer
    }

    /// Sends one command and waits for its `ok`.
    pub fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to peer");
        self.expect("ok");
    }

    fn expect(&mut self, word: &str) {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read peer");
        assert!(
            n > 0 && line.trim() == word,
            "peer said {line:?}, expected {word}"
        );
    }
}

impl Drop for ModbusPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The daemon in this process, sharing its counters with the test.
pub struct InProcessGateway {
    pub counters: Arc<Counters>,
    rt: tokio::runtime::Runtime,
    shutdown: tokio_util::sync::CancellationToken,
    daemon: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcessGateway {
    /// Loads the config at `path` (which must be valid) and runs it.
    pub fn start(path: &Path) -> Self {
        let config = retrofit_gateway::config::Config::load(path).unwrap_or_else(|e| panic!("{e}"));
        let counters = Arc::new(Counters::default());
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let daemon = rt.spawn(retrofit_gateway::daemon::run_with_counters(
            config,
            shutdown.clone(),
            counters.clone(),
        ));
        Self {
            counters,
            rt,
            shutdown,
            daemon: Some(daemon),
        }
    }

    /// Requests to `device` that ended with `outcome` so far.
    pub fn requests(&self, device: &str, outcome: &str) -> u64 {
        let snapshot = self.counters.requests_snapshot();
        snapshot
            .iter()
            .filter(|((d, o), _)| d == device && *o == outcome)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Stops the daemon and checks it stopped cleanly.
    pub fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(daemon) = self.daemon.take() {
            let result = self.rt.block_on(daemon).expect("daemon task");
            result.expect("daemon stopped cleanly");
        }
    }
}

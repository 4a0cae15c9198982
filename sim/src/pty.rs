//! Pseudo-terminal serial pairs: `socat -d -d pty,raw,echo=0,link=A
//! pty,raw,echo=0,link=B` makes two connected pseudo-terminals reachable
//! at the paths A and B, so a gateway can open one end as its serial port
//! while the simulated nodes use the other.
//!
//! Readiness is socat's own log line ("starting data transfer loop"),
//! awaited with a bound, never guessed with a sleep. The pair is killed on
//! drop and the links it made are removed; an existing path is never
//! replaced. A missing socat is a clear error pointing at
//! `scripts/install-test-deps.sh`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long socat may take to create both ends.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// socat's notice once both ends exist.
const READY_LINE: &str = "starting data transfer loop";

/// Why a pair could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("socat is not installed (needed for pseudo-terminal serial lines): run scripts/install-test-deps.sh")]
    SocatMissing,
    #[error("cannot start socat: {0}")]
    Spawn(std::io::Error),
    #[error("{0} already exists; refusing to replace it")]
    Exists(PathBuf),
    #[error("cannot make a directory for the pseudo-terminals: {0}")]
    TempDir(std::io::Error),
    #[error("socat did not create the pseudo-terminals within {timeout:?}: {log}")]
    NotReady { timeout: Duration, log: String },
}

/// Two connected pseudo-terminals.
#[derive(Debug)]
pub struct PtyPair {
    /// The end for the gateway's serial link.
    pub gateway_end: PathBuf,
    /// The end for the simulated nodes.
    pub node_end: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl PtyPair {
    /// A pair with both ends in a new temporary directory, named
    /// `{name}-gw` and `{name}-node`.
    pub fn start(name: &str) -> Result<Self, PtyError> {
        let dir = temp_dir()?;
        let gateway_end = dir.path().join(format!("{name}-gw"));
        let node_end = dir.path().join(format!("{name}-node"));
        Self::spawn(gateway_end, node_end, dir)
    }

    /// A pair whose gateway end appears at `gateway_end` (e.g. the `port`
    /// of a gateway's serial link); the node end is in a temporary
    /// directory.
    pub fn with_gateway_end(gateway_end: &Path) -> Result<Self, PtyError> {
        if gateway_end.symlink_metadata().is_ok() {
            return Err(PtyError::Exists(gateway_end.to_path_buf()));
        }
        let dir = temp_dir()?;
        let node_end = dir.path().join("node");
        Self::spawn(gateway_end.to_path_buf(), node_end, dir)
    }

    fn spawn(
        gateway_end: PathBuf,
        node_end: PathBuf,
        dir: tempfile::TempDir,
    ) -> Result<Self, PtyError> {
        let end = |p: &Path| format!("pty,raw,echo=0,link={}", p.display());
        let mut child = Command::new("socat")
            .args(["-d", "-d", &end(&gateway_end), &end(&node_end)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => PtyError::SocatMissing,
                _ => PtyError::Spawn(e),
            })?;
        let ready = child.stderr.take().map(watch_log);
        let mut pair = Self {
            gateway_end,
            node_end,
            child,
            _dir: dir,
        };
        let log = match ready {
            Some(rx) => match rx.recv_timeout(START_TIMEOUT) {
                Ok(Ok(())) => return Ok(pair),
                Ok(Err(log)) => log,
                Err(_) => "no answer".to_string(),
            },
            None => "no log".to_string(),
        };
        pair.kill();
        Err(PtyError::NotReady {
            timeout: START_TIMEOUT,
            log,
        })
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A killed socat leaves its links behind, pointing nowhere.
        for end in [&self.gateway_end, &self.node_end] {
            if end.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
                let _ = std::fs::remove_file(end);
            }
        }
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        self.kill();
    }
}

fn temp_dir() -> Result<tempfile::TempDir, PtyError> {
    tempfile::Builder::new()
        .prefix("retrofit-pty-")
        .tempdir()
        .map_err(PtyError::TempDir)
}

/// Reads socat's log on a thread (for its whole life, so socat never
/// blocks on a full pipe); reports once: ready, or its log if it ended.
fn watch_log(stderr: std::process::ChildStderr) -> mpsc::Receiver<Result<(), String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        let mut reported = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !reported && line.contains(READY_LINE) {
                reported = tx.send(Ok(())).is_ok();
            } else if !reported {
                log.push_str(line.trim());
                log.push('\n');
            }
        }
        if !reported {
            let _ = tx.send(Err(format!("socat exited: {}", log.trim())));
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn bytes_written_to_one_end_come_out_of_the_other() {
        let pair = PtyPair::start("t").unwrap();
        assert!(pair.gateway_end.exists() && pair.node_end.exists());
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .unwrap()
        };
        let (mut a, mut b) = (open(&pair.gateway_end), open(&pair.node_end));
        a.write_all(b"\x00frame\x00").unwrap();
        let mut got = [0u8; 7];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x00frame\x00");
        let (gw, node) = (pair.gateway_end.clone(), pair.node_end.clone());
        drop(pair);
        assert!(gw.symlink_metadata().is_err() && node.symlink_metadata().is_err());
    }

    #[test]
    fn never_replaces_an_existing_path() {
        let dir = tempfile::tempdir().unwrap();
        let taken = dir.path().join("ttyUSB0");
        std::fs::write(&taken, "keep").unwrap();
        assert!(matches!(
            PtyPair::with_gateway_end(&taken),
            Err(PtyError::Exists(p)) if p == taken
        ));
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "keep");
    }

    #[test]
    fn a_path_socat_cannot_create_is_reported_with_its_log() {
        let err = PtyPair::with_gateway_end(Path::new("/nonexistent-dir/x/tty")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("socat exited"), "{text}");
    }
}

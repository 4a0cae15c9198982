//! Pseudo-terminal serial pairs made in-process, no outside binary: two
//! pseudo-terminals (`TTYPort::pair`, i.e. `openpty`) joined by a relay
//! thread per direction, as `socat pty pty` would join them. Each end is a
//! pseudo-terminal slave reached through a symlink, so a gateway opens one
//! end as its serial port while the simulated nodes open the other, both
//! by path and as often as they like.
//!
//! The pair keeps both slaves open itself, so a master never sees a
//! hang-up while nobody has an end open. As with any pseudo-terminal
//! (socat's too), a process that opened an end exclusively, as serial
//! ports are, and was killed with SIGKILL leaves the flag set while the
//! pair lives, so only root can open that end again; a clean close clears
//! it. Bytes written while nobody reads
//! an end wait in its terminal's buffer; when that is full for longer than
//! [`WRITE_STALL`] they are dropped, as on a cut cable (the edge link
//! resends). On drop the relays stop within [`RELAY_TICK`] (plus at most
//! one [`WRITE_STALL`]) and the symlinks are removed; an existing path is
//! never replaced, and a link someone replaced is left alone.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

/// Longest a relay waits for bytes before looking at its stop flag.
pub const RELAY_TICK: Duration = Duration::from_millis(20);
/// Longest a relay waits for room at the far end before dropping bytes.
pub const WRITE_STALL: Duration = Duration::from_millis(500);

/// Why a pair could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("cannot open a pseudo-terminal: {0}")]
    Open(#[from] serialport::Error),
    #[error("the pseudo-terminal has no name")]
    Unnamed,
    #[error("{0} already exists; refusing to replace it")]
    Exists(PathBuf),
    #[error("cannot link {path} to the pseudo-terminal: {source}")]
    Link {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make a directory for the pseudo-terminals: {0}")]
    TempDir(std::io::Error),
    #[error("cannot start the pseudo-terminal relay: {0}")]
    Relay(std::io::Error),
}

/// Two connected pseudo-terminals.
#[derive(Debug)]
pub struct PtyPair {
    /// The end for the gateway's serial link.
    pub gateway_end: PathBuf,
    /// The end for the simulated nodes.
    pub node_end: PathBuf,
    stop: Arc<AtomicBool>,
    relays: Vec<JoinHandle<()>>,
    ends: Vec<End>,
    _dir: tempfile::TempDir,
}

/// One pseudo-terminal: its master (the relay's side), its slave held
/// open, and the symlink to the slave.
#[derive(Debug)]
struct End {
    master: TTYPort,
    _slave: TTYPort,
    slave_name: PathBuf,
    link: Option<PathBuf>,
}

impl End {
    fn open() -> Result<Self, PtyError> {
        let (master, slave) = TTYPort::pair()?;
        let slave_name = slave.name().ok_or(PtyError::Unnamed)?.into();
        Ok(Self {
            master,
            _slave: slave,
            slave_name,
            link: None,
        })
    }

    /// Links `path` to the slave; never replaces what is there.
    fn link_at(&mut self, path: &Path) -> Result<(), PtyError> {
        match std::os::unix::fs::symlink(&self.slave_name, path) {
            Ok(()) => {
                self.link = Some(path.to_path_buf());
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                Err(PtyError::Exists(path.to_path_buf()))
            }
            Err(source) => Err(PtyError::Link {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Removes the link if it still points at this end's slave.
    fn unlink(&mut self) {
        if let Some(link) = self.link.take() {
            if std::fs::read_link(&link).is_ok_and(|to| to == self.slave_name) {
                let _ = std::fs::remove_file(&link);
            }
        }
    }

    /// A handle on the master with `timeout` for reads and writes.
    fn master(&self, timeout: Duration) -> Result<TTYPort, PtyError> {
        let mut port = self.master.try_clone_native()?;
        port.set_timeout(timeout)?;
        Ok(port)
    }
}

impl PtyPair {
    /// A pair with both ends in a new temporary directory, named
    /// `{name}-gw` and `{name}-node`.
    pub fn start(name: &str) -> Result<Self, PtyError> {
        let dir = temp_dir()?;
        let gateway_end = dir.path().join(format!("{name}-gw"));
        let node_end = dir.path().join(format!("{name}-node"));
        Self::open(gateway_end, node_end, dir)
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
        Self::open(gateway_end.to_path_buf(), node_end, dir)
    }

    fn open(
        gateway_end: PathBuf,
        node_end: PathBuf,
        dir: tempfile::TempDir,
    ) -> Result<Self, PtyError> {
        let mut pair = Self {
            gateway_end,
            node_end,
            stop: Arc::new(AtomicBool::new(false)),
            relays: Vec::new(),
            ends: vec![End::open()?, End::open()?],
            _dir: dir,
        };
        pair.ends[0].link_at(&pair.gateway_end)?;
        pair.ends[1].link_at(&pair.node_end)?;
        for (from, to) in [(0, 1), (1, 0)] {
            let reader = pair.ends[from].master(RELAY_TICK)?;
            let writer = pair.ends[to].master(WRITE_STALL)?;
            let stop = Arc::clone(&pair.stop);
            let relay = std::thread::Builder::new()
                .name("pty-relay".into())
                .spawn(move || relay(reader, writer, &stop))
                .map_err(PtyError::Relay)?;
            pair.relays.push(relay);
        }
        Ok(pair)
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for relay in self.relays.drain(..) {
            let _ = relay.join();
        }
        for end in &mut self.ends {
            end.unlink();
        }
    }
}

fn temp_dir() -> Result<tempfile::TempDir, PtyError> {
    tempfile::Builder::new()
        .prefix("retrofit-pty-")
        .tempdir()
        .map_err(PtyError::TempDir)
}

/// Copies what arrives at `from` to `to` until `stop`.
fn relay(mut from: TTYPort, mut to: TTYPort, stop: &AtomicBool) {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let n = match from.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "pseudo-terminal relay stopped");
                return;
            }
        };
        match to.write_all(&buf[..n]) {
            Ok(()) => {}
            // Nobody reads the far end: the bytes are lost, as on a cut cable.
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                tracing::debug!(bytes = n, "pseudo-terminal end not read; bytes dropped");
            }
            Err(e) => {
                tracing::warn!(error = %e, "pseudo-terminal relay stopped");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn open(p: &Path) -> std::fs::File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .unwrap()
    }

    #[test]
    fn bytes_written_to_one_end_come_out_of_the_other_both_ways() {
        let pair = PtyPair::start("t").unwrap();
        assert!(pair.gateway_end.exists() && pair.node_end.exists());
        let (mut a, mut b) = (open(&pair.gateway_end), open(&pair.node_end));
        a.write_all(b"\x00frame\x00").unwrap();
        let mut got = [0u8; 7];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x00frame\x00");
        b.write_all(b"\x00ack\x00").unwrap();
        let mut got = [0u8; 5];
        a.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x00ack\x00");
        let (gw, node) = (pair.gateway_end.clone(), pair.node_end.clone());
        drop(pair);
        assert!(gw.symlink_metadata().is_err() && node.symlink_metadata().is_err());
    }

    #[test]
    fn an_end_can_be_closed_and_opened_again() {
        let pair = PtyPair::start("r").unwrap();
        let mut node = open(&pair.node_end);
        drop(open(&pair.gateway_end));
        let mut gw = open(&pair.gateway_end);
        node.write_all(b"\x00again\x00").unwrap();
        let mut got = [0u8; 7];
        gw.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x00again\x00");
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
    fn a_link_replaced_by_someone_else_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let port = dir.path().join("ttyS9");
        let pair = PtyPair::with_gateway_end(&port).unwrap();
        std::fs::remove_file(&port).unwrap();
        std::fs::write(&port, "theirs").unwrap();
        drop(pair);
        assert_eq!(std::fs::read_to_string(&port).unwrap(), "theirs");
    }

    #[test]
    fn a_path_that_cannot_be_linked_is_reported_with_its_cause() {
        let path = Path::new("/nonexistent-dir/x/tty");
        let err = PtyPair::with_gateway_end(path).unwrap_err();
        assert!(
            matches!(&err, PtyError::Link { path: p, source } if p == path && source.kind() == ErrorKind::NotFound),
            "{err}"
        );
        assert!(err.to_string().contains("/nonexistent-dir/x/tty"), "{err}");
    }
}

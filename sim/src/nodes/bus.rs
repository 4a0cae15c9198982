//! The node end of one serial line, shared by several simulated nodes as
//! on an RS-485 bus: every node hears every frame from the gateway, and
//! each tick's frames go out in one write.
//!
//! A thread runs the loop: read what the gateway sent (waiting at most one
//! tick), hand each frame to every node's link, advance each node
//! ([`BusNode`]) to the simulated time (`speed` × real time since start),
//! and write what the links send. The line is opened with
//! `serialport` at the link's baud rate (a pseudo-terminal or a real
//! adapter) and reopened every [`REOPEN_EVERY`] while it is missing or
//! after it failed; frames sent meanwhile are lost, as on a cut cable,
//! and the links resend them.
//!
//! The loop never blocks longer than a tick and stops within a tick of
//! [`EdgeBus::stop`]. Progress is published as a [`BusStatus`].

use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use retrofit_firmware::apps::OutputError;
use retrofit_protocols::edge::FrameDecoder;
use retrofit_protocols::Id;
use serialport::SerialPort;

pub use super::bus_node::{AlarmNote, BusNode, NodeStatus};
use super::uplink::{Outbox, UplinkError};

/// Longest wait for the line per loop.
pub const TICK: Duration = Duration::from_millis(5);
/// How often a missing or failed line is opened again.
pub const REOPEN_EVERY: Duration = Duration::from_millis(500);
/// How often the status is published.
const STATUS_EVERY: Duration = Duration::from_millis(100);

/// The bus loop failed (a firmware or link bug; line trouble is not an
/// error, the line is reopened).
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("{device}: node application: {source}")]
    Output { device: Id, source: OutputError },
    #[error("{device}: edge link: {source}")]
    Uplink { device: Id, source: UplinkError },
    #[error("the bus thread panicked")]
    Panicked,
}

/// The bus's progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BusStatus {
    pub line_open: bool,
    /// Times the line was opened (1 when it never failed).
    pub opened: u32,
    pub nodes: Vec<NodeStatus>,
}

/// Where the bus runs and how fast.
#[derive(Debug, Clone)]
pub struct BusOptions {
    /// The node end of the line.
    pub port: PathBuf,
    pub baud: u32,
    /// Simulated seconds per real second.
    pub speed: f64,
}

type SharedStatus = Arc<Mutex<BusStatus>>;

/// A running bus.
pub struct EdgeBus {
    stop: Arc<AtomicBool>,
    status: SharedStatus,
    thread: Option<JoinHandle<Result<(), BusError>>>,
}

impl EdgeBus {
    /// Starts the loop on its own thread.
    pub fn start(options: BusOptions, nodes: Vec<BusNode>) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let status = SharedStatus::default();
        let line = Line {
            options,
            nodes,
            stop: Arc::clone(&stop),
            status: Arc::clone(&status),
            port: None,
            opened: 0,
            open_failed: false,
        };
        let thread = std::thread::Builder::new()
            .name("edge-bus".into())
            .spawn(move || line.run())?;
        Ok(Self {
            stop,
            status,
            thread: Some(thread),
        })
    }

    /// The latest published progress.
    pub fn status(&self) -> BusStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the loop has ended (only on an error before [`Self::stop`]).
    pub fn has_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the loop; its final progress, or why it failed.
    pub fn stop(mut self) -> Result<BusStatus, BusError> {
        self.halt()?;
        Ok(self.status())
    }

    fn halt(&mut self) -> Result<(), BusError> {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| BusError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for EdgeBus {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// The loop's state.
struct Line {
    options: BusOptions,
    nodes: Vec<BusNode>,
    stop: Arc<AtomicBool>,
    status: SharedStatus,
    port: Option<Box<dyn SerialPort>>,
    opened: u32,
    open_failed: bool,
}

impl Line {
    fn run(mut self) -> Result<(), BusError> {
        let started = Instant::now();
        let mut decoder = FrameDecoder::new();
        let mut next_open = started;
        let mut next_status = started;
        let mut buf = [0u8; 1024];
        while !self.stop.load(Ordering::SeqCst) {
            if self.port.is_none() && Instant::now() >= next_open {
                self.open();
                next_open = Instant::now() + REOPEN_EVERY;
            }
            let heard = self.read(&mut buf);
            let link_ms = started.elapsed().as_millis() as u64;
            let sim_ms = (link_ms as f64 * self.options.speed) as u64;
            let mut out = Outbox::default();
            for frame in decoder.feed(&buf[..heard]).flatten() {
                for node in &mut self.nodes {
                    node.uplink.receive(&frame, link_ms, &mut out);
                }
            }
            for node in &mut self.nodes {
                node.advance(sim_ms, link_ms)?;
                node.uplink
                    .service(link_ms, &mut out)
                    .map_err(|e| node.uplink_error(e))?;
            }
            self.write(&out.0);
            if Instant::now() >= next_status {
                self.publish();
                next_status = Instant::now() + STATUS_EVERY;
            }
        }
        self.publish();
        Ok(())
    }

    fn open(&mut self) {
        let path = self.options.port.to_string_lossy().into_owned();
        match serialport::new(&path, self.options.baud)
            .timeout(TICK)
            .open()
        {
            Ok(port) => {
                self.opened += 1;
                self.port = Some(port);
                self.open_failed = false;
            }
            // Said once per outage; the line is tried again quietly.
            Err(e) if !self.open_failed => {
                self.open_failed = true;
                tracing::warn!(port = %path, error = %e, "cannot open the node end of the line; retrying");
            }
            Err(e) => tracing::debug!(port = %path, error = %e, "cannot open the node end"),
        }
    }

    /// Reads what arrived within a tick (sleeps a tick without a line).
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let Some(port) = self.port.as_mut() else {
            std::thread::sleep(TICK);
            return 0;
        };
        match port.read(buf) {
            Ok(0) => {
                // Nothing to read yet reported as end of file: wait a tick.
                std::thread::sleep(TICK);
                0
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => 0,
            Err(e) => {
                tracing::warn!(error = %e, "node end of the line lost");
                self.port = None;
                std::thread::sleep(TICK);
                0
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some(port) = self.port.as_mut() else {
            return;
        };
        match port.write_all(bytes) {
            Ok(()) => {}
            // Nobody reads the other end: the frames are lost, not the line.
            Err(e) if e.kind() == ErrorKind::TimedOut => {}
            Err(e) => {
                tracing::warn!(error = %e, "node end of the line lost");
                self.port = None;
            }
        }
    }

    fn publish(&mut self) {
        let nodes = self.nodes.iter_mut().map(BusNode::status).collect();
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        *status = BusStatus {
            line_open: self.port.is_some(),
            opened: self.opened,
            nodes,
        };
    }
}

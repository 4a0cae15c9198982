//! Serial lines for tests: a socat pseudo-terminal pair (one end for the
//! gateway, one for the nodes) that can be killed and started again on the
//! same paths, and simulated edge nodes sharing the node end like an
//! RS-485 bus, each running the real `retrofit_firmware::link::NodeLink`,
//! with std file I/O in a thread (their clock: the thread's monotonic ms).
//!
//! [`write_gateway_config`] writes the gateway's config for such a line.
//!
//! A missing `socat` fails the test with the install hint; nothing here
//! ever skips.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use retrofit_firmware::link::{Backoff, NodeLink};
use retrofit_protocols::edge::{
    Capabilities, Event, FirmwareVersion, FrameDecoder, Hello, NodeId, Telemetry,
};
use retrofit_protocols::{DeviceKind, EventName, EventState, MetricName, Severity, Value};

use super::Mosquitto;

/// The head of a gateway config with one serial link, `rs485-1`; a test
/// appends its `[[device]]` tables.
const SERIAL_GATEWAY: &str = r#"
[gateway]
id = "gw-SITE"
site = "SITE"
data_dir = "DATA"

[mqtt]
url = "URL"

[[link]]
id = "rs485-1"
type = "serial"
port = "PORT"
baud = 115200
"#;

/// A gateway config for `site` (journal in `dir/data`, output to
/// `broker`) with one serial link `rs485-1` on `port` and the
/// `[[device]]` tables `devices`, written to `dir/name`.
pub fn write_gateway_config(
    dir: &Path,
    name: &str,
    site: &str,
    broker: &Mosquitto,
    port: &Path,
    devices: &str,
) -> PathBuf {
    let head = SERIAL_GATEWAY
        .replace("SITE", site)
        .replace("DATA", &dir.join("data").display().to_string())
        .replace("URL", &broker.url())
        .replace("PORT", &port.display().to_string());
    let path = dir.join(name);
    std::fs::write(&path, head + devices).expect("write gateway config");
    path
}

/// A socat pseudo-terminal pair: `gateway` and `node` are the two ends.
pub struct PtyPair {
    pub gateway: PathBuf,
    pub node: PathBuf,
    child: Option<Child>,
}

impl PtyPair {
    /// The pair with ends at `dir/{name}-gw` and `dir/{name}-node`, not
    /// started yet (see [`PtyPair::restart`]).
    pub fn new(dir: &Path, name: &str) -> Self {
        Self {
            gateway: dir.join(format!("{name}-gw")),
            node: dir.join(format!("{name}-node")),
            child: None,
        }
    }

    /// [`PtyPair::new`], started.
    pub fn start(dir: &Path, name: &str) -> Self {
        let mut pair = Self::new(dir, name);
        pair.restart();
        pair
    }

    /// Kills socat (both ends vanish, as when an adapter is unplugged).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A killed socat leaves its links behind, pointing nowhere.
        let _ = std::fs::remove_file(&self.gateway);
        let _ = std::fs::remove_file(&self.node);
    }

    /// Starts socat (again) with the same paths; returns once both exist.
    pub fn restart(&mut self) {
        self.kill();
        let end = |p: &Path| format!("pty,raw,echo=0,link={}", p.display());
        let child = Command::new(super::binary("socat"))
            .args(["-d", "-d", &end(&self.gateway), &end(&self.node)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start socat");
        self.child = Some(child);
        let (gw, node) = (self.gateway.clone(), self.node.clone());
        super::wait_until("socat pseudo-terminals", Duration::from_secs(10), || {
            gw.exists() && node.exists()
        });
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a simulated node sends: `readings` telemetry frames, one every
/// `interval`, and the event frames of `events` after the reading of the
/// given index.
#[derive(Debug, Clone)]
pub struct NodePlan {
    pub id: u16,
    pub kind: DeviceKind,
    pub time_sync: bool,
    pub readings: u32,
    pub interval: Duration,
    pub events: Vec<(u32, EventState)>,
}

/// The metric value of reading `i` (so the test can check it arrived
/// unchanged).
pub fn reading_value(i: u32) -> f64 {
    f64::from(i) / 8.0
}

/// The name of the metric a node of `kind` reports.
pub fn reading_metric(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Elevator => "load_pct",
        DeviceKind::Parking => "battery_pct",
        _ => "level_m",
    }
}

/// A node's progress, shared with the test.
#[derive(Debug, Default, Clone)]
pub struct NodeStatus {
    pub booted: bool,
    /// Readings queued so far.
    pub produced: u32,
    /// Sequence numbers of the telemetry frames, by reading index.
    pub telemetry_seqs: Vec<u32>,
    pub pending: usize,
    pub dropped: u32,
    /// Transmissions beyond the first of each frame (exact once the ring
    /// is empty).
    pub resent: u32,
    pub done: bool,
}

/// Simulated nodes sharing one line, as on an RS-485 bus: every node
/// hears every frame, and each tick's frames go out in one write.
pub struct SimBus {
    statuses: Vec<Arc<Mutex<NodeStatus>>>,
    disconnects: Arc<Mutex<u32>>,
    deaf_until: Arc<Mutex<Instant>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimBus {
    /// Starts the nodes of `plans` on the line at `path` (opened, and
    /// opened again after it goes away, as soon as it exists).
    pub fn start(path: PathBuf, plans: Vec<NodePlan>) -> Self {
        let nodes: Vec<Node> = plans.into_iter().map(Node::new).collect();
        let statuses = nodes.iter().map(|n| n.status.clone()).collect();
        let disconnects = Arc::new(Mutex::new(0));
        let deaf_until = Arc::new(Mutex::new(Instant::now()));
        let stop = Arc::new(AtomicBool::new(false));
        let bus = Bus {
            path,
            nodes,
            decoder: FrameDecoder::new(),
            started: Instant::now(),
            disconnects: disconnects.clone(),
            deaf_until: deaf_until.clone(),
            stop: stop.clone(),
        };
        Self {
            statuses,
            disconnects,
            deaf_until,
            stop,
            thread: Some(std::thread::spawn(move || bus.run())),
        }
    }

    /// Every node's status, in plan order.
    pub fn statuses(&self) -> Vec<NodeStatus> {
        let statuses = self.statuses.iter();
        statuses
            .map(|s| s.lock().expect("status").clone())
            .collect()
    }

    /// Times the line went away under the nodes.
    pub fn disconnects(&self) -> u32 {
        *self.disconnects.lock().expect("disconnects")
    }

    /// The nodes hear nothing for `period` (noise on the gateway-to-node
    /// direction): Acks of frames the gateway has committed are lost.
    pub fn deafen(&self, period: Duration) {
        *self.deaf_until.lock().expect("deaf_until") = Instant::now() + period;
    }
}

impl Drop for SimBus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Bytes `NodeLink` writes, collected before they go to the line.
#[derive(Default)]
struct Outbox(Vec<u8>);

impl embedded_io::ErrorType for Outbox {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Outbox {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The node end of the line while it is there.
struct Line {
    file: File,
    /// Chunks read by the reader thread; closed when the line goes away.
    rx: Receiver<Vec<u8>>,
}

impl Line {
    fn open(path: &Path) -> Option<Line> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .ok()?;
        let mut reader = file.try_clone().ok()?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        Some(Line { file, rx })
    }

    /// Every chunk received so far; `None` once the line is gone.
    fn received(&self) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(chunk) => bytes.extend(chunk),
                Err(TryRecvError::Empty) => return Some(bytes),
                Err(TryRecvError::Disconnected) => return None,
            }
        }
    }
}

const TICK: Duration = Duration::from_millis(5);
const HEARTBEAT_EVERY_MS: u64 = 500;
/// A node queues a reading only while it holds fewer frames than this, so
/// its 32-slot ring never overflows during an outage.
const MAX_HELD: usize = 16;

struct Bus {
    path: PathBuf,
    nodes: Vec<Node>,
    decoder: FrameDecoder,
    started: Instant,
    disconnects: Arc<Mutex<u32>>,
    deaf_until: Arc<Mutex<Instant>>,
    stop: Arc<AtomicBool>,
}

impl Bus {
    fn run(mut self) {
        let mut line: Option<Line> = None;
        while !self.stop.load(Ordering::SeqCst) {
            let now = self.started.elapsed().as_millis() as u64;
            if line.is_none() {
                line = Line::open(&self.path);
            }
            let received = line.as_ref().and_then(Line::received);
            let deaf = Instant::now() < *self.deaf_until.lock().expect("deaf_until");
            let heard = received.as_deref().filter(|_| !deaf).unwrap_or_default();
            let mut outbox = Outbox::default();
            for frame in self.decoder.feed(heard).flatten() {
                for node in &mut self.nodes {
                    let _ = node.link.receive(&frame, now, &mut outbox);
                }
            }
            for node in &mut self.nodes {
                node.tick(now, &mut outbox);
            }
            // Without a line the bytes are lost, as on a cut cable.
            if let Some(open) = line.as_mut() {
                if received.is_none() || open.file.write_all(&outbox.0).is_err() {
                    line = None;
                    *self.disconnects.lock().expect("disconnects") += 1;
                }
            }
            std::thread::sleep(TICK);
        }
    }
}

/// One simulated node: its plan, its `NodeLink` and its schedule.
struct Node {
    plan: NodePlan,
    link: NodeLink<32>,
    status: Arc<Mutex<NodeStatus>>,
    next_heartbeat: u64,
    next_reading: u64,
    /// Frames queued (Hello included) and transmissions, resends included.
    queued: u32,
    transmissions: u32,
}

impl Node {
    fn new(plan: NodePlan) -> Self {
        let backoff = Backoff {
            first_ms: 300,
            max_ms: 2_000,
        };
        let mut link = NodeLink::new(NodeId::new(plan.id).expect("node id"), backoff);
        let capabilities = if plan.time_sync {
            Capabilities::TIME_SYNC
        } else {
            Capabilities::default()
        };
        let hello = Hello {
            firmware: FirmwareVersion {
                major: 1,
                minor: 4,
                patch: 2,
            },
            kind: plan.kind,
            capabilities,
        };
        link.queue(hello, 0).expect("queue hello");
        Self {
            plan,
            link,
            status: Arc::default(),
            next_heartbeat: 0,
            next_reading: 0,
            queued: 1,
            transmissions: 0,
        }
    }

    fn tick(&mut self, now: u64, outbox: &mut Outbox) {
        if now >= self.next_heartbeat {
            let _ = self.link.heartbeat(now, Some(80), outbox);
            self.next_heartbeat = now + HEARTBEAT_EVERY_MS;
        }
        if self.booted() && now >= self.next_reading && self.produce(now) {
            self.next_reading = now + self.plan.interval.as_millis() as u64;
        }
        self.transmissions += self.link.poll(now, outbox).unwrap_or(0) as u32;
        self.report();
    }

    /// Booted once the Hello is acknowledged.
    fn booted(&mut self) -> bool {
        let mut status = self.status.lock().expect("status");
        status.booted |= self.link.pending() == 0;
        status.booted
    }

    /// Queues the next reading (and its events) if there is room; false
    /// when it has to wait.
    fn produce(&mut self, now: u64) -> bool {
        let i = self.status.lock().expect("status").produced;
        if i >= self.plan.readings || self.link.pending() >= MAX_HELD {
            return false;
        }
        let mut telemetry = Telemetry::new(self.link.stamp(now));
        let metric = MetricName::parse(reading_metric(self.plan.kind)).expect("metric");
        telemetry
            .push(metric, Value::Number(reading_value(i)))
            .expect("metric fits");
        let seq = self.link.queue(telemetry, now).expect("queue telemetry");
        self.queued += 1;
        for (_, state) in self.plan.events.iter().filter(|(at, _)| *at == i) {
            let event = Event {
                stamp: self.link.stamp(now),
                name: EventName::parse("entrapment").expect("event name"),
                severity: Severity::Critical,
                state: *state,
                detail: 0,
            };
            self.link.queue(event, now).expect("queue event");
            self.queued += 1;
        }
        let mut status = self.status.lock().expect("status");
        status.produced += 1;
        status.telemetry_seqs.push(seq);
        true
    }

    fn report(&self) {
        let mut status = self.status.lock().expect("status");
        status.pending = self.link.pending();
        status.dropped = self.link.dropped_frames();
        status.resent = self.transmissions.saturating_sub(self.queued);
        status.done = status.produced >= self.plan.readings && status.pending == 0;
    }
}

//! The link's decisions, between the port and the intake: what each
//! received frame becomes (records to commit, frames to send back) and
//! which acknowledgement follows each commit (EDGE_LINK.md §6).
//!
//! Policy:
//! - Telemetry and Event from a configured node become readings; Hello
//!   resets the node's session (unless it is a resend, see `session`) and
//!   is answered with a TimeSync when the node can use one; Heartbeat
//!   feeds presence and the node's clock, moves the acknowledgement past
//!   frames the node gave up on, and is answered with the current Ack (so
//!   a lost Ack heals within one heartbeat). A Heartbeat makes no reading:
//!   it has no sequence number to make one unique, and battery levels
//!   belong in the node's telemetry.
//! - Reliable frames are acknowledged only by [`Receiver::committed`],
//!   i.e. after their records are durable; a resend of a durable frame is
//!   acknowledged again without a second commit.
//! - A frame from a node no device is configured at is dead-lettered
//!   (`unknown_device`) and, once that is durable, acknowledged so the node
//!   stops resending it; its Heartbeats are only counted.
//! - Line noise (oversized, bad stuffing, truncated, bad CRC) is counted by
//!   reason and logged at debug level, never dead-lettered: on a serial bus
//!   it is what a cable or a reset produces. A frame that passed its CRC
//!   but is refused (unknown version or type, bad length or field) came
//!   from a real sender: counted and dead-lettered, with its bytes in hex.
//! - A node with settings in its `[[device]]` entry is sent them in a
//!   Config frame when its session starts: at its Hello (if it announces
//!   `CONFIG`; otherwise a warning is logged) and at the first frame heard
//!   from it without a Hello (the gateway restarted, maybe with changed
//!   settings, while the node kept running). Resends and their limits are
//!   `push`'s. The node's Ack (sequence number at least 1: a node has
//!   queued its Hello before it can answer) ends the resends; its next
//!   Heartbeat with a settings report is compared with the configuration
//!   and the result logged.
//! - Gateway-to-node frames heard on the line (an RS-485 adapter's echo of
//!   our own: TimeSync, Config, and Acks, which the gateway always sends
//!   with sequence number 0) are ignored.
//!
//! Nothing here does I/O or reads a clock: the caller passes the time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use retrofit_protocols::edge::{
    Ack, Capabilities, DecodeError, Frame, Heartbeat, Hello, Message, NodeId, TimeSync,
};
use retrofit_protocols::Timestamp;

use super::config::SerialLinkConfig;
use super::frames::Received;
use super::node::NodeState;
use super::push::{ConfigPush, ReportCheck};
use super::rejects::{decode_reason, hex, is_line_noise, kind_mismatch};
use super::session::Admission;
use crate::devices::Device;
use crate::journal::NewRecord;
use crate::links::subscriber::LinkContext;
use crate::normalize::Rejection;

/// What the port loop must do for a received frame.
#[derive(Debug)]
pub enum Action {
    /// Commit these records; hand `Commit` back to [`Receiver::committed`]
    /// once they are durable.
    Submit(Vec<NewRecord>, Option<Commit>),
    /// Write this frame to the port now.
    Send(Box<Frame>),
}

/// A reliable frame whose records were submitted, reported back when
/// durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    pub node: NodeId,
    pub seq: u32,
    fingerprint: u64,
    /// The node's session generation; `None` for an unknown node.
    generation: Option<u64>,
}

/// The decisions of one serial link.
pub struct Receiver {
    config: Arc<SerialLinkConfig>,
    nodes: HashMap<NodeId, NodeState>,
    push: ConfigPush,
}

impl Receiver {
    pub fn new(config: Arc<SerialLinkConfig>) -> Self {
        Self {
            config,
            nodes: HashMap::new(),
            push: ConfigPush::default(),
        }
    }

    /// The Config frames to write now (first sends and resends), for the
    /// monotonic time `now`.
    pub fn due_configs(&mut self, now: Instant) -> Vec<Frame> {
        self.push.due(now, &self.config.settings)
    }

    /// When [`Self::due_configs`] next has something to send.
    pub fn next_config_due(&self) -> Option<Instant> {
        self.push.next_due()
    }

    /// Decides what a received frame (or decoding failure) leads to.
    pub fn receive(
        &mut self,
        ctx: &LinkContext,
        received: Received<'_>,
        now: Timestamp,
    ) -> Vec<Action> {
        let fingerprint = received.fingerprint();
        match received.result {
            Ok(frame) => self.frame(ctx, &frame, fingerprint, received.wire, now),
            Err(e) => self.undecodable(ctx, &e, received.wire),
        }
    }

    /// Acknowledgements owed now that `commits` are durable: one per node,
    /// reflecting all of them.
    pub fn committed(&mut self, commits: impl IntoIterator<Item = Commit>) -> Vec<Frame> {
        let mut acks: Vec<(NodeId, Ack)> = Vec::new();
        for commit in commits {
            let ack = match commit.generation {
                None => Some(Ack::cumulative(commit.seq)),
                Some(generation) => self.nodes.get_mut(&commit.node).and_then(|n| {
                    n.session
                        .durable(generation, commit.seq, commit.fingerprint)
                        .then(|| n.session.ack())
                        .flatten()
                }),
            };
            if let Some(ack) = ack {
                acks.retain(|(node, _)| *node != commit.node);
                acks.push((commit.node, ack));
            }
        }
        acks.into_iter()
            .map(|(node, ack)| Frame::unsequenced(node, 0, ack))
            .collect()
    }

    /// A TimeSync for every node on the line.
    pub fn time_sync(now: Timestamp) -> Frame {
        Frame::unsequenced(NodeId::BROADCAST, 0, TimeSync { unix_ms: now })
    }

    fn frame(
        &mut self,
        ctx: &LinkContext,
        frame: &Frame,
        fingerprint: u64,
        wire: &[u8],
        now: Timestamp,
    ) -> Vec<Action> {
        if let Message::Ack(ack) = &frame.message {
            self.node_ack(ctx, frame, ack);
            return Vec::new();
        }
        if !frame.message.message_type().is_from_node() {
            return Vec::new();
        }
        let Some(device) = self.config.devices.get(&frame.node).cloned() else {
            return self.unknown_node(ctx, frame, fingerprint, wire);
        };
        let first_contact = !self.nodes.contains_key(&frame.node);
        if first_contact && !matches!(frame.message, Message::Hello(_)) {
            self.start_config(frame.node);
        }
        if let Message::Heartbeat(hb) = &frame.message {
            return self.heartbeat(ctx, &device, frame.node, hb, now);
        }
        if frame.seq == 0 {
            let rejection =
                Rejection::new("invalid_sequence", "reliable frame with sequence number 0");
            let record = ctx.record(
                Err(rejection),
                &self.origin(frame.node),
                hex(wire).as_bytes(),
            );
            return vec![Action::Submit(vec![record], None)];
        }
        let incoming = Incoming {
            ctx,
            device: &device,
            frame,
            fingerprint,
            wire,
            now,
        };
        self.reliable(&incoming)
    }

    /// Feeds the node's clock, presence and session; answers with the
    /// current Ack.
    fn heartbeat(
        &mut self,
        ctx: &LinkContext,
        device: &Device,
        id: NodeId,
        hb: &Heartbeat,
        now: Timestamp,
    ) -> Vec<Action> {
        let node = self.nodes.entry(id).or_default();
        let lost = node.heartbeat(hb, now);
        if lost > 0 {
            ctx.counters.lost(ctx.source.as_str(), u64::from(lost));
            tracing::warn!(link = %ctx.link, device = %device.id, lost, dropped_total = hb.dropped_frames, "node gave up on frames it could not deliver");
        }
        if !hb.settings.is_empty() {
            let configured = self.config.settings.get(&id);
            match self.push.reported(id, &hb.settings, configured) {
                Some(ReportCheck::Matches) => {
                    let reported = settings_text(&hb.settings);
                    tracing::info!(link = %ctx.link, device = %device.id, %reported, "node runs with the configured settings");
                }
                Some(ReportCheck::Differs(keys)) => {
                    tracing::warn!(link = %ctx.link, device = %device.id, differs = ?keys, "node runs with other settings than configured (refused or out of its range)");
                }
                None => {}
            }
        }
        let node = self.nodes.entry(id).or_default();
        ctx.presence.seen(&device.id, now);
        node.session
            .ack()
            .map(|ack| send_ack(id, ack))
            .into_iter()
            .collect()
    }

    /// Hello, Telemetry and Event from a configured node.
    fn reliable(&mut self, incoming: &Incoming<'_>) -> Vec<Action> {
        let Incoming {
            frame, fingerprint, ..
        } = *incoming;
        let node = self.nodes.entry(frame.node).or_default();
        let mut actions = Vec::new();
        let generation_before = node.session.generation();
        let admission = match &frame.message {
            Message::Hello(hello) => {
                if hello.capabilities.contains(Capabilities::TIME_SYNC) {
                    let sync = TimeSync {
                        unix_ms: incoming.now,
                    };
                    actions.push(Action::Send(Box::new(Frame::unsequenced(
                        frame.node, 0, sync,
                    ))));
                }
                node.hello(frame.seq, fingerprint)
            }
            _ => node.session.admit(frame.seq, fingerprint),
        };
        let generation = Some(node.session.generation());
        if let Message::Hello(hello) = &frame.message {
            if generation != Some(generation_before) {
                self.hello_config(incoming.ctx, incoming.device, frame.node, hello);
            }
        }
        let Some(node) = self.nodes.get_mut(&frame.node) else {
            return actions;
        };
        match admission {
            Admission::New => {
                let records = self.records(incoming);
                let commit = Commit {
                    node: frame.node,
                    seq: frame.seq,
                    fingerprint,
                    generation,
                };
                actions.push(Action::Submit(records, Some(commit)));
            }
            Admission::InFlight => {}
            Admission::Durable => {
                let ack = node.session.ack();
                actions.extend(ack.map(|a| send_ack(frame.node, a)));
            }
        }
        actions
    }

    /// A new session after a Hello: the node's settings, if it applies
    /// Config frames.
    fn hello_config(&mut self, ctx: &LinkContext, device: &Device, id: NodeId, hello: &Hello) {
        if !self.config.settings.contains_key(&id) {
            return;
        }
        if hello.capabilities.contains(Capabilities::CONFIG) {
            self.start_config(id);
        } else {
            tracing::warn!(link = %ctx.link, device = %device.id, "device has settings but its node does not apply Config frames; not sent");
        }
    }

    fn start_config(&mut self, id: NodeId) {
        self.push.start(id, self.config.settings.get(&id));
    }

    /// An Ack from a node (header sequence >= 1) may end a Config's resends;
    /// one with sequence 0 is the echo of the gateway's own.
    fn node_ack(&mut self, ctx: &LinkContext, frame: &Frame, ack: &Ack) {
        if frame.seq == 0 || frame.node.is_broadcast() {
            return;
        }
        if self.push.acked(frame.node, ack) {
            let device = self.config.devices.get(&frame.node).map(|d| d.id.clone());
            tracing::info!(link = %ctx.link, node = %frame.node, device = ?device, "node acknowledged its settings");
        }
    }

    /// The journal records of a new reliable frame.
    fn records(&mut self, incoming: &Incoming<'_>) -> Vec<NewRecord> {
        let Incoming {
            ctx,
            device,
            frame,
            wire,
            now,
            ..
        } = *incoming;
        let origin_text = self.origin(frame.node);
        let Some(node) = self.nodes.get_mut(&frame.node) else {
            return Vec::new();
        };
        let result = match &frame.message {
            Message::Hello(hello) => {
                ctx.presence.seen(&device.id, now);
                kind_mismatch(device, hello).map(Err)
            }
            _ => node.reading(&self.config.site, device, frame, now),
        };
        result
            .map(|result| ctx.record(result, &origin_text, hex(wire).as_bytes()))
            .into_iter()
            .collect()
    }

    fn unknown_node(
        &self,
        ctx: &LinkContext,
        frame: &Frame,
        fingerprint: u64,
        wire: &[u8],
    ) -> Vec<Action> {
        let reason = "unknown_device";
        if matches!(frame.message, Message::Heartbeat(_)) || frame.seq == 0 {
            ctx.counters.rejected(ctx.source.as_str(), reason);
            return Vec::new();
        }
        let rejection = Rejection::new(
            reason,
            format!("no device is configured at address {}", frame.node),
        );
        let record = ctx.record(
            Err(rejection),
            &self.origin(frame.node),
            hex(wire).as_bytes(),
        );
        let commit = Commit {
            node: frame.node,
            seq: frame.seq,
            fingerprint,
            generation: None,
        };
        vec![Action::Submit(vec![record], Some(commit))]
    }

    fn undecodable(&self, ctx: &LinkContext, error: &DecodeError, wire: &[u8]) -> Vec<Action> {
        let reason = decode_reason(error);
        if is_line_noise(error) {
            ctx.counters.rejected(ctx.source.as_str(), reason);
            tracing::debug!(link = %ctx.link, reason, %error, "line noise");
            return Vec::new();
        }
        let rejection = Rejection::new(reason, error.to_string());
        let origin = self.config.port.display().to_string();
        let record = ctx.record(Err(rejection), &origin, hex(wire).as_bytes());
        vec![Action::Submit(vec![record], None)]
    }

    fn origin(&self, node: NodeId) -> String {
        format!("{} node {node}", self.config.port.display())
    }
}

/// One reliable frame from a configured node, with its context.
#[derive(Clone, Copy)]
struct Incoming<'a> {
    ctx: &'a LinkContext,
    device: &'a Device,
    frame: &'a Frame,
    fingerprint: u64,
    wire: &'a [u8],
    now: Timestamp,
}

fn send_ack(node: NodeId, ack: Ack) -> Action {
    Action::Send(Box::new(Frame::unsequenced(node, 0, ack)))
}

/// `key=value, ...` for a log line.
fn settings_text(settings: &retrofit_protocols::edge::Settings) -> String {
    let pairs = settings.pairs().iter().map(|(key, value)| match value {
        retrofit_protocols::Value::Number(x) => format!("{key}={}", *x as f32),
        other => format!("{key}={other:?}"),
    });
    pairs.collect::<Vec<_>>().join(", ")
}

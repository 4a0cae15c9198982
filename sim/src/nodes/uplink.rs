//! A simulated node's side of the edge link: the real
//! `retrofit_firmware::link::NodeLink` (sequence numbers, resend ring,
//! backoff, Ack/TimeSync handling) plus what the node's main loop does
//! around it, as `retrofit-node` does: a Hello at boot, each poll's
//! snapshot and alarm transitions queued with the link's stamp, and a
//! Heartbeat every [`HEARTBEAT_EVERY_MS`] with the last battery level.
//!
//! The link runs on real (wall-clock) milliseconds since the node booted:
//! resends and heartbeats pace the real line and stamps are real times,
//! whatever the simulation speed. It counts what it queued and sent so the
//! bus can report acknowledgements; it never blocks.

use retrofit_firmware::apps::NodeOutput;
use retrofit_firmware::link::{Backoff, NodeLink, QueueError, SendError};
use retrofit_protocols::edge::{Frame, MetricsError, NodeId};
use retrofit_protocols::{DeviceKind, IdError};

/// Unacknowledged frames kept for resending (the selective-ack window).
pub const RESEND_RING: usize = 32;
/// Heartbeat period, real ms (the node binary's default).
pub const HEARTBEAT_EVERY_MS: u64 = 10_000;

/// A frame could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("cannot queue a frame: {0}")]
    Queue(#[from] QueueError),
    #[error("telemetry does not fit a frame: {0}")]
    Metrics(#[from] MetricsError),
    #[error("event name: {0}")]
    EventName(#[from] IdError),
    #[error("cannot encode a frame: {0}")]
    Send(#[from] SendError<std::convert::Infallible>),
}

/// Bytes the link writes, collected for the line.
#[derive(Debug, Default)]
pub struct Outbox(pub Vec<u8>);

impl embedded_io::ErrorType for Outbox {
    type Error = std::convert::Infallible;
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

/// Frame counts of one node's link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Reliable frames queued (Hello, Telemetry, Event).
    pub queued: u64,
    /// Transmissions of reliable frames, resends included.
    pub transmissions: u64,
    /// Frames still waiting for an Ack.
    pub pending: u64,
    /// Frames the full ring pushed out unacknowledged.
    pub dropped: u64,
}

impl LinkCounts {
    /// Frames the gateway has acknowledged.
    pub fn acknowledged(&self) -> u64 {
        self.queued
            .saturating_sub(self.pending)
            .saturating_sub(self.dropped)
    }

    /// Transmissions beyond the first of each frame (every queued frame
    /// goes out in the tick it was queued; exact while nothing is dropped).
    pub fn resent(&self) -> u64 {
        self.transmissions.saturating_sub(self.queued)
    }
}

/// The link of one node.
#[derive(Debug)]
pub struct NodeUplink {
    link: NodeLink<RESEND_RING>,
    next_heartbeat_ms: u64,
    battery_pct: Option<u8>,
    queued: u64,
    transmissions: u64,
}

impl NodeUplink {
    /// A booting node: its Hello is queued.
    pub fn boot(address: NodeId, kind: DeviceKind, now_ms: u64) -> Result<Self, UplinkError> {
        let mut link = NodeLink::new(address, Backoff::DEFAULT);
        link.queue(retrofit_firmware::hello(kind), now_ms)?;
        Ok(Self {
            link,
            next_heartbeat_ms: now_ms,
            battery_pct: None,
            queued: 1,
            transmissions: 0,
        })
    }

    /// Queues a poll's snapshot and transitions, stamped now.
    pub fn queue(&mut self, output: &NodeOutput, now_ms: u64) -> Result<(), UplinkError> {
        let stamp = self.link.stamp(now_ms);
        if let Some(telemetry) = &output.telemetry {
            self.battery_pct = telemetry.battery_pct().or(self.battery_pct);
            self.link.queue(telemetry.to_edge(stamp)?, now_ms)?;
            self.queued += 1;
        }
        for transition in &output.events {
            self.link.queue(transition.to_edge(stamp)?, now_ms)?;
            self.queued += 1;
        }
        Ok(())
    }

    /// Hands over a frame heard on the line (Acks, TimeSync, Config).
    pub fn receive(&mut self, frame: &Frame, now_ms: u64, out: &mut Outbox) {
        // Config frames are acknowledged by the link; the simulated
        // firmware keeps its own settings, as `retrofit-node` does.
        let _ = self.link.receive(frame, now_ms, out);
    }

    /// Writes what is due (new frames, resends) and the heartbeat.
    pub fn service(&mut self, now_ms: u64, out: &mut Outbox) -> Result<(), UplinkError> {
        let Ok(sent) = self.link.poll(now_ms, out);
        self.transmissions += sent as u64;
        if now_ms >= self.next_heartbeat_ms {
            self.link.heartbeat(now_ms, self.battery_pct, out)?;
            self.next_heartbeat_ms = now_ms + HEARTBEAT_EVERY_MS;
        }
        Ok(())
    }

    pub fn counts(&self) -> LinkCounts {
        LinkCounts {
            queued: self.queued,
            transmissions: self.transmissions,
            pending: self.link.pending() as u64,
            dropped: u64::from(self.link.dropped_frames()),
        }
    }
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::edge::{Ack, FrameDecoder, Message, TimeSync};
    use retrofit_protocols::Timestamp;

    use super::*;

    fn frames(out: &mut Outbox) -> Vec<Frame> {
        let bytes = std::mem::take(&mut out.0);
        FrameDecoder::new()
            .feed(&bytes)
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn boots_with_a_hello_and_counts_acknowledgements() {
        let node = NodeId::new(7).unwrap();
        let mut uplink = NodeUplink::boot(node, DeviceKind::Drainage, 0).unwrap();
        let mut out = Outbox::default();
        uplink.service(0, &mut out).unwrap();
        let sent = frames(&mut out);
        assert!(matches!(sent[0].message, Message::Hello(h) if h.kind == DeviceKind::Drainage));
        assert!(matches!(sent[1].message, Message::Heartbeat(_)));
        uplink.service(600, &mut out).unwrap();
        assert_eq!(frames(&mut out).len(), 1, "the Hello again after 500 ms");
        let ack = Frame::unsequenced(node, 0, Ack::cumulative(1));
        uplink.receive(&ack, 700, &mut out);
        let counts = uplink.counts();
        assert_eq!((counts.acknowledged(), counts.resent()), (1, 1));
        let sync = TimeSync {
            unix_ms: Timestamp::from_millis(1_795_867_200_000),
        };
        uplink.receive(
            &Frame::unsequenced(NodeId::BROADCAST, 0, sync),
            700,
            &mut out,
        );
        assert!(out.0.is_empty(), "Acks and TimeSync need no answer");
    }
}

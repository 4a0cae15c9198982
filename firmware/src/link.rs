//! The node side of the edge link (spec §7): sequence numbers, the bounded
//! ring of unacknowledged frames, resends with exponential backoff, and the
//! frames the gateway sends back (Ack, TimeSync, Config).
//!
//! [`NodeLink`] is a plain state machine: the caller passes the node's
//! monotonic uptime in milliseconds to every call and hands it the frames
//! its `FrameDecoder` yields. It never allocates, never blocks, never reads
//! a clock and never keeps more than `N` frames: when the ring is full the
//! oldest unacknowledged frame is dropped and counted, and the count goes
//! out in every Heartbeat.
//!
//! ```
//! use retrofit_firmware::link::{Backoff, NodeLink};
//! use retrofit_protocols::edge::{Capabilities, FirmwareVersion, Hello, NodeId};
//! use retrofit_protocols::DeviceKind;
//!
//! let mut link: NodeLink<8> = NodeLink::new(NodeId::new(17).unwrap(), Backoff::DEFAULT);
//! let hello = Hello {
//!     firmware: FirmwareVersion { major: 1, minor: 0, patch: 0 },
//!     kind: DeviceKind::Drainage,
//!     capabilities: Capabilities::TIME_SYNC,
//! };
//! assert_eq!(link.queue(hello, 0), Ok(1));
//! let mut uart = [0u8; 64];
//! assert_eq!(link.poll(0, &mut &mut uart[..]), Ok(1)); // sent once, resent until acked
//! assert_eq!(link.next_due_ms(), Some(500));
//! ```

use embedded_io::Write;
use heapless::{Deque, Vec};
use retrofit_protocols::edge::{
    encode, Ack, Config, EncodeError, Frame, Heartbeat, Message, MessageType, NodeId, Settings,
    Stamp, MAX_WIRE_LEN,
};
use retrofit_protocols::Timestamp;

/// When unacknowledged frames are sent again: `first_ms` after the first
/// transmission, then doubling, never more than `max_ms` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first_ms: u32,
    pub max_ms: u32,
}

impl Backoff {
    /// 0.5 s, 1 s, 2 s ... 30 s.
    pub const DEFAULT: Backoff = Backoff {
        first_ms: 500,
        max_ms: 30_000,
    };

    /// Wait after the `sent`-th transmission of a frame (`sent >= 1`).
    fn delay_ms(self, sent: u8) -> u64 {
        let doublings = u32::from(sent.saturating_sub(1)).min(32);
        let delay = u64::from(self.first_ms).saturating_mul(1 << doublings);
        delay.min(u64::from(self.max_ms))
    }
}

/// A frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("{0:?} frames are not sent reliably by a node")]
    NotQueueable(MessageType),
    #[error("the encoded frame is larger than a ring slot")]
    SlotTooSmall,
    #[error("cannot encode: {0}")]
    Encode(EncodeError),
}

/// An unsequenced frame could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError<E> {
    #[error("cannot encode: {0}")]
    Encode(EncodeError),
    #[error("writing to the link failed: {0:?}")]
    Io(E),
}

/// One unacknowledged frame, stored as its wire bytes.
#[derive(Debug)]
struct Pending<const SLOT: usize> {
    seq: u32,
    due_ms: u64,
    sent: u8,
    wire: Vec<u8, SLOT, u16>,
}

/// The link state of one node: `N` ring slots of `SLOT` bytes each.
///
/// `SLOT` defaults to [`MAX_WIRE_LEN`] (any frame fits); a node whose
/// frames are smaller can choose less. Size on x86-64: `NodeLink<8>` is
/// 2,432 bytes and `NodeLink<8, 128>` 1,216 (tests assert at most 2,560 and
/// 1,280; less on 32-bit targets), well inside an 8 KiB node. [`Self::queue`]
/// builds the frame on the stack: budget about 3 KiB of transient stack
/// for it (a `Message` alone is 1.25 KiB).
#[derive(Debug)]
pub struct NodeLink<const N: usize, const SLOT: usize = MAX_WIRE_LEN> {
    node: NodeId,
    backoff: Backoff,
    next_seq: u32,
    dropped_frames: u32,
    /// Unix time minus uptime, once a TimeSync arrived.
    clock_offset_ms: Option<i64>,
    ring: Deque<Pending<SLOT>, N>,
}

impl<const N: usize, const SLOT: usize> NodeLink<N, SLOT> {
    /// A link that starts a new sequence space at 1 (queue a Hello first).
    pub const fn new(node: NodeId, backoff: Backoff) -> Self {
        Self {
            node,
            backoff,
            next_seq: 1,
            dropped_frames: 0,
            clock_offset_ms: None,
            ring: Deque::new(),
        }
    }

    /// Encodes a Hello, Telemetry or Event with the next sequence number into
    /// the ring, due at once; returns its sequence number. [`Self::poll`]
    /// sends it. A full ring drops its oldest frame to make room.
    pub fn queue(&mut self, message: impl Into<Message>, now_ms: u64) -> Result<u32, QueueError> {
        let message = message.into();
        let kind = message.message_type();
        if !matches!(
            kind,
            MessageType::Hello | MessageType::Telemetry | MessageType::Event
        ) {
            return Err(QueueError::NotQueueable(kind));
        }
        let seq = self.next_seq;
        let wire = encode_into_slot::<SLOT>(&Frame::reliable(self.node, seq, message))?;
        if self.ring.is_full() {
            self.ring.pop_front();
            self.dropped_frames = self.dropped_frames.saturating_add(1);
        }
        let pending = Pending {
            seq,
            due_ms: now_ms,
            sent: 0,
            wire,
        };
        // Cannot fail: a slot was freed above if the ring was full.
        let _ = self.ring.push_back(pending);
        self.next_seq = seq.wrapping_add(1).max(1);
        Ok(seq)
    }

    /// Writes every frame that is due (new ones and resends, oldest first)
    /// and schedules its next resend; returns how many were written. On a
    /// write error the remaining frames stay due for the next call.
    pub fn poll<W: Write>(&mut self, now_ms: u64, out: &mut W) -> Result<usize, W::Error> {
        let backoff = self.backoff;
        let mut written = 0;
        for pending in self.ring.iter_mut().filter(|p| p.due_ms <= now_ms) {
            out.write_all(&pending.wire)?;
            pending.sent = pending.sent.saturating_add(1);
            pending.due_ms = now_ms.saturating_add(backoff.delay_ms(pending.sent));
            written += 1;
        }
        if written > 0 {
            out.flush()?;
        }
        Ok(written)
    }

    /// Sends a Heartbeat now (never resent): `now_ms` as uptime, the drop
    /// count, the lowest sequence number still held, and the battery level.
    pub fn heartbeat<W: Write>(
        &mut self,
        now_ms: u64,
        battery_pct: Option<u8>,
        out: &mut W,
    ) -> Result<(), SendError<W::Error>> {
        self.heartbeat_reporting(now_ms, battery_pct, &Settings::new(), out)
    }

    /// [`Self::heartbeat`] with the settings the node runs with (reported
    /// only when not empty). Send them only once a Config has arrived since
    /// boot: a gateway that never sends Config may not know the report.
    pub fn heartbeat_reporting<W: Write>(
        &mut self,
        now_ms: u64,
        battery_pct: Option<u8>,
        settings: &Settings,
        out: &mut W,
    ) -> Result<(), SendError<W::Error>> {
        let heartbeat = Heartbeat {
            uptime_ms: now_ms,
            dropped_frames: self.dropped_frames,
            pending_from: self.ring.front().map_or(self.next_seq, |p| p.seq),
            battery_pct,
            settings: settings.clone(),
        };
        self.send_unsequenced(heartbeat, out)
    }

    /// Handles a frame from the gateway: an Ack releases frames, a TimeSync
    /// sets the clock, a Config is acknowledged (an Ack of its sequence
    /// number, whatever its content) and returned for the application to
    /// apply (`apps::settings::apply`); a resent Config comes back again and
    /// applying it twice changes nothing. Frames for other nodes are
    /// ignored.
    pub fn receive<W: Write>(
        &mut self,
        frame: &Frame,
        now_ms: u64,
        out: &mut W,
    ) -> Result<Option<Config>, SendError<W::Error>> {
        if frame.node != self.node && !frame.node.is_broadcast() {
            return Ok(None);
        }
        match &frame.message {
            Message::Ack(ack) => self.release(ack),
            Message::TimeSync(sync) => self.set_clock(sync.unix_ms, now_ms),
            Message::Config(config) => {
                if frame.ack_requested {
                    self.send_unsequenced(Ack::cumulative(frame.seq), out)?;
                }
                return Ok(Some(config.clone()));
            }
            _ => {}
        }
        Ok(None)
    }

    /// The time of a measurement taken now: Unix time once synced, uptime
    /// before.
    pub fn stamp(&self, now_ms: u64) -> Stamp {
        let uptime = i64::try_from(now_ms).unwrap_or(i64::MAX);
        self.clock_offset_ms
            .map(|offset| Timestamp::from_millis(uptime.saturating_add(offset)))
            .filter(|ts| ts.is_in_range())
            .map_or(Stamp::Uptime(now_ms), Stamp::Unix)
    }

    /// When [`Self::poll`] next has something to send, if anything.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.ring.iter().map(|p| p.due_ms).min()
    }

    /// Frames waiting for an acknowledgement.
    pub fn pending(&self) -> usize {
        self.ring.len()
    }

    /// Unacknowledged frames dropped since boot because the ring was full.
    pub fn dropped_frames(&self) -> u32 {
        self.dropped_frames
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    fn release(&mut self, ack: &Ack) {
        self.ring.retain(|p| !ack.acknowledges(p.seq));
    }

    fn set_clock(&mut self, unix: Timestamp, now_ms: u64) {
        let uptime = i64::try_from(now_ms).unwrap_or(i64::MAX);
        self.clock_offset_ms = Some(unix.as_millis().saturating_sub(uptime));
    }

    /// The last sequence number assigned (0 before the first).
    fn last_seq(&self) -> u32 {
        self.next_seq.wrapping_sub(1)
    }

    fn send_unsequenced<W: Write>(
        &self,
        message: impl Into<Message>,
        out: &mut W,
    ) -> Result<(), SendError<W::Error>> {
        let frame = Frame::unsequenced(self.node, self.last_seq(), message);
        let mut wire = [0u8; MAX_WIRE_LEN];
        let len = encode(&frame, &mut wire).map_err(SendError::Encode)?;
        out.write_all(&wire[..len]).map_err(SendError::Io)?;
        out.flush().map_err(SendError::Io)
    }
}

fn encode_into_slot<const SLOT: usize>(frame: &Frame) -> Result<Vec<u8, SLOT, u16>, QueueError> {
    let mut wire = Vec::new();
    wire.resize(SLOT, 0).map_err(|_| QueueError::SlotTooSmall)?;
    let len = encode(frame, &mut wire).map_err(|e| match e {
        EncodeError::BufferTooSmall => QueueError::SlotTooSmall,
        other => QueueError::Encode(other),
    })?;
    wire.truncate(len);
    Ok(wire)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec as StdVec;

    use retrofit_protocols::edge::{
        ConfigKey, Event, FrameDecoder, MessageType, Telemetry, TimeSync,
    };
    use retrofit_protocols::{EventName, EventState, MetricName, Severity, Value};

    use super::*;

    /// Decodes and forgets everything written to `wire` (a `Vec<u8>` is
    /// an `embedded_io::Write`).
    fn take_frames(wire: &mut StdVec<u8>) -> StdVec<Frame> {
        FrameDecoder::new()
            .feed(&core::mem::take(wire))
            .map(Result::unwrap)
            .collect()
    }

    fn take_seqs(wire: &mut StdVec<u8>) -> StdVec<u32> {
        take_frames(wire).iter().map(|f| f.seq).collect()
    }

    const FAST: Backoff = Backoff {
        first_ms: 100,
        max_ms: 400,
    };

    fn node() -> NodeId {
        NodeId::new(17).unwrap()
    }

    fn reading(level_m: f64) -> Telemetry {
        let mut t = Telemetry::new(Stamp::Uptime(0));
        t.push(
            MetricName::parse("level_m").unwrap(),
            Value::Number(level_m),
        )
        .unwrap();
        t
    }

    fn from_gateway(message: impl Into<Message>) -> Frame {
        Frame::unsequenced(node(), 0, message)
    }

    fn link_with<const N: usize>(frames: u32) -> (NodeLink<N>, StdVec<u8>) {
        let mut link = NodeLink::new(node(), FAST);
        for i in 0..frames {
            link.queue(reading(f64::from(i)), 0).unwrap();
        }
        let mut wire = StdVec::new();
        assert_eq!(link.poll(0, &mut wire), Ok(N.min(frames as usize)));
        (link, wire)
    }

    #[test]
    fn queued_frames_carry_sequences_from_one_and_request_acks() {
        let (_, mut wire) = link_with::<4>(3);
        let frames = take_frames(&mut wire);
        let seqs: StdVec<_> = frames
            .iter()
            .map(|f| (f.node, f.seq, f.ack_requested))
            .collect();
        assert_eq!(
            seqs,
            [(node(), 1, true), (node(), 2, true), (node(), 3, true)]
        );
        assert_eq!(frames[2].message, Message::Telemetry(reading(2.0)));
    }

    #[test]
    fn acks_release_cumulatively_and_selectively() {
        let (mut link, mut wire) = link_with::<8>(6);
        take_frames(&mut wire);
        let ack = Ack {
            up_to: 2,
            selective: 0b0110,
        }; // 1, 2, then 4 and 5
        assert_eq!(link.receive(&from_gateway(ack), 0, &mut wire), Ok(None));
        assert_eq!(link.pending(), 2);
        link.poll(100, &mut wire).unwrap();
        assert_eq!(take_seqs(&mut wire), [3, 6]);
        link.receive(&from_gateway(Ack::cumulative(6)), 100, &mut wire)
            .unwrap();
        assert_eq!((link.pending(), link.next_due_ms()), (0, None));
        assert!(wire.is_empty());
    }

    #[test]
    fn resends_back_off_exponentially_up_to_the_cap() {
        let (mut link, mut wire) = link_with::<2>(1);
        take_frames(&mut wire);
        let mut resent_at = StdVec::new();
        for now in 1..=2_000 {
            if link.poll(now, &mut wire).unwrap() > 0 {
                resent_at.push(now);
            }
        }
        assert_eq!(resent_at, [100, 300, 700, 1100, 1500, 1900]);
        assert_eq!(take_seqs(&mut wire), [1; 6]);
        assert_eq!(link.next_due_ms(), Some(2_300));
    }

    #[test]
    fn overflow_drops_the_oldest_and_heartbeat_reports_it() {
        let (mut link, mut wire) = link_with::<3>(5);
        assert_eq!(take_seqs(&mut wire), [3, 4, 5]);
        assert_eq!((link.pending(), link.dropped_frames()), (3, 2));
        link.heartbeat(1_000, Some(87), &mut wire).unwrap();
        let [beat] = <[Frame; 1]>::try_from(take_frames(&mut wire)).unwrap();
        assert_eq!((beat.seq, beat.ack_requested), (5, false));
        let want = Heartbeat {
            uptime_ms: 1_000,
            dropped_frames: 2,
            pending_from: 3,
            battery_pct: Some(87),
            settings: Settings::new(),
        };
        assert_eq!(beat.message, Message::Heartbeat(want));
    }

    #[test]
    fn heartbeat_reports_the_settings_given() {
        let (mut link, mut wire) = link_with::<2>(0);
        let mut settings = Settings::new();
        settings
            .push_number(retrofit_protocols::edge::Setting::WarningM, 0.5)
            .unwrap();
        link.heartbeat_reporting(2_000, None, &settings, &mut wire)
            .unwrap();
        let [beat] = <[Frame; 1]>::try_from(take_frames(&mut wire)).unwrap();
        let Message::Heartbeat(hb) = beat.message else {
            panic!("{beat:?}");
        };
        assert_eq!(hb.settings, settings);
    }

    #[test]
    fn time_sync_switches_stamps_to_unix_time() {
        let (mut link, mut wire) = link_with::<2>(0);
        assert_eq!(link.stamp(5_000), Stamp::Uptime(5_000));
        let sync = TimeSync {
            unix_ms: Timestamp::from_millis(1_795_867_200_000),
        };
        let broadcast = Frame::unsequenced(NodeId::BROADCAST, 0, sync);
        link.receive(&broadcast, 5_000, &mut wire).unwrap();
        let later = Timestamp::from_millis(1_795_867_201_500);
        assert_eq!(link.stamp(6_500), Stamp::Unix(later));
    }

    #[test]
    fn frames_for_other_nodes_are_ignored() {
        let (mut link, mut wire) = link_with::<2>(1);
        let other = Frame::unsequenced(NodeId::new(18).unwrap(), 0, Ack::cumulative(1));
        link.receive(&other, 0, &mut wire).unwrap();
        assert_eq!(link.pending(), 1);
    }

    #[test]
    fn config_is_returned_and_acknowledged() {
        let (mut link, mut wire) = link_with::<2>(1);
        take_frames(&mut wire);
        let mut settings = Settings::new();
        settings
            .push(
                ConfigKey::parse("report_interval_s").unwrap(),
                Value::Number(60.0),
            )
            .unwrap();
        let config = Config { settings };
        let frame = Frame::reliable(node(), 41, config.clone());
        assert_eq!(link.receive(&frame, 0, &mut wire), Ok(Some(config)));
        let [ack] = <[Frame; 1]>::try_from(take_frames(&mut wire)).unwrap();
        assert_eq!(ack.message, Message::Ack(Ack::cumulative(41)));
        assert_eq!((ack.node, ack.seq, ack.ack_requested), (node(), 1, false));
    }

    #[test]
    fn only_hello_telemetry_and_event_are_queued() {
        let mut link: NodeLink<2> = NodeLink::new(node(), FAST);
        assert_eq!(
            link.queue(Ack::cumulative(1), 0),
            Err(QueueError::NotQueueable(MessageType::Ack))
        );
        let event = Event {
            stamp: Stamp::Uptime(0),
            name: EventName::parse("high_water").unwrap(),
            severity: Severity::Major,
            state: EventState::Raised,
            detail: 1_500,
        };
        assert_eq!(link.queue(event, 0), Ok(1));
    }

    #[test]
    fn a_frame_too_big_for_its_slot_is_refused_without_using_a_sequence() {
        let mut link: NodeLink<2, 24> = NodeLink::new(node(), FAST);
        assert_eq!(link.queue(reading(1.234), 0), Err(QueueError::SlotTooSmall));
        assert_eq!(link.pending(), 0);
        let mut big: NodeLink<2, 64> = NodeLink::new(node(), FAST);
        assert_eq!(big.queue(reading(1.234), 0), Ok(1));
    }

    /// A UART whose transmitter is broken.
    struct Broken;

    impl embedded_io::ErrorType for Broken {
        type Error = embedded_io::ErrorKind;
    }

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> Result<usize, Self::Error> {
            Err(embedded_io::ErrorKind::Other)
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_keeps_frames_due() {
        let mut link: NodeLink<2> = NodeLink::new(node(), FAST);
        link.queue(reading(1.0), 0).unwrap();
        assert_eq!(
            link.poll(0, &mut Broken),
            Err(embedded_io::ErrorKind::Other)
        );
        assert_eq!(link.next_due_ms(), Some(0));
        let mut wire = StdVec::new();
        assert_eq!(link.poll(10, &mut wire), Ok(1));
        assert_eq!(take_seqs(&mut wire), [1]);
    }

    #[test]
    fn the_link_state_is_small() {
        std::println!("NodeLink<8>: {} B", size_of::<NodeLink<8>>());
        std::println!("NodeLink<8, 128>: {} B", size_of::<NodeLink<8, 128>>());
        assert!(size_of::<NodeLink<8>>() <= 2_560);
        assert!(size_of::<NodeLink<8, 128>>() <= 1_280);
    }
}

//! What the gateway keeps about one configured node between frames: its
//! session (sequence numbers, acknowledgements), its clock, and the raise
//! of each active alarm; and the readings its Telemetry and Event frames
//! become.
//!
//! An alarm's clear carries the `alarm_id` of its raise
//! (`{device}.{event}.{raise seq}`); a clear whose raise this gateway never
//! saw (it restarted in between) falls back to its own sequence number.
//! Pure state: no I/O, no clock.

use std::collections::HashMap;

use retrofit_protocols::edge::{Event, Frame, Heartbeat, Message};
use retrofit_protocols::reading::Reading;
use retrofit_protocols::{EventName, EventState, Id, Timestamp};

use super::clock::NodeClock;
use super::mapping::{self, Origin};
use super::session::{Admission, NodeSession};
use crate::devices::Device;
use crate::normalize::Rejection;

/// One configured node as the gateway knows it.
#[derive(Debug, Default)]
pub struct NodeState {
    pub session: NodeSession,
    clock: NodeClock,
    /// Sequence number of the raise of each active alarm, by event.
    raised: HashMap<EventName, u32>,
}

impl NodeState {
    /// A Hello; a reboot starts a new session and forgets the old clock.
    pub fn hello(&mut self, seq: u32, fingerprint: u64) -> Admission {
        let generation = self.session.generation();
        let admission = self.session.hello(seq, fingerprint);
        if self.session.generation() != generation {
            self.clock = NodeClock::default();
        }
        admission
    }

    /// A Heartbeat received at `now`; returns how many sequence numbers
    /// the node gave up on.
    pub fn heartbeat(&mut self, hb: &Heartbeat, now: Timestamp) -> u32 {
        self.clock.heartbeat(hb.uptime_ms, now);
        self.session.heartbeat(hb.pending_from)
    }

    /// The reading of a Telemetry or Event frame received at `now`; `None`
    /// for other messages.
    pub fn reading(
        &mut self,
        site: &Id,
        device: &Device,
        frame: &Frame,
        now: Timestamp,
    ) -> Option<Result<Reading, Rejection>> {
        let origin = |ts| Origin {
            site,
            device,
            seq: frame.seq,
            ts,
        };
        match &frame.message {
            Message::Telemetry(t) => {
                let ts = self.clock.resolve(t.stamp, now);
                Some(mapping::telemetry(origin(ts), t))
            }
            Message::Event(e) => {
                let raise_seq = self.raise_seq(frame.seq, e);
                let ts = self.clock.resolve(e.stamp, now);
                Some(mapping::event(origin(ts), e, raise_seq))
            }
            _ => None,
        }
    }

    /// The sequence number that identifies `event`'s alarm.
    fn raise_seq(&mut self, seq: u32, event: &Event) -> u32 {
        match event.state {
            EventState::Raised => {
                self.raised.insert(event.name.clone(), seq);
                seq
            }
            EventState::Cleared => self.raised.remove(&event.name).unwrap_or(seq),
            EventState::Instant => seq,
        }
    }
}

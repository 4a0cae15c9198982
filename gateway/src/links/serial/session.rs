//! One node's sequence space as the gateway sees it (EDGE_LINK.md §6):
//! which frames are durable, which are in flight to the journal, and the
//! acknowledgement that follows from it.
//!
//! Invariant: an [`Ack`] built here covers only frames that are durable
//! in the journal, or that the node no longer holds (its Heartbeat's
//! `pending_from`). A resent frame (same sequence number, same bytes) is
//! recognised and never committed twice within a session. Pure state, no
//! I/O, no clock.

use std::collections::BTreeMap;

use retrofit_protocols::edge::Ack;

/// Frames remembered per node, newest sequence numbers kept. A node holds
/// at most 32 unacknowledged frames, so every resend is recognised.
const REMEMBERED_FRAMES: usize = 256;

/// What to do with a reliable frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Not seen in this session: commit it.
    New,
    /// A resend of a frame on its way to the journal: its commit will
    /// acknowledge it.
    InFlight,
    /// A resend of a durable frame: acknowledge again, commit nothing.
    Durable,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    fingerprint: u64,
    durable: bool,
}

/// The state of one node since its last Hello (or since the gateway first
/// heard it).
#[derive(Debug, Default)]
pub struct NodeSession {
    /// Bumped by every reset, so that commits from before a reboot are not
    /// taken for frames of the new sequence space.
    generation: u64,
    /// Every sequence number `<= up_to` is durable or no longer held by the
    /// node. Unknown until a Hello or a Heartbeat tells where the node's
    /// held frames start: until then nothing is acknowledged.
    up_to: Option<u32>,
    frames: BTreeMap<u32, Seen>,
    /// Sequence number and fingerprint of the Hello that began the session.
    hello: Option<(u32, u64)>,
}

impl NodeSession {
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Offers a Telemetry or Event frame.
    pub fn admit(&mut self, seq: u32, fingerprint: u64) -> Admission {
        match self.frames.get(&seq) {
            Some(seen) if seen.fingerprint == fingerprint && seen.durable => Admission::Durable,
            Some(seen) if seen.fingerprint == fingerprint => Admission::InFlight,
            _ => {
                self.frames.insert(
                    seq,
                    Seen {
                        fingerprint,
                        durable: false,
                    },
                );
                // A different frame under a number already counted as done
                // (the node restarted its numbering): done no longer.
                if self.up_to.is_some_and(|u| seq <= u) {
                    self.up_to = Some(seq.saturating_sub(1));
                }
                self.forget_oldest();
                Admission::New
            }
        }
    }

    /// Offers a Hello. The node rebooted, unless this is a resend of the
    /// Hello that began the session and nothing later has arrived since;
    /// a reboot starts a new session at the Hello's number.
    pub fn hello(&mut self, seq: u32, fingerprint: u64) -> Admission {
        let latest = self.frames.keys().next_back().copied();
        if self.hello == Some((seq, fingerprint)) && latest == Some(seq) {
            return self.admit(seq, fingerprint);
        }
        *self = Self {
            generation: self.generation.wrapping_add(1),
            up_to: Some(seq.saturating_sub(1)),
            frames: BTreeMap::new(),
            hello: Some((seq, fingerprint)),
        };
        self.admit(seq, fingerprint)
    }

    /// A Heartbeat: the node holds nothing below `pending_from`. Returns
    /// how many numbers were given up on (neither durable nor held).
    pub fn heartbeat(&mut self, pending_from: u32) -> u32 {
        let floor = pending_from.saturating_sub(1);
        let skipped = match self.up_to {
            Some(up_to) if floor <= up_to => 0,
            Some(up_to) => {
                let durable = self
                    .frames
                    .range(up_to.saturating_add(1)..=floor)
                    .filter(|(_, s)| s.durable)
                    .count();
                (floor - up_to).saturating_sub(durable as u32)
            }
            None => 0,
        };
        self.up_to = Some(self.up_to.map_or(floor, |u| u.max(floor)));
        self.advance();
        skipped
    }

    /// The frame `(seq, fingerprint)` of session `generation` is durable.
    /// Returns false when the session has moved on since.
    pub fn durable(&mut self, generation: u64, seq: u32, fingerprint: u64) -> bool {
        if generation != self.generation {
            return false;
        }
        let seen = self.frames.entry(seq).or_insert(Seen {
            fingerprint,
            durable: false,
        });
        if seen.fingerprint == fingerprint {
            seen.durable = true;
        }
        self.advance();
        self.forget_oldest();
        true
    }

    /// The acknowledgement of everything durable, once the start of the
    /// node's held frames is known.
    pub fn ack(&self) -> Option<Ack> {
        let up_to = self.up_to?;
        let selective = (0..32u32)
            .filter(|bit| {
                up_to
                    .checked_add(bit + 1)
                    .and_then(|seq| self.frames.get(&seq))
                    .is_some_and(|s| s.durable)
            })
            .fold(0u32, |mask, bit| mask | (1 << bit));
        Some(Ack { up_to, selective })
    }

    /// Moves `up_to` over the durable frames that follow it.
    fn advance(&mut self) {
        while let Some(next) = self.up_to.and_then(|u| u.checked_add(1)) {
            match self.frames.get(&next) {
                Some(seen) if seen.durable => self.up_to = Some(next),
                _ => break,
            }
        }
    }

    fn forget_oldest(&mut self) {
        while self.frames.len() > REMEMBERED_FRAMES {
            self.frames.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(s: &mut NodeSession, seq: u32) {
        assert_eq!(s.admit(seq, u64::from(seq)), Admission::New);
        assert!(s.durable(s.generation(), seq, u64::from(seq)));
    }

    #[test]
    fn nothing_is_acknowledged_before_the_start_is_known() {
        let mut s = NodeSession::default();
        commit(&mut s, 40);
        assert_eq!(s.ack(), None, "frames below 40 may still be held");
        assert_eq!(s.heartbeat(39), 0);
        assert_eq!(
            s.ack(),
            Some(Ack {
                up_to: 38,
                selective: 0b10
            }),
            "39 is held"
        );
        assert_eq!(s.heartbeat(41), 1, "39 never arrived");
        assert_eq!(s.ack(), Some(Ack::cumulative(40)));
    }

    #[test]
    fn cumulative_and_selective_acks_cover_only_durable_frames() {
        let mut s = NodeSession::default();
        assert_eq!(s.hello(1, 1), Admission::New);
        assert_eq!(s.ack(), Some(Ack::cumulative(0)), "the Hello is in flight");
        assert!(s.durable(s.generation(), 1, 1));
        for seq in [2, 4, 6] {
            commit(&mut s, seq);
        }
        assert_eq!(s.admit(3, 3), Admission::New);
        assert_eq!(
            s.ack(),
            Some(Ack {
                up_to: 2,
                selective: 0b1010
            }),
            "4 and 6 are durable, 3 is not yet"
        );
        assert!(s.durable(s.generation(), 3, 3));
        assert_eq!(
            s.ack(),
            Some(Ack {
                up_to: 4,
                selective: 0b10
            })
        );
    }

    #[test]
    fn resends_are_recognised_by_number_and_bytes() {
        let mut s = NodeSession::default();
        s.hello(1, 1);
        s.durable(s.generation(), 1, 1);
        assert_eq!(s.admit(2, 22), Admission::New);
        assert_eq!(s.admit(2, 22), Admission::InFlight);
        assert!(s.durable(s.generation(), 2, 22));
        assert_eq!(s.admit(2, 22), Admission::Durable);
        assert_eq!(s.admit(2, 99), Admission::New, "other bytes: a new frame");
        assert_eq!(
            s.ack(),
            Some(Ack::cumulative(1)),
            "2 is not durable again yet"
        );
    }

    #[test]
    fn hello_resets_unless_it_is_a_resend_with_nothing_after_it() {
        let mut s = NodeSession::default();
        s.hello(1, 7);
        let first = s.generation();
        assert_eq!(s.hello(1, 7), Admission::InFlight, "resend of the Hello");
        assert_eq!(s.generation(), first);
        assert!(s.durable(first, 1, 7));
        commit(&mut s, 2);
        assert_eq!(s.hello(1, 7), Admission::New, "frames followed: a reboot");
        assert_ne!(s.generation(), first);
        assert!(!s.durable(first, 2, 2), "commit from before the reboot");
        assert_eq!(s.ack(), Some(Ack::cumulative(0)));
    }

    #[test]
    fn heartbeat_skips_frames_the_node_gave_up_on() {
        let mut s = NodeSession::default();
        s.hello(1, 1);
        s.durable(s.generation(), 1, 1);
        commit(&mut s, 5);
        assert_eq!(s.heartbeat(7), 4, "2, 3, 4 and 6 are lost, 5 is durable");
        assert_eq!(s.ack(), Some(Ack::cumulative(6)));
        assert_eq!(s.heartbeat(3), 0, "never moves back");
        assert_eq!(s.ack(), Some(Ack::cumulative(6)));
    }

    #[test]
    fn memory_is_bounded_whatever_the_node_sends() {
        let mut s = NodeSession::default();
        for seq in (1..100_000u32).step_by(7) {
            s.admit(seq, 0);
            s.durable(s.generation(), seq, 0);
        }
        assert!(s.frames.len() <= REMEMBERED_FRAMES);
        assert_eq!(s.ack(), None, "no Hello, no Heartbeat yet");
        s.heartbeat(u32::MAX);
        assert_eq!(s.ack().map(|a| a.up_to), Some(u32::MAX - 1));
        s.admit(u32::MAX, 1);
        s.durable(s.generation(), u32::MAX, 1);
        assert_eq!(s.ack(), Some(Ack::cumulative(u32::MAX)));
    }
}

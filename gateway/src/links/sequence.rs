//! Lost readings a link can see: gaps in a device's own frame counter
//! (LoRaWAN `fCnt`), counted so that a broker silently dropping QoS 1
//! messages shows up as a number, not as silence.
//!
//! A replay or duplicate (a counter at or shortly below the last one) is
//! not a loss; a counter that falls far back or jumps implausibly far
//! ahead is a device reset or rejoin and starts a new run, and so does the
//! next counter after an announced rejoin (`reset`): a counter restarting
//! at 0 shortly after a low one is otherwise taken for late replays. It
//! never rejects or delays a reading.

use std::collections::HashMap;

use retrofit_protocols::Id;

/// Jumps larger than this are a counter reset, not losses (LoRaWAN's
/// `MAX_FCNT_GAP`).
pub const MAX_GAP: u64 = 16_384;
/// A counter up to this far below the last one is a late duplicate.
const REPLAY_WINDOW: u64 = 64;

/// The last counter seen per device.
#[derive(Debug, Default)]
pub struct SequenceWatch {
    last: HashMap<Id, u64>,
}

impl SequenceWatch {
    /// Records `seq` for `device`; returns how many readings before it
    /// were never seen.
    pub fn observe(&mut self, device: &Id, seq: u64) -> u64 {
        let Some(last) = self.last.get_mut(device) else {
            self.last.insert(device.clone(), seq);
            return 0;
        };
        if seq > *last {
            let gap = seq - *last - 1;
            *last = seq;
            return if gap > MAX_GAP { 0 } else { gap };
        }
        if *last - seq > REPLAY_WINDOW {
            *last = seq;
        }
        0
    }

    /// Forgets `device`'s counter (it rejoined): its next counter starts a
    /// new run, whatever its value.
    pub fn reset(&mut self, device: &Id) {
        self.last.remove(device);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe_all(watch: &mut SequenceWatch, device: &Id, seqs: &[u64]) -> u64 {
        seqs.iter().map(|&s| watch.observe(device, s)).sum()
    }

    fn run(seqs: &[u64]) -> u64 {
        let device = Id::parse("drain-1").unwrap();
        observe_all(&mut SequenceWatch::default(), &device, seqs)
    }

    #[test]
    fn counts_gaps_only() {
        assert_eq!(run(&[5, 6, 7, 8]), 0);
        assert_eq!(run(&[5, 7, 8, 12]), 4);
    }

    #[test]
    fn replays_and_resets_are_not_losses() {
        assert_eq!(run(&[5, 6, 6, 4, 7]), 0, "duplicates and late replays");
        assert_eq!(run(&[9000, 9001, 0, 1, 3]), 1, "rejoin restarts at 0");
        assert_eq!(run(&[1, 2, 1_000_000, 1_000_001]), 0, "implausible jump");
    }

    #[test]
    fn a_reset_starts_a_new_run_below_the_replay_window() {
        let device = Id::parse("drain-1").unwrap();
        let mut watch = SequenceWatch::default();
        assert_eq!(observe_all(&mut watch, &device, &[10, 11, 12]), 0);
        // Without a reset, 0..4 after 12 are late replays: gaps unseen.
        assert_eq!(run(&[10, 11, 12, 0, 1, 2, 4]), 0);
        watch.reset(&device);
        let restart = observe_all(&mut watch, &device, &[0, 1, 2]);
        assert_eq!(restart, 0, "the restart is no loss");
        let after = observe_all(&mut watch, &device, &[4]);
        assert_eq!(after, 1, "gaps count from the new run");
    }

    #[test]
    fn devices_are_counted_apart() {
        let (a, b) = (Id::parse("a").unwrap(), Id::parse("b").unwrap());
        let mut watch = SequenceWatch::default();
        assert_eq!(watch.observe(&a, 1) + watch.observe(&b, 10), 0);
        assert_eq!(watch.observe(&a, 3), 1);
        assert_eq!(watch.observe(&b, 11), 0);
    }
}

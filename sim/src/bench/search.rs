//! The search for the highest rate the gateway holds with no loss: pure
//! arithmetic on what the runs so far showed. Above every held rate it
//! steps up by a factor; once a rate failed it bisects (geometrically)
//! between the highest held and the lowest failed rate until they are
//! close. It never runs anything itself.

/// Factor between offers while every rate has held.
const STEP_UP: f64 = 1.4;
/// The search ends when lowest failed / highest held is below this.
const CLOSE_ENOUGH: f64 = 1.2;
/// Offers are rounded to this many uplinks per second.
const GRAIN: f64 = 500.0;
/// No offer above this.
pub const MAX_OFFER: f64 = 500_000.0;

/// What the runs so far showed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bounds {
    /// Highest offered rate that held.
    pub held: Option<f64>,
    /// Lowest offered rate that did not.
    pub failed: Option<f64>,
}

impl Bounds {
    /// Takes in one run's outcome.
    pub fn record(&mut self, rate: f64, held: bool) {
        if held {
            self.held = Some(self.held.map_or(rate, |h| h.max(rate)));
        } else {
            self.failed = Some(self.failed.map_or(rate, |f| f.min(rate)));
        }
    }

    /// The next rate to offer, or `None` when the search is done.
    pub fn next_offer(&self) -> Option<f64> {
        let offer = match (self.held, self.failed) {
            (None, None) => return None,
            (Some(held), None) => held * STEP_UP,
            (None, Some(failed)) => failed / STEP_UP / STEP_UP,
            (Some(held), Some(failed)) if failed / held < CLOSE_ENOUGH => return None,
            (Some(held), Some(failed)) => (held * failed).sqrt(),
        };
        let offer = ((offer / GRAIN).round() * GRAIN).clamp(GRAIN, MAX_OFFER);
        let fresh = self.held.is_none_or(|h| offer > h) && self.failed.is_none_or(|f| offer < f);
        fresh.then_some(offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_up_then_bisects_then_stops() {
        let mut b = Bounds::default();
        b.record(10_000.0, true);
        b.record(5_000.0, true);
        assert_eq!(b.next_offer(), Some(14_000.0));
        b.record(14_000.0, true);
        assert_eq!(b.next_offer(), Some(19_500.0));
        b.record(19_500.0, false);
        assert_eq!(b.next_offer(), Some(16_500.0));
        b.record(16_500.0, true);
        assert_eq!(b.next_offer(), None, "19.5k / 16.5k is close enough");
    }

    #[test]
    fn steps_down_when_nothing_held_and_stops_at_the_grain() {
        let mut b = Bounds::default();
        assert_eq!(b.next_offer(), None);
        b.record(2_000.0, false);
        assert_eq!(b.next_offer(), Some(1_000.0));
        b.record(500.0, false);
        assert_eq!(b.next_offer(), None, "nothing below the grain");
    }

    #[test]
    fn never_exceeds_the_cap() {
        let mut b = Bounds::default();
        b.record(MAX_OFFER, true);
        assert_eq!(b.next_offer(), None);
    }
}

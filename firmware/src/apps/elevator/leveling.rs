//! Floor counting from two leveling sensors on the car (upper and lower)
//! passing a vane at each landing.
//!
//! Going up, a vane meets the upper sensor first: out -> upper -> both ->
//! lower -> out; going down the order is reversed. "Both" is the door zone
//! of a landing. The decoder remembers on which side of the last vane the
//! car is (at it, above it, below it): arriving at a vane from the side the
//! car left it by is the same landing (re-leveling, a reversal inside the
//! hoistway), arriving from beyond it is the next landing. The floor is
//! clamped to the configured landings. At start the car is taken to be at
//! (or just beside) `start`; a skipped state (sampling too slow) never
//! changes the floor.

use super::motion::Direction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Out,
    Upper,
    Lower,
    Both,
}

impl Zone {
    fn of(upper: bool, lower: bool) -> Self {
        match (upper, lower) {
            (false, false) => Self::Out,
            (true, false) => Self::Upper,
            (false, true) => Self::Lower,
            (true, true) => Self::Both,
        }
    }
}

/// Where the car is relative to the vane of `floor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    At,
    Above,
    Below,
}

/// The decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelingDecoder {
    zone: Option<Zone>,
    side: Side,
    floor: i16,
    lowest: i16,
    highest: i16,
}

impl LevelingDecoder {
    /// Floors `lowest..=highest` (consecutive numbers), starting at `start`.
    pub fn new(lowest: i16, highest: i16, start: i16) -> Self {
        let highest = highest.max(lowest);
        Self {
            zone: None,
            side: Side::At,
            floor: start.clamp(lowest, highest),
            lowest,
            highest,
        }
    }

    pub fn floor(&self) -> i16 {
        self.floor
    }

    /// In a landing's door zone (both sensors on the vane).
    pub fn in_door_zone(&self) -> bool {
        self.zone == Some(Zone::Both)
    }

    /// Feeds the debounced sensors; returns the floor.
    pub fn update(&mut self, upper: bool, lower: bool) -> i16 {
        let next = Zone::of(upper, lower);
        match (self.zone.replace(next), next) {
            (Some(Zone::Upper), Zone::Both) => self.arrive(Direction::Up),
            (Some(Zone::Lower), Zone::Both) => self.arrive(Direction::Down),
            (Some(Zone::Both), Zone::Lower) => self.side = Side::Above,
            (Some(Zone::Both), Zone::Upper) => self.side = Side::Below,
            (_, Zone::Both) => self.side = Side::At,
            _ => {}
        }
        self.floor
    }

    fn arrive(&mut self, moving: Direction) {
        let step = match (moving, self.side) {
            (Direction::Up, Side::Above) => 1,
            (Direction::Down, Side::Below) => -1,
            _ => 0,
        };
        self.side = Side::At;
        self.floor = self
            .floor
            .saturating_add(step)
            .clamp(self.lowest, self.highest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: (bool, bool) = (false, false);
    const UPPER: (bool, bool) = (true, false);
    const LOWER: (bool, bool) = (false, true);
    const BOTH: (bool, bool) = (true, true);
    const UP_ONE: [(bool, bool); 5] = [LOWER, OUT, UPPER, BOTH, BOTH];
    const DOWN_ONE: [(bool, bool); 5] = [UPPER, OUT, LOWER, BOTH, BOTH];

    fn run(decoder: &mut LevelingDecoder, seq: &[(bool, bool)]) -> i16 {
        seq.iter()
            .fold(decoder.floor(), |_, (u, l)| decoder.update(*u, *l))
    }

    #[test]
    fn counts_up_and_down_through_vanes() {
        let mut d = LevelingDecoder::new(1, 10, 1);
        run(&mut d, &[BOTH]);
        run(&mut d, &UP_ONE);
        assert_eq!(run(&mut d, &UP_ONE), 3);
        assert!(d.in_door_zone());
        assert_eq!(run(&mut d, &DOWN_ONE), 2);
        assert_eq!(run(&mut d, &DOWN_ONE), 1);
    }

    #[test]
    fn reversals_and_releveling_do_not_miscount() {
        let mut d = LevelingDecoder::new(1, 10, 4);
        run(&mut d, &[BOTH]);
        // Leaves upward, turns back before the next vane.
        assert_eq!(run(&mut d, &[LOWER, OUT, LOWER, BOTH]), 4);
        // Re-leveling: slips below the vane edge and back.
        assert_eq!(run(&mut d, &[UPPER, BOTH, UPPER, BOTH]), 4);
        // Enters the next vane, backs out, enters it again.
        assert_eq!(run(&mut d, &[LOWER, OUT, UPPER, BOTH]), 5);
        assert_eq!(run(&mut d, &[UPPER, OUT, UPPER, BOTH]), 5);
        assert!(d.in_door_zone());
    }

    #[test]
    fn floor_stays_within_the_landings() {
        let mut d = LevelingDecoder::new(-1, 2, 2);
        run(&mut d, &[BOTH]);
        assert_eq!(run(&mut d, &UP_ONE), 2);
        assert_eq!(LevelingDecoder::new(-1, 2, 9).floor(), 2);
    }

    #[test]
    fn a_skipped_state_changes_nothing() {
        let mut d = LevelingDecoder::new(1, 10, 3);
        assert_eq!(run(&mut d, &[OUT, BOTH, OUT, BOTH]), 3);
    }
}

//! Who wants the lift: residents calling it at random times (a Poisson
//! process), half of them going out from an upper floor to the ground
//! floor and half coming home from the ground floor, in groups of one to
//! three. Seeded, so a run replays; it never looks at the car.

use super::shaft::Shaft;
use crate::nodes::noise::{between, exponential_ms};

/// A rider and where they are going.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rider {
    pub to: i16,
    pub kg: f32,
}

/// A landing call: the floor and the group waiting there.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub from: i16,
    pub riders: Vec<Rider>,
}

/// The call generator.
#[derive(Debug)]
pub struct Traffic {
    shaft: Shaft,
    mean_interval_ms: u64,
    next_call_ms: u64,
    rng: fastrand::Rng,
}

impl Traffic {
    /// First call at `first_call_ms`, then every `mean_interval_ms` on
    /// average.
    pub fn new(shaft: Shaft, first_call_ms: u64, mean_interval_ms: u64, seed: u64) -> Self {
        Self {
            shaft,
            mean_interval_ms: mean_interval_ms.max(1),
            next_call_ms: first_call_ms,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The call made by `now_ms`, if one is due.
    pub fn poll(&mut self, now_ms: u64) -> Option<Call> {
        if now_ms < self.next_call_ms {
            return None;
        }
        self.next_call_ms = now_ms + exponential_ms(&mut self.rng, self.mean_interval_ms);
        Some(self.call())
    }

    fn call(&mut self) -> Call {
        let ground = self.shaft.lowest;
        let upper = self
            .rng
            .i16(ground + 1..=self.shaft.highest.max(ground + 1));
        let (from, to) = if self.rng.bool() {
            (ground, upper)
        } else {
            (upper, ground)
        };
        let riders = (0..self.rng.u8(1..=3))
            .map(|_| Rider {
                to,
                kg: between(&mut self.rng, 45.0, 95.0),
            })
            .collect();
        Call { from, riders }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_link_the_ground_floor_with_upper_floors() {
        let mut traffic = Traffic::new(Shaft::default(), 5_000, 30_000, 9);
        assert_eq!(traffic.poll(4_999), None);
        let mut calls = Vec::new();
        for t in (5_000..3_600_000).step_by(1_000) {
            calls.extend(traffic.poll(t));
        }
        assert!((80..160).contains(&calls.len()), "{}", calls.len());
        for call in &calls {
            let to = call.riders[0].to;
            assert!((call.from == 1) != (to == 1), "{call:?}");
            assert!((1..=3).contains(&call.riders.len()));
        }
        let mut again = Traffic::new(Shaft::default(), 5_000, 30_000, 9);
        assert_eq!(again.poll(5_000).as_ref(), calls.first());
    }
}

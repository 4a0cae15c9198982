//! Hold timers and debouncing: how long a condition has held, and a binary
//! input that changes only after its new value has held long enough.
//! Never looks at a clock; time comes in as `now_ms`.

/// Measures how long a condition has been continuously true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldFor {
    since_ms: Option<u64>,
}

impl HeldFor {
    /// Feeds the condition; returns for how long it has held (0 when false).
    pub fn update(&mut self, condition: bool, now_ms: u64) -> u64 {
        if condition {
            let since = *self.since_ms.get_or_insert(now_ms);
            now_ms.saturating_sub(since)
        } else {
            self.since_ms = None;
            0
        }
    }

    /// Feeds the condition; true once it has held for at least `min_ms`.
    pub fn held_at_least(&mut self, condition: bool, min_ms: u64, now_ms: u64) -> bool {
        let held = self.update(condition, now_ms);
        condition && held >= min_ms
    }
}

/// A binary signal that follows its raw input only once the new value has
/// held for `hold_ms`. The first sample is taken as the initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Debouncer {
    stable: Option<bool>,
    differing: HeldFor,
    hold_ms: u32,
}

impl Debouncer {
    pub const fn new(hold_ms: u32) -> Self {
        Self {
            stable: None,
            differing: HeldFor { since_ms: None },
            hold_ms,
        }
    }

    /// Feeds a raw sample; returns the debounced state.
    pub fn update(&mut self, raw: bool, now_ms: u64) -> bool {
        let stable = *self.stable.get_or_insert(raw);
        let held = self.differing.update(raw != stable, now_ms);
        if raw != stable && held >= u64::from(self.hold_ms) {
            self.stable = Some(raw);
            self.differing = HeldFor::default();
            return raw;
        }
        stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_for_restarts_when_the_condition_drops() {
        let mut held = HeldFor::default();
        assert_eq!(held.update(true, 100), 0);
        assert_eq!(held.update(true, 350), 250);
        assert_eq!(held.update(false, 400), 0);
        assert_eq!(held.update(true, 500), 0);
        assert_eq!(held.update(true, 510), 10);
        assert!(!held.held_at_least(true, 20, 515));
        assert!(held.held_at_least(true, 20, 520));
        assert!(!held.held_at_least(false, 0, 540));
    }

    #[test]
    fn debouncer_ignores_bounces_shorter_than_the_hold() {
        let mut input = Debouncer::new(20);
        assert!(!input.update(false, 0));
        // Contact bounce: 5 ms pulses.
        for t in (10..40).step_by(10) {
            assert!(!input.update(true, t));
            assert!(!input.update(false, t + 5));
        }
        assert!(!input.update(true, 100));
        assert!(!input.update(true, 119));
        assert!(input.update(true, 120));
        assert!(input.update(false, 130));
        assert!(!input.update(false, 150));
    }

    #[test]
    fn zero_hold_follows_the_input() {
        let mut input = Debouncer::new(0);
        assert!(input.update(true, 0));
        assert!(!input.update(false, 0));
    }
}

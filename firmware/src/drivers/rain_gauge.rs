//! Tipping-bucket rain gauge: a reed switch closes once per bucket tip and
//! an interrupt handler calls [`TipCounter::on_tip`].
//!
//! The counter is shared between the ISR and the main loop without locks or
//! `unsafe`: the ISR is its only writer and uses atomic loads and stores
//! only (available even on cores without compare-and-swap), the main loop
//! only reads. Tips closer together than the debounce time are contact
//! bounce and are not counted. The counter wraps at `u32::MAX`; readers take
//! wrapping differences. Conversion to millimetres is the application's.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::sensor::TipCount;

/// Debounce suited to reed switches: even 300 mm/h with 0.2 mm buckets is
/// one tip every 2.4 s.
pub const DEFAULT_DEBOUNCE_MS: u32 = 100;

/// The ISR-side tip counter.
#[derive(Debug)]
pub struct TipCounter {
    tips: AtomicU32,
    /// Low 32 bits of the time of the last counted tip.
    last_tip_ms: AtomicU32,
    debounce_ms: u32,
}

impl TipCounter {
    /// Usable in a `static`.
    pub const fn new(debounce_ms: u32) -> Self {
        Self {
            tips: AtomicU32::new(0),
            last_tip_ms: AtomicU32::new(0),
            debounce_ms,
        }
    }

    /// Called from the interrupt handler on each switch closure; returns
    /// whether the tip was counted. Must have a single caller (the ISR).
    pub fn on_tip(&self, now_ms: u64) -> bool {
        let now = now_ms as u32;
        let tips = self.tips.load(Ordering::Relaxed);
        let since_last = now.wrapping_sub(self.last_tip_ms.load(Ordering::Relaxed));
        if tips != 0 && since_last < self.debounce_ms {
            return false;
        }
        self.last_tip_ms.store(now, Ordering::Relaxed);
        self.tips.store(tips.wrapping_add(1), Ordering::Release);
        true
    }
}

impl TipCount for TipCounter {
    fn tips(&self) -> u32 {
        self.tips.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounces_inside_the_debounce_are_not_tips() {
        let gauge = TipCounter::new(100);
        assert!(gauge.on_tip(1_000));
        assert!(!gauge.on_tip(1_003));
        assert!(!gauge.on_tip(1_099));
        assert!(gauge.on_tip(1_100));
        assert!(gauge.on_tip(5_000));
        assert_eq!(gauge.tips(), 3);
    }

    #[test]
    fn the_first_tip_counts_even_at_time_zero() {
        let gauge = TipCounter::new(100);
        assert!(gauge.on_tip(0));
        assert!(!gauge.on_tip(50));
        assert_eq!(gauge.tips(), 1);
    }

    #[test]
    fn debounce_survives_the_32_bit_millisecond_wrap() {
        let gauge = TipCounter::new(100);
        let near_wrap = u64::from(u32::MAX) - 10;
        assert!(gauge.on_tip(near_wrap));
        assert!(!gauge.on_tip(near_wrap + 50));
        assert!(gauge.on_tip(near_wrap + 200));
    }
}

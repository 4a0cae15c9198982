//! Small signal-processing building blocks shared by drivers and detectors:
//! hold timers, debouncing, median and exponential filters, rolling sums.
//!
//! Everything here is pure state updated with an injected `now_ms`; nothing
//! reads a clock, allocates or does I/O.

mod debounce;
mod filter;
mod window;

pub use debounce::{Debouncer, HeldFor};
pub use filter::{Ema, Median};
pub use window::BucketWindow;

use heapless::Deque;

/// Appends `item`, dropping the oldest entry when the deque is full.
pub fn push_evicting<T, const N: usize>(deque: &mut Deque<T, N>, item: T) {
    if deque.is_full() {
        deque.pop_front();
    }
    // Cannot fail: a slot was freed above when full (a zero-capacity deque
    // keeps nothing by definition).
    let _ = deque.push_back(item);
}

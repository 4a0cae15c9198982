//! Counter semantics for `_total` (and other counter) points: the value
//! published never goes backwards. A raw counter that falls by more than
//! half its modulus rolled over (the difference to the modulus is added);
//! any other fall is a reset of the device (a meter replaced or cleared),
//! and counting goes on from the new raw value.
//!
//! The running total lives in memory: after a gateway restart it starts
//! again from the device's raw counter (docs/DEVIATIONS.md).

/// One counter point's running total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Total {
    last_raw: f64,
    total: f64,
}

/// What an update saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Counted,
    Rollover,
    Reset,
}

impl Total {
    /// The first sample: the total starts at its value.
    pub fn start(raw: f64, value: f64) -> Self {
        Self {
            last_raw: raw,
            total: value,
        }
    }

    /// Adds the sample `raw` (the register value before scaling); `k` turns
    /// raw units into the metric's unit, `modulus` is the counter's
    /// rollover, if it has one.
    pub fn advance(&mut self, raw: f64, k: f64, modulus: Option<f64>) -> Step {
        let (delta, step) = if raw >= self.last_raw {
            (raw - self.last_raw, Step::Counted)
        } else {
            match modulus.filter(|m| self.last_raw - raw > m / 2.0) {
                Some(m) => (m - self.last_raw + raw, Step::Rollover),
                None => (raw, Step::Reset),
            }
        };
        self.last_raw = raw;
        self.total += (delta * k).abs();
        step
    }

    pub fn value(&self) -> f64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollover_and_reset_never_go_backwards() {
        // A tipping bucket: 0.2 mm per tip, u16 counter.
        let mut t = Total::start(65_530.0, 65_530.0 * 0.2);
        let m = Some(65_536.0);
        let start = t.value();
        assert_eq!(t.advance(65_535.0, 0.2, m), Step::Counted);
        assert_eq!(t.advance(4.0, 0.2, m), Step::Rollover);
        assert!((t.value() - start - 10.0 * 0.2).abs() < 1e-9);
        let before = t.value();
        assert_eq!(
            t.advance(3.0, 0.2, m),
            Step::Reset,
            "a small fall is a reset"
        );
        assert!((t.value() - before - 0.6).abs() < 1e-9);
        assert_eq!(t.advance(3.0, 0.2, m), Step::Counted);
        assert!((t.value() - before - 0.6).abs() < 1e-9);
    }

    #[test]
    fn a_float_meter_reset_counts_on() {
        let mut t = Total::start(1500.0, 1_500_000.0);
        assert_eq!(t.advance(0.5, 1000.0, None), Step::Reset);
        assert_eq!(t.value(), 1_500_500.0);
    }
}

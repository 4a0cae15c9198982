//! The charging power curve of a simulated EV: constant power up to 80 %
//! state of charge, then a linear taper to a tenth of it at 100 %, like a
//! lithium-ion pack's CC/CV charge. Pure arithmetic; it never blocks.

/// Where the constant-power phase ends.
const TAPER_FROM_PCT: f64 = 80.0;
/// The power at 100 %, as a share of the maximum.
const TAPER_TO: f64 = 0.1;

/// One vehicle on a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    pub battery_wh: f64,
    pub soc_pct: f64,
    /// The charge at which the driver unplugs.
    pub target_pct: f64,
}

impl Vehicle {
    /// The power drawn now from a connector of `max_w`.
    pub fn power_w(&self, max_w: f64) -> f64 {
        if self.soc_pct < TAPER_FROM_PCT {
            return max_w;
        }
        let through = ((self.soc_pct - TAPER_FROM_PCT) / (100.0 - TAPER_FROM_PCT)).clamp(0.0, 1.0);
        max_w * (1.0 - through * (1.0 - TAPER_TO))
    }

    /// Charges for `seconds` from a connector of `max_w`; the energy
    /// delivered, in Wh.
    pub fn charge(&mut self, max_w: f64, seconds: f64) -> f64 {
        let wh = self.power_w(max_w) * seconds / 3600.0;
        let room = (100.0 - self.soc_pct) / 100.0 * self.battery_wh;
        let wh = wh.min(room).max(0.0);
        self.soc_pct += wh / self.battery_wh * 100.0;
        wh
    }

    pub fn is_done(&self) -> bool {
        self.soc_pct >= self.target_pct
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_is_constant_then_tapers() {
        let mut v = Vehicle {
            battery_wh: 60_000.0,
            soc_pct: 20.0,
            target_pct: 95.0,
        };
        assert_eq!(v.power_w(7_000.0), 7_000.0);
        v.soc_pct = 90.0;
        assert!((v.power_w(7_000.0) - 3_850.0).abs() < 1e-6);
        v.soc_pct = 99.99;
        let wh = v.charge(7_000.0, 3600.0);
        assert!(wh <= 6.0 + 1e-9 && v.soc_pct <= 100.0 + 1e-9);
        assert!(v.is_done());
    }
}

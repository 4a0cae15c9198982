//! Rain over the site: showers, each a bell-shaped burst (intensity rises
//! and falls as a half sine) with a peak in mm/h. A pure function of the
//! simulated time.

/// One shower.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shower {
    pub start_ms: u64,
    pub duration_ms: u64,
    pub peak_mm_h: f32,
}

impl Shower {
    /// Rain intensity at `now_ms`, mm/h.
    pub fn mm_h(&self, now_ms: u64) -> f32 {
        let Some(into) = now_ms.checked_sub(self.start_ms) else {
            return 0.0;
        };
        if into >= self.duration_ms || self.duration_ms == 0 {
            return 0.0;
        }
        let phase = into as f32 / self.duration_ms as f32;
        self.peak_mm_h * (std::f32::consts::PI * phase).sin()
    }

    pub fn end_ms(&self) -> u64 {
        self.start_ms + self.duration_ms
    }
}

/// The showers of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weather {
    pub showers: Vec<Shower>,
}

impl Weather {
    /// Total intensity at `now_ms`, mm/h.
    pub fn mm_h(&self, now_ms: u64) -> f32 {
        self.showers.iter().map(|s| s.mm_h(now_ms)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shower_rises_peaks_and_stops() {
        let shower = Shower {
            start_ms: 1_000,
            duration_ms: 10_000,
            peak_mm_h: 80.0,
        };
        assert_eq!(shower.mm_h(999), 0.0);
        assert!(shower.mm_h(2_000) < shower.mm_h(6_000));
        assert!((shower.mm_h(6_000) - 80.0).abs() < 1e-3);
        assert_eq!(shower.mm_h(11_000), 0.0);
        let weather = Weather {
            showers: vec![shower, shower],
        };
        assert!((weather.mm_h(6_000) - 160.0).abs() < 1e-3);
    }
}

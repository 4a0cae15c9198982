//! What the simulated Modbus devices measure: a drainage well that fills
//! with rain (storms come and go; the well drains back to its base level),
//! the tipping-bucket rain gauge on the same roof (a u16 tip counter that
//! rolls over), and the energy meter on an EV charger circuit (charging
//! sessions of a 7 kW charger). Register layouts are those of the shipped
//! maps `config/modbus/level-4-20ma.toml`, `rain-gauge.toml` and
//! `ddsu666.toml`.
//!
//! Pure: time comes from the caller (`step`), values go into registers.

use std::collections::HashMap;

use super::slaves::Registers;

/// Slave ids of the demo bus (as in `config/demo.toml`).
pub const LEVEL_SLAVE: u8 = 1;
pub const RAIN_SLAVE: u8 = 2;
pub const METER_SLAVE: u8 = 3;

/// Seconds from one storm's start to the next.
const STORM_PERIOD_S: f64 = 120.0;
/// Peak rain intensity, mm/h.
const STORM_PEAK_MM_H: f64 = 60.0;
/// Level of the well between storms, m.
const BASE_LEVEL_M: f64 = 0.3;
/// Level rise per second per mm/h of rain, and drain rate per second.
const FILL_M_PER_MM_H_S: f64 = 0.0006;
const DRAIN_PER_S: f64 = 0.02;
/// Rain per tip of the bucket, mm.
const MM_PER_TIP: f64 = 0.2;
/// The charger: session power, kW; session and idle lengths, s.
const CHARGE_KW: f64 = 7.0;
const SESSION_S: f64 = 90.0;
const IDLE_S: f64 = 30.0;

/// The state of the simulated site.
#[derive(Debug, Clone)]
pub struct SiteModel {
    t_s: f64,
    rain_mm: f64,
    level_m: f64,
    energy_kwh: f64,
}

impl Default for SiteModel {
    fn default() -> Self {
        Self {
            t_s: 0.0,
            // Close to the rollover, so the demo shows the counter wrap.
            rain_mm: 65_534.0 * MM_PER_TIP,
            level_m: BASE_LEVEL_M,
            energy_kwh: 1_234.5,
        }
    }
}

impl SiteModel {
    /// Rain intensity now, mm/h: dry, a triangular storm, dry.
    pub fn rain_mm_h(&self) -> f64 {
        let phase = self.t_s % STORM_PERIOD_S / STORM_PERIOD_S;
        if !(0.2..0.7).contains(&phase) {
            return 0.0;
        }
        let x = (phase - 0.2) / 0.5;
        STORM_PEAK_MM_H * (1.0 - (2.0 * x - 1.0).abs())
    }

    /// Charger power now, kW.
    pub fn power_kw(&self) -> f64 {
        if self.t_s % (SESSION_S + IDLE_S) < SESSION_S {
            CHARGE_KW
        } else {
            0.0
        }
    }

    pub fn level_m(&self) -> f64 {
        self.level_m
    }

    /// Advances the site by `dt_s` seconds.
    pub fn step(&mut self, dt_s: f64) {
        let rain = self.rain_mm_h();
        self.rain_mm += rain * dt_s / 3600.0;
        let fill = FILL_M_PER_MM_H_S * rain;
        let drain = DRAIN_PER_S * (self.level_m - BASE_LEVEL_M);
        self.level_m = (self.level_m + (fill - drain) * dt_s).max(0.0);
        self.energy_kwh += self.power_kw() * dt_s / 3600.0;
        self.t_s += dt_s;
    }

    /// Writes every slave's registers.
    pub fn write(&self, bus: &mut HashMap<u8, Registers>) {
        let level = bus.entry(LEVEL_SLAVE).or_default();
        // Unit code 0 (m), 3 decimals: the level in mm.
        let level_mm = (self.level_m * 1000.0).round().clamp(0.0, 32_767.0) as u16;
        level.set_holding(2, &[0, 3, level_mm]);
        let rain = bus.entry(RAIN_SLAVE).or_default();
        let tips = (self.rain_mm / MM_PER_TIP) as u64 % 65_536;
        let intensity = (self.rain_mm_h() * 10.0).round() as u16;
        rain.set_input(0, &[tips as u16, intensity]);
        let meter = bus.entry(METER_SLAVE).or_default();
        let volts = 229.0 + (self.t_s / 7.0).sin();
        let kw = self.power_kw();
        let amps = kw * 1000.0 / volts;
        meter.set_holding(0x2000, &[floats(volts), floats(amps), floats(kw)].concat());
        meter.set_holding(0x4000, &floats(self.energy_kwh));
    }
}

/// An f32 as two registers, high word first.
fn floats(x: f64) -> Vec<u16> {
    let bits = (x as f32).to_bits();
    vec![(bits >> 16) as u16, bits as u16]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_fills_the_well_and_it_drains_back() {
        let mut m = SiteModel::default();
        let mut peak: f64 = 0.0;
        for _ in 0..90 {
            m.step(1.0);
            peak = peak.max(m.level_m());
        }
        assert!(peak > BASE_LEVEL_M + 0.5, "peak {peak}");
        for _ in 0..300 {
            m.step(1.0);
        }
        let mut bus = HashMap::new();
        m.write(&mut bus);
        assert_eq!(bus[&LEVEL_SLAVE].holding[&3], 3);
        assert!(
            bus[&RAIN_SLAVE].input[&0] < 100,
            "the tip counter rolled over"
        );
        assert_eq!(bus[&METER_SLAVE].holding.len(), 8);
    }
}

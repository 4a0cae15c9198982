//! The battery gauge shared by the battery-powered nodes (drainage,
//! parking): a lithium pack's voltage behind a 2:1 divider on a 12-bit,
//! 3.3 V ADC, read by the firmware's `AnalogPercent` (3.0 V empty, 3.6 V
//! full). Only wiring: the voltage itself is the physics'.

use retrofit_firmware::adc::AdcScale;
use retrofit_firmware::drivers::analog_percent::{AnalogPercent, PercentConfig};

use super::hal::{Probe, SimAdc};
use super::node::BuildError;

/// The gauge reading the divider output `pin_mv`.
pub fn battery_gauge(pin_mv: &Probe<f32>) -> Result<AnalogPercent<SimAdc>, BuildError> {
    let config = PercentConfig {
        adc: AdcScale::new(12, 3_300.0)?,
        divider_ratio: 2.0,
        empty_mv: 3_000.0,
        full_mv: 3_600.0,
    };
    Ok(AnalogPercent::new(
        SimAdc::new(pin_mv.clone(), 12, 3_300.0),
        config,
    )?)
}

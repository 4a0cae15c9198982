//! The LoRaWAN link's device events besides uplinks: `status` (battery
//! and link margin readings), `join` (the frame counter restarts) and
//! `log` (the network server's errors about a device, dead-lettered).
//! Each names a configured device or is refused; none ever panics.

use retrofit_protocols::chirpstack::log::{Log, LogLevel};
use retrofit_protocols::chirpstack::{Join, Status};
use retrofit_protocols::reading::{Body, Metrics, Reading};
use retrofit_protocols::Id;

use super::{LorawanConfig, STATUS_SEQ_BASE};
use crate::clock::now;
use crate::links::subscriber::Handled;
use crate::normalize::{add_if_absent, json_text, Rejection};

impl LorawanConfig {
    /// Normalizes one status event: `battery_pct` and `margin_db`.
    pub fn reading_from_status(&self, topic: &str, payload: &[u8]) -> Result<Reading, Rejection> {
        let status = Status::parse(json_text(payload)?)?;
        let lora = self.device_of(topic, status.device_info.dev_eui)?;
        let mut metrics = Metrics::new();
        if let Some(battery) = status.battery_pct() {
            add_if_absent(&mut metrics, "battery_pct", battery);
        }
        add_if_absent(&mut metrics, "margin_db", f64::from(status.margin));
        let ts = status.time.unwrap_or_else(now);
        let seq = STATUS_SEQ_BASE + u64::try_from(ts.as_millis()).unwrap_or_default();
        Ok(self.reading(&lora.device, ts, seq, Body::Telemetry(metrics)))
    }

    /// The configured device a join event names.
    pub fn rejoined(&self, topic: &str, payload: &[u8]) -> Result<Id, Rejection> {
        let join = Join::parse(json_text(payload)?)?;
        let lora = self.device_of(topic, join.device_info.dev_eui)?;
        Ok(lora.device.id.clone())
    }

    /// A network server log event: its errors become dead letters that
    /// name the device.
    pub fn logged(&self, topic: &str, payload: &[u8]) -> Result<Handled, Rejection> {
        let log = Log::parse(json_text(payload)?)?;
        let lora = self.device_of(topic, log.device_info.dev_eui)?;
        if log.level != LogLevel::Error {
            return Ok(Handled::Nothing);
        }
        Err(Rejection::new(
            "network_server_error",
            format!(
                "device {}: {}: {}",
                lora.device.id, log.code, log.description
            ),
        ))
    }
}

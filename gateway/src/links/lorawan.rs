//! The `lorawan` link: ChirpStack v4 uplink events from the network
//! server's MQTT integration (spec §7), optionally through a shared
//! subscription (`$share/{group}/...`) so several gateways split the load.
//!
//! Each uplink (`event/up`) becomes one telemetry reading of the device its
//! `devEui` is configured for, its metrics from where the device's
//! `metrics_from` says (`vendor`: the payload decoder, or the network
//! server's `object` through a codec map); `seq` = `fCnt`, `ts` = the
//! network server's receive time. A `status` event (the
//! device's DevStatusAns) becomes a reading of `battery_pct` (unless the
//! device is mains powered or cannot measure it) and `margin_db`, with
//! `seq` = 2^32 + its time in ms: above every `fCnt`, so never the same
//! (device, seq) as an uplink, and no frame counter. A `join` event
//! records nothing: the device's frame counter starts a new run, so its
//! restart is neither lost readings nor duplicates. A `log` event at level
//! `ERROR` (a vendor codec that threw, for example) is dead-lettered with
//! the device named (`network_server_error`); other levels record nothing.
//! Other events are not subscribed. Unknown devices and bad payloads are dead-lettered;
//! a probe fault becomes a `sensor_fault` event.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use base64::Engine as _;
use retrofit_protocols::chirpstack::{event_topic_filter, DevEui, DevEuiHasher, EventType, Uplink};
use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Metrics, Reading};
use retrofit_protocols::sensor::{self, DecodeParams, SensorError, SensorFormat};
use retrofit_protocols::{EventName, EventState, Id, KnownEvent, Severity, Source, Timestamp};

use super::subscriber::LeftOut;
use super::subscriber::{Handled, MessageHandler};
use super::{check_device_keys, LinkEntry};
use crate::broker::BrokerConfig;
use crate::clock::now;
use crate::codec_map::{CodecMaps, DeviceCodec};
use crate::config::error::Problems;
use crate::devices::{Device, DeviceEntry};
use crate::normalize::{add_if_absent, json_text, Rejection};

/// A LoRaWAN device and how to decode its payload.
#[derive(Debug, Clone)]
pub struct LorawanDevice {
    pub device: Arc<Device>,
    pub decoder: Option<SensorFormat>,
    pub params: DecodeParams,
    pub codec: DeviceCodec,
}

/// The link's devices by devEui.
pub type DevicesByEui = HashMap<DevEui, LorawanDevice, BuildHasherDefault<DevEuiHasher>>;

/// A validated `lorawan` link.
#[derive(Debug, Clone)]
pub struct LorawanConfig {
    pub id: Id,
    pub broker: BrokerConfig,
    /// ChirpStack application id, or `+` for every application.
    pub application: String,
    /// Shared-subscription group, if the load is split between gateways.
    pub shared_group: Option<Id>,
    pub devices: DevicesByEui,
    pub site: Id,
}

impl LorawanConfig {
    pub fn from_entry(
        entry: LinkEntry,
        gateway: &Id,
        site: &Id,
        devices: &[(&DeviceEntry, &Arc<Device>)],
        codec_maps: &CodecMaps,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        entry.refuse_keys(&["application", "shared_group"], problems);
        let broker = entry.broker(gateway, problems);
        let application = match &entry.application {
            None => "+".to_string(),
            Some(a) if is_application_level(a.get_ref()) => a.get_ref().clone(),
            Some(a) => {
                problems.at(
                    a.span(),
                    "application must be + or an application id ([A-Za-z0-9_-])",
                );
                return None;
            }
        };
        let mut by_eui = DevicesByEui::default();
        for (entry_d, device) in devices {
            let allowed = [
                "dev_eui",
                "decoder",
                "mount_height_m",
                "codec_map",
                "metrics_from",
            ];
            if !check_device_keys(entry_d, &allowed, "dev_eui", problems) {
                continue;
            }
            let Some(eui) = &entry_d.dev_eui else {
                continue;
            };
            let decoder = entry_d
                .decoder
                .as_ref()
                .and_then(|d| match d.get_ref().parse() {
                    Ok(f) => Some(f),
                    Err(e) => {
                        problems.at(d.span(), format!("{e}"));
                        None
                    }
                });
            let mount = entry_d.mount_height_m.as_ref();
            if let Some(m) = mount.filter(|m| !(m.get_ref().is_finite() && *m.get_ref() > 0.0)) {
                problems.at(
                    m.span(),
                    "mount_height_m must be a positive number of metres",
                );
            }
            let params = DecodeParams {
                f_port: 0,
                mount_height_m: mount.map(|m| *m.get_ref()),
            };
            let lora = LorawanDevice {
                device: Arc::clone(device),
                decoder,
                params,
                codec: vendor::device_codec(entry_d, codec_maps, problems),
            };
            if by_eui.insert(*eui.get_ref(), lora).is_some() {
                problems.at(
                    eui.span(),
                    format!("duplicate dev_eui {} on this link", eui.get_ref()),
                );
            }
        }
        Some(Self {
            id: entry.id.into_inner(),
            broker: broker?,
            application,
            shared_group: entry.shared_group.map(|g| g.into_inner()),
            devices: by_eui,
            site: site.clone(),
        })
    }

    /// The topic filters to subscribe to: one per event read.
    pub fn filters(&self) -> Vec<String> {
        EventType::ALL.map(|e| self.filter_of(e)).into()
    }

    /// The uplink topic filter.
    pub fn filter(&self) -> String {
        self.filter_of(EventType::Up)
    }

    fn filter_of(&self, event: EventType) -> String {
        let filter = event_topic_filter(&self.application, event);
        match &self.shared_group {
            Some(group) => format!("$share/{group}/{filter}"),
            None => filter,
        }
    }
}

fn is_application_level(s: &str) -> bool {
    s == "+"
        || (!s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

impl MessageHandler for Arc<LorawanConfig> {
    fn handle(&self, topic: &str, payload: &[u8]) -> Result<Handled, Rejection> {
        self.handle_event(topic, payload)
    }
}

/// The first `seq` of status readings: above every 32-bit `fCnt`.
pub const STATUS_SEQ_BASE: u64 = 1 << 32;

impl LorawanConfig {
    /// What one event means, by the event its topic names.
    pub fn handle_event(&self, topic: &str, payload: &[u8]) -> Result<Handled, Rejection> {
        match EventType::of_topic(topic) {
            Some(EventType::Up) => self.handle_uplink(topic, payload),
            Some(EventType::Status) => self.reading_from_status(topic, payload).map(Handled::from),
            Some(EventType::Join) => self.rejoined(topic, payload).map(Handled::CounterReset),
            Some(EventType::Log) => self.logged(topic, payload),
            None => Err(Rejection::new(
                "unknown_event",
                format!("{topic} is no up, join, status or log event"),
            )),
        }
    }

    /// Normalizes one uplink event (what a codec map left out is dropped:
    /// see [`Self::handle_event`]).
    pub fn reading_from_uplink(&self, topic: &str, payload: &[u8]) -> Result<Reading, Rejection> {
        match self.handle_uplink(topic, payload)? {
            Handled::Reading { reading, .. } => Ok(reading),
            _ => Err(Rejection::new("unknown_event", "no uplink")),
        }
    }

    fn handle_uplink(&self, topic: &str, payload: &[u8]) -> Result<Handled, Rejection> {
        let up = Uplink::parse(json_text(payload)?)?;
        let lora = self.device_of(topic, up.device_info.dev_eui)?;
        let device = &lora.device;
        let seq = u64::from(up.f_cnt);
        let mut left_out = LeftOut::default();
        let body = match self.metrics(&up, lora, &mut left_out) {
            Ok(metrics) => Body::Telemetry(metrics),
            Err(Decoded::Fault(e)) => sensor_fault(device, seq, &e),
            Err(Decoded::Rejected(r)) => return Err(r),
        };
        let reading = self.reading(device, up.time.unwrap_or_else(now), seq, body);
        Ok(Handled::Reading {
            reading,
            frame_counter: true,
            left_out,
        })
    }

    /// The device of `eui`, which must be the devEui of the topic too.
    pub(super) fn device_of(&self, topic: &str, eui: DevEui) -> Result<&LorawanDevice, Rejection> {
        if DevEui::of_uplink_topic(topic) != Some(eui) {
            return Err(Rejection::new(
                "topic_mismatch",
                format!("devEui {eui} is not the one in topic {topic}"),
            ));
        }
        self.devices.get(&eui).ok_or_else(|| {
            Rejection::new(
                "unknown_device",
                format!("no device configured with dev_eui {eui}"),
            )
        })
    }

    pub(super) fn reading(&self, device: &Device, ts: Timestamp, seq: u64, body: Body) -> Reading {
        Reading {
            site: self.site.clone(),
            kind: device.kind,
            device: device.id.clone(),
            connector: None,
            ts,
            seq,
            source: Source::Lorawan,
            body,
        }
    }

    fn metrics(
        &self,
        up: &Uplink<'_>,
        lora: &LorawanDevice,
        left_out: &mut LeftOut,
    ) -> Result<Metrics, Decoded> {
        let mut metrics = match vendor::object_to_read(up, lora) {
            Some(object) => {
                let mapped = vendor::metrics_of_object(object, lora).map_err(Decoded::Rejected)?;
                *left_out = mapped.left_out;
                mapped.metrics
            }
            None => decode_payload(up, lora)?,
        };
        if let Some(rx) = up.best_rx() {
            add_if_absent(&mut metrics, "rssi_dbm", f64::from(rx.rssi));
            add_if_absent(&mut metrics, "snr_db", rx.snr);
        }
        Ok(metrics)
    }
}

/// Why an uplink produced no metrics.
enum Decoded {
    /// The probe reported a fault: an event, not a dead letter.
    Fault(SensorError),
    Rejected(Rejection),
}

fn decode_payload(up: &Uplink<'_>, lora: &LorawanDevice) -> Result<Metrics, Decoded> {
    let format = lora.decoder.ok_or_else(|| {
        Decoded::Rejected(Rejection::new(
            "no_decoder",
            "uplink has no object and the device has no decoder",
        ))
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(up.data.as_bytes())
        .map_err(|e| {
            Decoded::Rejected(Rejection::new(
                "invalid_field",
                format!("data is not base64: {e}"),
            ))
        })?;
    let params = DecodeParams {
        f_port: up.f_port,
        ..lora.params
    };
    match sensor::decode(format, &bytes, &params) {
        Ok(m) => Ok(m.into_iter().collect()),
        Err(e) if e.is_sensor_fault() => Err(Decoded::Fault(e)),
        Err(e) => Err(Decoded::Rejected(Rejection::new(
            e.reason(),
            format!("{format}: {e}"),
        ))),
    }
}

fn sensor_fault(device: &Device, seq: u64, e: &SensorError) -> Body {
    let event = EventName::from(KnownEvent::SensorFault);
    Body::Event(EventBody {
        alarm_id: AlarmId::for_raise(&device.id, &event, seq),
        event,
        severity: Severity::Minor,
        state: EventState::Instant,
        detail: BoundedText::lossy(&e.to_string()),
    })
}

mod events;
mod vendor;

#[cfg(test)]
mod tests;

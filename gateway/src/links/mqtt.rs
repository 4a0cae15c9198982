//! The `mqtt` link: devices that publish JSON to their own topic (spec §7).
//!
//! Payload: `{"metrics":{...}, "ts":"RFC 3339" (optional), "seq":N
//! (optional)}`, or, for a device with a `codec_map`, its vendor's own
//! JSON read through that map. Without `ts` the receive time is used;
//! without `seq`, the timestamp in milliseconds. Each device's topic is
//! configured (no wildcards); anything else is dead-lettered.

use std::collections::HashMap;
use std::sync::Arc;

use retrofit_protocols::flat_object::FlatObject;
use retrofit_protocols::json;
use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::{Id, Source, Timestamp};
use serde::Deserialize;

use super::subscriber::{Handled, LeftOut, MessageHandler};
use super::{check_device_keys, LinkEntry};
use crate::broker::BrokerConfig;
use crate::clock::now;
use crate::codec_map::{self, CodecMaps};
use crate::config::error::Problems;
use crate::devices::{Device, DeviceEntry};
use crate::normalize::{json_text, metrics_from_json, Rejection};
use retrofit_protocols::codec_map::CodecMap;

/// Longest device topic.
const TOPIC_MAX_LEN: usize = 256;

/// A validated `mqtt` link.
#[derive(Debug, Clone)]
pub struct MqttLinkConfig {
    pub id: Id,
    pub broker: BrokerConfig,
    /// Device by the topic it publishes to.
    pub devices: HashMap<String, DirectDevice>,
    pub site: Id,
}

/// A direct device and the map its vendor JSON is read with, if any.
#[derive(Debug, Clone)]
pub struct DirectDevice {
    pub device: Arc<Device>,
    pub map: Option<Arc<CodecMap>>,
}

/// A direct device's payload: unknown keys are refused, `null` `ts` and
/// `seq` are absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevicePayload<'a> {
    #[serde(borrow)]
    metrics: FlatObject<'a>,
    #[serde(default)]
    ts: Option<Timestamp>,
    #[serde(default)]
    seq: Option<u64>,
}

fn is_plain_topic(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= TOPIC_MAX_LEN
        && !t.starts_with('$')
        && !t.contains(['+', '#', '\0'])
        && !t.chars().any(char::is_control)
}

impl MqttLinkConfig {
    pub fn from_entry(
        entry: LinkEntry,
        gateway: &Id,
        site: &Id,
        devices: &[(&DeviceEntry, &Arc<Device>)],
        codec_maps: &CodecMaps,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        entry.refuse_keys(&[], problems);
        let broker = entry.broker(gateway, problems);
        let mut by_topic = HashMap::new();
        for (d, device) in devices {
            if !check_device_keys(d, &["topic", "codec_map"], "topic", problems) {
                continue;
            }
            let Some(topic) = &d.topic else { continue };
            let direct = DirectDevice {
                device: Arc::clone(device),
                map: codec_maps.for_device(d, problems).map,
            };
            if !is_plain_topic(topic.get_ref()) {
                problems.at(
                    topic.span(),
                    "topic must be a plain topic: no wildcards, no $ prefix, at most 256 bytes",
                );
            } else if by_topic.insert(topic.get_ref().clone(), direct).is_some() {
                problems.at(
                    topic.span(),
                    format!("duplicate topic {} on this link", topic.get_ref()),
                );
            }
        }
        Some(Self {
            id: entry.id.into_inner(),
            broker: broker?,
            devices: by_topic,
            site: site.clone(),
        })
    }

    /// One subscription per device topic.
    pub fn filters(&self) -> Vec<String> {
        let mut topics: Vec<String> = self.devices.keys().cloned().collect();
        topics.sort();
        topics
    }

    /// Normalizes one device message (what a codec map left out is
    /// dropped: see [`MessageHandler::handle`]).
    pub fn reading_from_message(&self, topic: &str, payload: &[u8]) -> Result<Reading, Rejection> {
        match self.handle_message(topic, payload)? {
            Handled::Reading { reading, .. } => Ok(reading),
            _ => Err(Rejection::new("unknown_event", "no reading")),
        }
    }

    fn handle_message(&self, topic: &str, payload: &[u8]) -> Result<Handled, Rejection> {
        let text = json_text(payload)?;
        let direct = self.devices.get(topic).ok_or_else(|| {
            Rejection::new(
                "unknown_device",
                format!("no device configured for topic {topic}"),
            )
        })?;
        let (metrics, ts, seq, left_out) = match &direct.map {
            Some(map) => {
                let mapped = codec_map::apply(map, text, None)?;
                (mapped.metrics, None, None, mapped.left_out)
            }
            None => {
                let msg: DevicePayload<'_> = json::from_str(text)?;
                let metrics = metrics_from_json(&msg.metrics)?;
                (metrics, msg.ts, msg.seq, LeftOut::default())
            }
        };
        let ts = ts.unwrap_or_else(now);
        let reading = Reading {
            site: self.site.clone(),
            kind: direct.device.kind,
            device: direct.device.id.clone(),
            connector: None,
            ts,
            seq: seq.unwrap_or(ts.as_millis() as u64),
            source: Source::Mqtt,
            body: Body::Telemetry(metrics),
        };
        Ok(Handled::Reading {
            reading,
            frame_counter: false,
            left_out,
        })
    }
}

impl MessageHandler for Arc<MqttLinkConfig> {
    fn handle(&self, topic: &str, payload: &[u8]) -> Result<Handled, Rejection> {
        self.handle_message(topic, payload)
    }
}

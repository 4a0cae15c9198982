//! Normalized readings and their JSON payloads (spec §5).
//!
//! A [`Reading`] is one thing a device said at one time: telemetry, an
//! event (alarm) or a status change. It is what the journal stores and what
//! every output renders. The JSON form is the normalized MQTT payload,
//! written by serde_json in one allocation.
//! Decoding validates every field; this module never yields a reading that
//! could inject into a topic or a line, and never panics on input.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::event::{EventName, EventState, Severity};
pub use crate::event::{Presence, Source};
use crate::id::Id;
use crate::kind::DeviceKind;
use crate::metric::{MetricName, Value};
use crate::time::{Timestamp, RFC3339_LEN};
use crate::topic::{Channel, Topic};

/// Payload schema version.
pub const SCHEMA_VERSION: u8 = 1;
/// Longest free text (`detail`, `reason`) in a payload, in bytes.
pub const TEXT_MAX_LEN: usize = 1024;
/// Most metrics in one telemetry reading.
pub const METRICS_MAX: usize = 64;

/// Metric values in the order the source gave them; names are unique.
pub type Metrics = Vec<(MetricName, Value)>;

/// One normalized reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub site: Id,
    pub kind: DeviceKind,
    pub device: Id,
    /// OCPP connector for chargers; `None` for the whole device.
    pub connector: Option<u32>,
    /// Time of measurement.
    pub ts: Timestamp,
    /// Per-device sequence; with `ts` it makes the reading unique.
    pub seq: u64,
    pub source: Source,
    pub body: Body,
}

/// What the reading says.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Telemetry(Metrics),
    Event(EventBody),
    Status(StatusBody),
}

/// An alarm or a one-off event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    pub event: EventName,
    pub severity: Severity,
    pub state: EventState,
    /// Stable across raise and clear: `{device}.{event}.{raise seq}`.
    pub alarm_id: AlarmId,
    pub detail: BoundedText,
}

/// A device's presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBody {
    pub status: Presence,
    pub since: Timestamp,
    pub last_seen: Option<Timestamp>,
    pub reason: BoundedText,
}

/// Free text capped at [`TEXT_MAX_LEN`] bytes, without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct BoundedText(String);

impl BoundedText {
    /// Copies `s`, replacing control characters by spaces and cutting it at
    /// the limit on a character boundary. Never fails.
    pub fn lossy(s: &str) -> Self {
        let mut out = String::with_capacity(s.len().min(TEXT_MAX_LEN));
        for c in s.chars() {
            if out.len() + c.len_utf8() > TEXT_MAX_LEN {
                break;
            }
            out.push(if c.is_control() { ' ' } else { c });
        }
        Self(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for BoundedText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() > TEXT_MAX_LEN || s.chars().any(char::is_control) {
            return Err(de::Error::custom("text too long or has control characters"));
        }
        Ok(Self(s))
    }
}

/// An alarm identifier: an [`Id`]-like string that may also contain `.`
/// and `:`, at most 160 bytes. Safe in URLs and topics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AlarmId(String);

/// The text is not a valid alarm identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("alarm id must match [a-z0-9][a-z0-9_.:-]{{0,159}}")]
pub struct BadAlarmId;

impl AlarmId {
    pub const MAX_LEN: usize = 160;

    pub fn parse(s: &str) -> Result<Self, BadAlarmId> {
        let ok_rest = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b);
        crate::id::check_name(
            s,
            Self::MAX_LEN,
            |b| b.is_ascii_lowercase() || b.is_ascii_digit(),
            ok_rest,
        )
        .map_err(|_| BadAlarmId)?;
        Ok(Self(s.into()))
    }

    /// The identifier of the alarm `event` of `device` raised by reading `seq`.
    pub fn for_raise(device: &Id, event: &EventName, seq: u64) -> Self {
        Self(alloc::format!("{device}.{event}.{seq}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AlarmId {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

impl Reading {
    /// The channel this reading is published on.
    pub fn channel(&self) -> Channel {
        match self.body {
            Body::Telemetry(_) => Channel::Telemetry,
            Body::Event(_) => Channel::Event,
            Body::Status(_) => Channel::Status,
        }
    }

    /// The normalized topic of this reading.
    pub fn topic(&self) -> Topic {
        Topic::new(
            self.site.clone(),
            self.kind,
            self.device.clone(),
            self.channel(),
        )
    }

    /// Whether this is an alarm or status change (delivered ahead of a
    /// telemetry backlog, dropped last when the journal is full).
    pub fn is_urgent(&self) -> bool {
        !matches!(self.body, Body::Telemetry(_))
    }

    /// The JSON payload, written by serde_json in one allocation.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len_bound());
        // Writing into a vector cannot fail, nor can serialising a reading.
        if serde_json::to_writer(&mut out, self).is_err() {
            out.clear();
        }
        out
    }

    /// An upper bound of the payload's length: every key and punctuation,
    /// names at their length, numbers at their longest, free text doubled
    /// (in a [`BoundedText`] only `"` and `\` need escaping, into 2 bytes).
    fn json_len_bound(&self) -> usize {
        const HEADER: &str =
            r#"{"v":,"site":"","kind":"","device":"","connector":,"ts":"","seq":,"source":""}"#;
        const METRICS: &str = r#","metrics":{}"#;
        const EVENT: &str = r#","event":"","severity":"","state":"","alarm_id":"","detail":"""#;
        const STATUS: &str = r#","status":"","since":"","last_seen":"","reason":"""#;
        let header = HEADER.len()
            + 3 * NUMBER_MAX_LEN
            + RFC3339_LEN
            + self.site.as_str().len()
            + self.kind.as_str().len()
            + self.device.as_str().len()
            + self.source.as_str().len();
        let body = match &self.body {
            Body::Telemetry(metrics) => {
                METRICS.len() + metrics.iter().map(metric_len_bound).sum::<usize>()
            }
            Body::Event(e) => {
                EVENT.len()
                    + e.event.as_str().len()
                    + e.severity.as_str().len()
                    + e.state.as_str().len()
                    + e.alarm_id.as_str().len()
                    + 2 * e.detail.as_str().len()
            }
            Body::Status(st) => {
                STATUS.len()
                    + st.status.as_str().len()
                    + 2 * RFC3339_LEN
                    + 2 * st.reason.as_str().len()
            }
        };
        header + body
    }

    /// Decodes and validates a JSON payload.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Longest number in a payload: `u64::MAX` has 20 digits, a float such as
/// `-2.2250738585072014e-308` 24 characters.
const NUMBER_MAX_LEN: usize = 24;

/// Upper bound of one metric member `,"name":value`.
fn metric_len_bound((name, value): &(MetricName, Value)) -> usize {
    const MEMBER: &str = r#","":"#;
    let value = match value {
        Value::Number(_) => NUMBER_MAX_LEN,
        Value::Bool(_) => "false".len(),
        Value::Text(t) => t.as_str().len() + 2,
    };
    MEMBER.len() + name.as_str().len() + value
}

/// The payload's members in the order of spec §5; metrics in their order.
impl Serialize for Reading {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("v", &SCHEMA_VERSION)?;
        m.serialize_entry("site", &self.site)?;
        m.serialize_entry("kind", &self.kind)?;
        m.serialize_entry("device", &self.device)?;
        if let Some(c) = self.connector {
            m.serialize_entry("connector", &c)?;
        }
        m.serialize_entry("ts", &self.ts)?;
        m.serialize_entry("seq", &self.seq)?;
        m.serialize_entry("source", &self.source)?;
        match &self.body {
            Body::Telemetry(metrics) => m.serialize_entry("metrics", &MetricsRef(metrics))?,
            Body::Event(e) => {
                m.serialize_entry("event", &e.event)?;
                m.serialize_entry("severity", &e.severity)?;
                m.serialize_entry("state", &e.state)?;
                m.serialize_entry("alarm_id", &e.alarm_id)?;
                m.serialize_entry("detail", &e.detail)?;
            }
            Body::Status(st) => {
                m.serialize_entry("status", &st.status)?;
                m.serialize_entry("since", &st.since)?;
                m.serialize_entry("last_seen", &st.last_seen)?;
                m.serialize_entry("reason", &st.reason)?;
            }
        }
        m.end()
    }
}

/// Metrics as a JSON object, in their order.
struct MetricsRef<'a>(&'a Metrics);

impl Serialize for MetricsRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Deserialises a metrics object, refusing duplicates and oversize maps.
struct MetricsSeed;

impl<'de> Deserialize<'de> for MetricsOwned {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MetricsSeed).map(MetricsOwned)
    }
}

struct MetricsOwned(Metrics);

impl<'de> Visitor<'de> for MetricsSeed {
    type Value = Metrics;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of metric names to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metrics, A::Error> {
        let mut out = Metrics::new();
        while let Some((k, v)) = map.next_entry::<MetricName, Value>()? {
            if out.len() == METRICS_MAX {
                return Err(de::Error::custom("too many metrics"));
            }
            if out.iter().any(|(n, _)| *n == k) {
                return Err(de::Error::custom(alloc::format!("duplicate metric {k}")));
            }
            out.push((k, v));
        }
        Ok(out)
    }
}

/// The flat JSON form, for decoding.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u8,
    site: Id,
    kind: DeviceKind,
    device: Id,
    connector: Option<u32>,
    ts: Timestamp,
    seq: u64,
    source: Source,
    metrics: Option<MetricsOwned>,
    event: Option<EventName>,
    severity: Option<Severity>,
    state: Option<EventState>,
    alarm_id: Option<AlarmId>,
    detail: Option<BoundedText>,
    status: Option<Presence>,
    since: Option<Timestamp>,
    #[serde(default)]
    last_seen: Option<Timestamp>,
    reason: Option<BoundedText>,
}

impl<'de> Deserialize<'de> for Reading {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        if w.v != SCHEMA_VERSION {
            return Err(de::Error::custom("unsupported schema version"));
        }
        let body = match (w.metrics, w.event, w.status) {
            (Some(MetricsOwned(m)), None, None) => Body::Telemetry(m),
            (None, Some(event), None) => Body::Event(EventBody {
                event,
                severity: w
                    .severity
                    .ok_or_else(|| de::Error::missing_field("severity"))?,
                state: w.state.ok_or_else(|| de::Error::missing_field("state"))?,
                alarm_id: w
                    .alarm_id
                    .ok_or_else(|| de::Error::missing_field("alarm_id"))?,
                detail: w.detail.unwrap_or_default(),
            }),
            (None, None, Some(status)) => Body::Status(StatusBody {
                status,
                since: w.since.ok_or_else(|| de::Error::missing_field("since"))?,
                last_seen: w.last_seen,
                reason: w.reason.unwrap_or_default(),
            }),
            _ => {
                return Err(de::Error::custom(
                    "exactly one of metrics, event or status is required",
                ))
            }
        };
        Ok(Reading {
            site: w.site,
            kind: w.kind,
            device: w.device,
            connector: w.connector,
            ts: w.ts,
            seq: w.seq,
            source: w.source,
            body,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    pub(crate) fn sample() -> Reading {
        Reading {
            site: Id::parse("kangfu-garden").unwrap(),
            kind: DeviceKind::Drainage,
            device: Id::parse("drain-w17").unwrap(),
            connector: None,
            ts: "2026-11-28T12:00:00.123Z".parse().unwrap(),
            seq: 1234,
            source: Source::Lorawan,
            body: Body::Telemetry(vec![
                (MetricName::parse("level_m").unwrap(), Value::Number(1.234)),
                (
                    MetricName::parse("battery_pct").unwrap(),
                    Value::Number(87.5),
                ),
                (MetricName::parse("rssi_dbm").unwrap(), Value::Number(-97.0)),
                (MetricName::parse("snr_db").unwrap(), Value::Number(7.5)),
            ]),
        }
    }

    #[test]
    fn telemetry_matches_spec_payload() {
        let json = String::from_utf8(sample().to_json()).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"site":"kangfu-garden","kind":"drainage","device":"drain-w17","ts":"2026-11-28T12:00:00.123Z","seq":1234,"source":"lorawan","metrics":{"level_m":1.234,"battery_pct":87.5,"rssi_dbm":-97,"snr_db":7.5}}"#
        );
        assert_eq!(Reading::from_json(json.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn event_and_status_round_trip() {
        let mut r = sample();
        r.body = Body::Event(EventBody {
            event: EventName::parse("high_water").unwrap(),
            severity: Severity::Major,
            state: EventState::Raised,
            alarm_id: AlarmId::for_raise(&r.device, &EventName::parse("high_water").unwrap(), 7),
            detail: BoundedText::lossy("level 2.1 m\nabove 2.0"),
        });
        let back = Reading::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.channel(), Channel::Event);
        r.body = Body::Status(StatusBody {
            status: Presence::Offline,
            since: r.ts,
            last_seen: None,
            reason: BoundedText::lossy("no uplink for 3 intervals"),
        });
        assert_eq!(Reading::from_json(&r.to_json()).unwrap(), r);
    }

    #[test]
    fn refuses_hostile_payloads() {
        let good = String::from_utf8(sample().to_json()).unwrap();
        let cases = [
            good.replace("drain-w17", "drain/w17"),
            good.replace("drain-w17", "#"),
            good.replace("level_m", "level m"),
            good.replace("1.234", "\"1.234 m\""),
            good.replace("\"v\":1", "\"v\":2"),
            good.replace("\"seq\":1234", "\"seq\":-1"),
            good.replace("12:00:00.123Z", "25:00:00Z"),
            good.replace("\"battery_pct\":87.5", "\"level_m\":2"),
            good.replace("}}", "},\"extra\":1}"),
            good.replace("drainage", "boat"),
            "{".to_string(),
            "null".to_string(),
        ];
        for bad in cases {
            assert!(Reading::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounded_text_is_bounded() {
        let long = "é".repeat(TEXT_MAX_LEN);
        let t = BoundedText::lossy(&long);
        assert!(t.as_str().len() <= TEXT_MAX_LEN);
        assert!(!BoundedText::lossy("a\u{0}b\nc")
            .as_str()
            .contains(['\0', '\n']));
    }
}

/// Properties of the payload over generated readings.
#[cfg(test)]
mod json_tests {
    use super::*;
    use proptest::prelude::*;
    const TS_MAX: i64 = 253_402_300_799_999;

    fn id() -> impl Strategy<Value = Id> {
        "[a-z0-9][a-z0-9_-]{0,63}".prop_map(|s| Id::parse(&s).unwrap())
    }

    fn name() -> impl Strategy<Value = MetricName> {
        "[a-z][a-z0-9_]{0,47}".prop_map(|s| MetricName::parse(&s).unwrap())
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        (0..=TS_MAX).prop_map(Timestamp::from_millis)
    }

    fn one_of<T: Copy + core::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
        proptest::sample::select(all)
    }

    /// Finite numbers, weighted towards the edges of the integer rule and
    /// of the float formatter.
    fn number() -> impl Strategy<Value = f64> {
        use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
        prop_oneof![
            POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
            any::<i64>().prop_map(|i| i as f64),
            (-1_000_000i32..1_000_000).prop_map(f64::from),
            proptest::sample::select(
                &[
                    1e-300,
                    -0.0,
                    0.0,
                    0.1,
                    1e21,
                    -1e21,
                    9.0e15,
                    -9.0e15,
                    8_999_999_999_999_999.0,
                    9_007_199_254_740_993.0,
                    1e16,
                    1e-7,
                    5e-324,
                    f64::MAX,
                    f64::MIN,
                    f64::MIN_POSITIVE,
                    -2.225_073_858_507_201_4e-308,
                ][..]
            ),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            number().prop_map(Value::Number),
            any::<bool>().prop_map(Value::Bool),
            "[a-z0-9][a-z0-9_]{0,31}".prop_map(|s| Value::text(&s).unwrap()),
        ]
    }

    /// Metrics with unique names, in the generated order.
    fn metrics() -> impl Strategy<Value = Metrics> {
        proptest::collection::vec((name(), value()), 0..=METRICS_MAX).prop_map(|mut m| {
            let mut seen = Vec::new();
            m.retain(|(n, _)| {
                let new = !seen.contains(n);
                seen.push(n.clone());
                new
            });
            m
        })
    }

    /// Any text, control characters included (as if built without
    /// [`BoundedText::lossy`]), rich in characters JSON must escape.
    fn raw_text() -> impl Strategy<Value = BoundedText> {
        let special = proptest::sample::select(
            &[
                '"', '\\', '/', '\0', '\u{8}', '\t', '\n', '\u{c}', '\r', '\u{1f}', '\u{7f}', 'é',
                '😀',
            ][..],
        );
        let c = prop_oneof![any::<char>(), special];
        proptest::collection::vec(c, 0..200).prop_map(|cs| BoundedText(cs.into_iter().collect()))
    }

    fn body() -> impl Strategy<Value = Body> {
        let event = (
            name(),
            one_of(Severity::ALL),
            one_of(EventState::ALL),
            "[a-z0-9][a-z0-9_.:-]{0,159}",
            raw_text(),
        )
            .prop_map(|(event, severity, state, alarm_id, detail)| {
                Body::Event(EventBody {
                    event: EventName::parse(event.as_str()).unwrap(),
                    severity,
                    state,
                    alarm_id: AlarmId::parse(&alarm_id).unwrap(),
                    detail,
                })
            });
        let status = (
            one_of(Presence::ALL),
            timestamp(),
            proptest::option::of(timestamp()),
            raw_text(),
        )
            .prop_map(|(status, since, last_seen, reason)| {
                Body::Status(StatusBody {
                    status,
                    since,
                    last_seen,
                    reason,
                })
            });
        prop_oneof![metrics().prop_map(Body::Telemetry), event, status]
    }

    fn reading() -> impl Strategy<Value = Reading> {
        (
            (id(), one_of(&DeviceKind::ALL), id(), any::<Option<u32>>()),
            (timestamp(), any::<u64>(), one_of(Source::ALL), body()),
        )
            .prop_map(
                |((site, kind, device, connector), (ts, seq, source, body))| Reading {
                    site,
                    kind,
                    device,
                    connector,
                    ts,
                    seq,
                    source,
                    body,
                },
            )
    }

    /// The reading with its free text as [`BoundedText::lossy`] leaves it.
    fn with_lossy_text(mut r: Reading) -> Reading {
        match &mut r.body {
            Body::Telemetry(_) => {}
            Body::Event(e) => e.detail = BoundedText::lossy(e.detail.as_str()),
            Body::Status(st) => st.reason = BoundedText::lossy(st.reason.as_str()),
        }
        r
    }

    proptest! {
        #[test]
        fn payload_decodes_to_the_reading_in_one_allocation(r in reading().prop_map(with_lossy_text)) {
            let json = r.to_json();
            prop_assert!(json.len() <= r.json_len_bound(), "{} > {}", json.len(), r.json_len_bound());
            let decoded = Reading::from_json(&json).unwrap();
            // Exact: serde_json is built with `float_roundtrip`.
            prop_assert_eq!(decoded, r);
        }
    }

    #[test]
    fn longest_members_fit_the_bound() {
        let longest_id = Id::parse(&"x".repeat(64)).unwrap();
        let mut r = super::tests::sample();
        r.site = longest_id.clone();
        r.device = longest_id;
        r.kind = DeviceKind::EvCharger;
        r.connector = Some(u32::MAX);
        r.ts = Timestamp::from_millis(TS_MAX);
        r.seq = u64::MAX;
        r.body = Body::Telemetry(
            (0..METRICS_MAX)
                .map(|i| {
                    let name = MetricName::parse(&alloc::format!("m{i:0>47}")).unwrap();
                    (name, Value::Number(-2.225_073_858_507_201_4e-308))
                })
                .collect(),
        );
        let bound = r.json_len_bound();
        let json = r.to_json();
        assert!(json.len() <= bound, "{} > {bound}", json.len());
        assert!(
            json.len() + 64 >= bound,
            "bound {bound} is loose for {}",
            json.len()
        );
        assert_eq!(json.capacity(), bound);
        assert!(
            json.ends_with(b"-2.2250738585072014e-308}}"),
            "{}",
            String::from_utf8_lossy(&json)
        );
    }
}

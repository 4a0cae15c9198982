//! Frame bodies: the compact binary layout of each message (documented in
//! `protocols/EDGE_LINK.md`, which its golden tests keep true).
//!
//! Encoding refuses what decoding would refuse, so every encoded frame
//! decodes; decoding validates every field and must never panic.

use super::cursor::{Reader, Writer};
use super::error::{bad, DecodeError, EncodeError, Field, Problem};
use super::message::{
    Ack, Capabilities, Config, ConfigKey, Event, FirmwareVersion, Heartbeat, Hello, Message,
    MessageType, MetricsError, Stamp, Telemetry, TimeSync,
};
use super::settings::{Settings, SettingsError};
use crate::metric::EnumText;
use crate::{DeviceKind, EventName, EventState, MetricName, Severity, Timestamp, Value};

/// Wire codes, by position: changing an order is a protocol change.
const KINDS: [DeviceKind; 4] = [
    DeviceKind::Elevator,
    DeviceKind::EvCharger,
    DeviceKind::Parking,
    DeviceKind::Drainage,
];
const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::Major,
    Severity::Minor,
    Severity::Info,
];
const STATES: [EventState; 3] = [EventState::Raised, EventState::Cleared, EventState::Instant];

const STAMP_UPTIME: u8 = 0;
const STAMP_UNIX: u8 = 1;

const VALUE_FALSE: u8 = 0;
const VALUE_TRUE: u8 = 1;
const VALUE_I32: u8 = 2;
const VALUE_F32: u8 = 3;
const VALUE_F64: u8 = 4;
const VALUE_ENUM: u8 = 5;

const NO_BATTERY: u8 = 0xFF;

/// Heartbeat extension tags (a tag byte, a length byte, that many bytes).
const EXT_SETTINGS: u8 = 0x01;

pub(crate) fn put_message(w: &mut Writer<'_>, message: &Message) -> Result<(), EncodeError> {
    match message {
        Message::Hello(m) => put_hello(w, m),
        Message::Telemetry(m) => put_telemetry(w, m),
        Message::Event(m) => put_event(w, m),
        Message::Heartbeat(m) => put_heartbeat(w, m),
        Message::Ack(m) => put_ack(w, m),
        Message::TimeSync(m) => put_unix(w, m.unix_ms, "unix time"),
        Message::Config(m) => put_config(w, m),
    }
}

pub(crate) fn read_message(kind: MessageType, r: &mut Reader<'_>) -> Result<Message, DecodeError> {
    Ok(match kind {
        MessageType::Hello => read_hello(r)?.into(),
        MessageType::Telemetry => read_telemetry(r)?.into(),
        MessageType::Event => read_event(r)?.into(),
        MessageType::Heartbeat => read_heartbeat(r)?.into(),
        MessageType::Ack => read_ack(r)?.into(),
        MessageType::TimeSync => TimeSync {
            unix_ms: read_unix(r, "unix time")?,
        }
        .into(),
        MessageType::Config => read_config(r)?.into(),
    })
}

fn code_of<T: PartialEq>(table: &[T], value: &T, field: Field) -> Result<u8, EncodeError> {
    table
        .iter()
        .position(|t| t == value)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or(EncodeError::OutOfRange(field))
}

fn from_code<T: Copy>(table: &[T], r: &mut Reader<'_>, field: Field) -> Result<T, DecodeError> {
    let code = r.u8(field)?;
    table
        .get(usize::from(code))
        .copied()
        .ok_or(bad(field, Problem::OutOfRange))
}

fn put_hello(w: &mut Writer<'_>, m: &Hello) -> Result<(), EncodeError> {
    w.u8(code_of(&KINDS, &m.kind, "device kind")?)?;
    w.u8(m.firmware.major)?;
    w.u8(m.firmware.minor)?;
    w.u16(m.firmware.patch)?;
    w.u16(m.capabilities.0)
}

fn read_hello(r: &mut Reader<'_>) -> Result<Hello, DecodeError> {
    let kind = from_code(&KINDS, r, "device kind")?;
    let firmware = FirmwareVersion {
        major: r.u8("firmware version")?,
        minor: r.u8("firmware version")?,
        patch: r.u16("firmware version")?,
    };
    let capabilities = Capabilities(r.u16("capabilities")?);
    Ok(Hello {
        firmware,
        kind,
        capabilities,
    })
}

fn put_telemetry(w: &mut Writer<'_>, m: &Telemetry) -> Result<(), EncodeError> {
    put_stamp(w, &m.stamp)?;
    let count = m.metrics().len();
    if count == 0 {
        return Err(EncodeError::OutOfRange("metric count"));
    }
    w.u8(u8::try_from(count).map_err(|_| EncodeError::OutOfRange("metric count"))?)?;
    m.metrics().iter().try_for_each(|(name, value)| {
        put_name(w, name.as_str())?;
        put_value(w, value)
    })
}

fn read_telemetry(r: &mut Reader<'_>) -> Result<Telemetry, DecodeError> {
    let mut telemetry = Telemetry::new(read_stamp(r)?);
    let count = r.u8("metric count")?;
    if count == 0 {
        return Err(bad("metric count", Problem::OutOfRange));
    }
    for _ in 0..count {
        let name = MetricName::parse(read_name(r, "metric name")?)
            .map_err(|_| bad("metric name", Problem::BadName))?;
        let value = read_value(r)?;
        telemetry.push(name, value).map_err(|e| match e {
            MetricsError::TooMany => bad("metric count", Problem::OutOfRange),
            MetricsError::Duplicate => bad("metric name", Problem::Duplicate),
        })?;
    }
    Ok(telemetry)
}

fn put_event(w: &mut Writer<'_>, m: &Event) -> Result<(), EncodeError> {
    put_stamp(w, &m.stamp)?;
    put_name(w, m.name.as_str())?;
    w.u8(code_of(&SEVERITIES, &m.severity, "severity")?)?;
    w.u8(code_of(&STATES, &m.state, "event state")?)?;
    w.u32(m.detail)
}

fn read_event(r: &mut Reader<'_>) -> Result<Event, DecodeError> {
    Ok(Event {
        stamp: read_stamp(r)?,
        name: EventName::parse(read_name(r, "event name")?)
            .map_err(|_| bad("event name", Problem::BadName))?,
        severity: from_code(&SEVERITIES, r, "severity")?,
        state: from_code(&STATES, r, "event state")?,
        detail: r.u32("detail")?,
    })
}

fn put_heartbeat(w: &mut Writer<'_>, m: &Heartbeat) -> Result<(), EncodeError> {
    w.u64(m.uptime_ms)?;
    w.u32(m.dropped_frames)?;
    w.u32(m.pending_from)?;
    match m.battery_pct {
        None => w.u8(NO_BATTERY),
        Some(pct @ 0..=100) => w.u8(pct),
        Some(_) => Err(EncodeError::OutOfRange("battery")),
    }?;
    if m.settings.is_empty() {
        return Ok(());
    }
    put_settings_extension(w, &m.settings)
}

/// The settings report: tag, length, then the pairs; the length byte is
/// written once the pairs are.
fn put_settings_extension(w: &mut Writer<'_>, settings: &Settings) -> Result<(), EncodeError> {
    w.u8(EXT_SETTINGS)?;
    let len_at = w.len();
    w.u8(0)?;
    put_pairs(w, settings)?;
    let len = u8::try_from(w.len() - len_at - 1)
        .map_err(|_| EncodeError::OutOfRange("heartbeat settings"))?;
    w.patch(len_at, len);
    Ok(())
}

fn read_heartbeat(r: &mut Reader<'_>) -> Result<Heartbeat, DecodeError> {
    let mut heartbeat = Heartbeat {
        uptime_ms: r.u64("uptime")?,
        dropped_frames: r.u32("dropped frames")?,
        pending_from: r.u32("pending from")?,
        battery_pct: match r.u8("battery")? {
            NO_BATTERY => None,
            pct @ 0..=100 => Some(pct),
            _ => return Err(bad("battery", Problem::OutOfRange)),
        },
        settings: Settings::new(),
    };
    read_heartbeat_extensions(r, &mut heartbeat)?;
    Ok(heartbeat)
}

/// Extensions after the fixed fields, to the end of the body: a tag byte, a
/// length byte and that many bytes each. Unknown tags are skipped, so a
/// later version can add one without breaking this decoder.
fn read_heartbeat_extensions(r: &mut Reader<'_>, hb: &mut Heartbeat) -> Result<(), DecodeError> {
    while !r.is_empty() {
        let tag = r.u8("heartbeat extension")?;
        let len = r.u8("heartbeat extension")?;
        let payload = r.take(usize::from(len), "heartbeat extension")?;
        if tag != EXT_SETTINGS {
            continue;
        }
        if !hb.settings.is_empty() {
            return Err(bad("heartbeat settings", Problem::Duplicate));
        }
        let mut inner = Reader::new(payload);
        hb.settings = read_pairs(&mut inner, "heartbeat settings")?;
    }
    Ok(())
}

/// The selective mask is sent only when it is not zero.
fn put_ack(w: &mut Writer<'_>, m: &Ack) -> Result<(), EncodeError> {
    w.u32(m.up_to)?;
    match m.selective {
        0 => Ok(()),
        mask => w.u32(mask),
    }
}

fn read_ack(r: &mut Reader<'_>) -> Result<Ack, DecodeError> {
    let up_to = r.u32("ack up to")?;
    let selective = if r.is_empty() {
        0
    } else {
        r.u32("ack selective")?
    };
    Ok(Ack { up_to, selective })
}

fn put_config(w: &mut Writer<'_>, m: &Config) -> Result<(), EncodeError> {
    if m.settings.is_empty() {
        return Err(EncodeError::OutOfRange("config settings"));
    }
    put_pairs(w, &m.settings)
}

fn read_config(r: &mut Reader<'_>) -> Result<Config, DecodeError> {
    Ok(Config {
        settings: read_pairs(r, "config settings")?,
    })
}

/// Settings as key/value pairs, back to back.
fn put_pairs(w: &mut Writer<'_>, settings: &Settings) -> Result<(), EncodeError> {
    settings.pairs().iter().try_for_each(|(key, value)| {
        put_name(w, key.as_str())?;
        put_value(w, value)
    })
}

/// Key/value pairs to the end of `r`: at least one, distinct keys, at most
/// `MAX_SETTINGS`; `list` names the list in errors.
fn read_pairs(r: &mut Reader<'_>, list: Field) -> Result<Settings, DecodeError> {
    let mut settings = Settings::new();
    if r.is_empty() {
        return Err(bad(list, Problem::Missing));
    }
    while !r.is_empty() {
        let key = ConfigKey::parse(read_name(r, "config key")?)
            .map_err(|_| bad("config key", Problem::BadName))?;
        let value = read_value(r)?;
        settings.push(key, value).map_err(|e| match e {
            SettingsError::Duplicate => bad("config key", Problem::Duplicate),
            _ => bad(list, Problem::OutOfRange),
        })?;
    }
    Ok(settings)
}

fn put_stamp(w: &mut Writer<'_>, stamp: &Stamp) -> Result<(), EncodeError> {
    match *stamp {
        Stamp::Uptime(ms) => w.u8(STAMP_UPTIME).and_then(|()| w.u64(ms)),
        Stamp::Unix(ts) => w.u8(STAMP_UNIX).and_then(|()| put_unix(w, ts, "stamp")),
    }
}

fn read_stamp(r: &mut Reader<'_>) -> Result<Stamp, DecodeError> {
    match r.u8("stamp")? {
        STAMP_UPTIME => Ok(Stamp::Uptime(r.u64("stamp")?)),
        STAMP_UNIX => Ok(Stamp::Unix(read_unix(r, "stamp")?)),
        _ => Err(bad("stamp", Problem::OutOfRange)),
    }
}

/// Unix milliseconds as u64, limited to what RFC 3339 output supports.
fn put_unix(w: &mut Writer<'_>, ts: Timestamp, field: Field) -> Result<(), EncodeError> {
    match u64::try_from(ts.as_millis()) {
        Ok(ms) if ts.is_in_range() => w.u64(ms),
        _ => Err(EncodeError::OutOfRange(field)),
    }
}

fn read_unix(r: &mut Reader<'_>, field: Field) -> Result<Timestamp, DecodeError> {
    i64::try_from(r.u64(field)?)
        .map(Timestamp::from_millis)
        .ok()
        .filter(|ts| ts.is_in_range())
        .ok_or(bad(field, Problem::OutOfRange))
}

/// A name as one length byte and its ASCII bytes.
fn put_name(w: &mut Writer<'_>, name: &str) -> Result<(), EncodeError> {
    let len = u8::try_from(name.len()).map_err(|_| EncodeError::OutOfRange("name"))?;
    w.u8(len)?;
    w.bytes(name.as_bytes())
}

fn read_name<'a>(r: &mut Reader<'a>, field: Field) -> Result<&'a str, DecodeError> {
    let len = r.u8(field)?;
    let bytes = r.take(usize::from(len), field)?;
    core::str::from_utf8(bytes).map_err(|_| bad(field, Problem::BadName))
}

/// A value as a tag byte and the smallest exact payload: integers that fit
/// i32 as i32, then f32 when exact, else f64.
fn put_value(w: &mut Writer<'_>, value: &Value) -> Result<(), EncodeError> {
    match value {
        Value::Bool(false) => w.u8(VALUE_FALSE),
        Value::Bool(true) => w.u8(VALUE_TRUE),
        Value::Number(x) => put_number(w, *x),
        Value::Text(t) => w.u8(VALUE_ENUM).and_then(|()| put_name(w, t.as_str())),
    }
}

fn put_number(w: &mut Writer<'_>, x: f64) -> Result<(), EncodeError> {
    if !x.is_finite() {
        return Err(EncodeError::OutOfRange("value"));
    }
    let as_i32 = x as i32;
    if f64::from(as_i32) == x {
        w.u8(VALUE_I32)?;
        return w.bytes(&as_i32.to_le_bytes());
    }
    let as_f32 = x as f32;
    if f64::from(as_f32) == x {
        w.u8(VALUE_F32)?;
        return w.bytes(&as_f32.to_le_bytes());
    }
    w.u8(VALUE_F64)?;
    w.bytes(&x.to_le_bytes())
}

fn read_value(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let number = |x: f64| Value::number(x).map_err(|_| bad("value", Problem::OutOfRange));
    match r.u8("value")? {
        VALUE_FALSE => Ok(Value::Bool(false)),
        VALUE_TRUE => Ok(Value::Bool(true)),
        VALUE_I32 => Ok(Value::Number(f64::from(r.u32("value")? as i32))),
        VALUE_F32 => number(f64::from(r.f32("value")?)),
        VALUE_F64 => number(r.f64("value")?),
        VALUE_ENUM => EnumText::parse(read_name(r, "value")?)
            .map(Value::Text)
            .map_err(|_| bad("value", Problem::BadName)),
        _ => Err(bad("value", Problem::OutOfRange)),
    }
}

//! InfluxDB line protocol encoding (spec §6) with complete escaping.
//!
//! One point per reading: measurement = kind (telemetry), `alarm` (events)
//! or `device_status` (status); tags `site`, `device` (`connector`,
//! `kind`, `event` where they apply); timestamp = `ts` in milliseconds.
//! Service levels are written as `sla` points (`write_sla`).
//! Numbers are always floats so a field never changes type; enum metrics
//! are written as a string and as an integer `{name}_code`.
//!
//! The low-level writers escape every special character of their position
//! and refuse what line protocol cannot carry (empty names; tab, CR, LF,
//! NUL or a trailing backslash outside string fields). A reading's IDs,
//! kind and metric and event names are validated where they enter the
//! model (`[a-z0-9_-]` only) and are written as they are, by type; free
//! text always goes through the escaping writers. This module must never
//! emit a line that another parser would split differently.

use alloc::string::String;
use core::fmt::Write as _;

use crate::event::{EventName, EventState, Presence, Severity};
use crate::id::Id;
use crate::kind::DeviceKind;
use crate::metric::{enum_code, MetricName, Value};
use crate::reading::{Body, Reading};

mod sla;
pub use self::sla::{write_sla, SlaPeriod, SlaPoint, SLA_MEASUREMENT};

/// Timestamp precision of every line this module writes.
pub const PRECISION: &str = "ms";

/// A name or tag value line protocol cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("empty name or tag value")]
    Empty,
    #[error("tab, CR, LF, NUL, a trailing backslash or a leading # outside a string field")]
    Unrepresentable,
}

/// How each byte is written in one position of a line: as is, after a
/// backslash, or not at all (tab, CR, LF and NUL end or corrupt a line).
struct Escapes([u8; 256]);

const AS_IS: u8 = 0;
const ESCAPED: u8 = 1;
const REFUSED: u8 = 2;

impl Escapes {
    const fn new(special: &[u8], refuse_controls: bool) -> Self {
        let mut table = [AS_IS; 256];
        table[b'\\' as usize] = ESCAPED;
        let mut i = 0;
        while i < special.len() {
            table[special[i] as usize] = ESCAPED;
            i += 1;
        }
        if refuse_controls {
            table[b'\t' as usize] = REFUSED;
            table[b'\r' as usize] = REFUSED;
            table[b'\n' as usize] = REFUSED;
            table[0] = REFUSED;
        }
        Self(table)
    }
}

/// Measurement names.
const MEASUREMENT: Escapes = Escapes::new(b", ", true);
/// Tag keys, tag values and field keys.
const KEY: Escapes = Escapes::new(b",= ", true);
/// String field values (any text).
const STRING: Escapes = Escapes::new(b"\"", false);

/// Appends `s` escaped for its position in one pass; refuses what the
/// position cannot carry. Special bytes are ASCII, so UTF-8 stays intact.
fn push_escaped(out: &mut String, s: &str, escapes: &Escapes) -> Result<(), LineError> {
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        match escapes.0[usize::from(b)] {
            AS_IS => {}
            ESCAPED => {
                out.push_str(s.get(start..i).unwrap_or_default());
                out.push('\\');
                start = i;
            }
            _ => return Err(LineError::Unrepresentable),
        }
    }
    out.push_str(s.get(start..).unwrap_or_default());
    Ok(())
}

/// Appends a name or tag value: not empty, and not ending in a backslash,
/// which parsers read as an escape of the following separator.
fn push_key(out: &mut String, s: &str, escapes: &Escapes) -> Result<(), LineError> {
    if s.is_empty() {
        return Err(LineError::Empty);
    }
    if s.ends_with('\\') {
        return Err(LineError::Unrepresentable);
    }
    push_escaped(out, s, escapes)
}

/// Names validated where they enter the model (IDs, metric and event
/// names: `[a-z0-9_-]` only) and the model's fixed words: no byte of
/// theirs is special anywhere in a line, so they are written as they are.
trait PlainName {
    fn text(&self) -> &str;
}

macro_rules! plain_names {
    ($($name:ty),+) => {
        $(impl PlainName for $name {
            fn text(&self) -> &str {
                self.as_str()
            }
        })+
    };
}

plain_names!(Id, MetricName, EventName, DeviceKind);

fn push_plain(out: &mut String, name: &impl PlainName) {
    let text = name.text();
    debug_assert!(!text.is_empty() && text.bytes().all(|b| KEY.0[usize::from(b)] == AS_IS));
    out.push_str(text);
}

/// Writes `,key=value` for a tag whose value is a validated name.
fn write_plain_tag(out: &mut String, key: &str, value: &impl PlainName) {
    out.push(',');
    out.push_str(key);
    out.push('=');
    push_plain(out, value);
}

/// Appends an integer without the formatting machinery.
fn push_int(out: &mut String, v: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Writes an escaped measurement name.
pub fn write_measurement(out: &mut String, name: &str) -> Result<(), LineError> {
    // A line starting with `#` is a comment; it cannot be escaped.
    if name.starts_with('#') {
        return Err(LineError::Unrepresentable);
    }
    push_key(out, name, &MEASUREMENT)
}

/// Writes `,key=value` for a tag.
/// On error `out` is left as it was.
pub fn write_tag(out: &mut String, key: &str, value: &str) -> Result<(), LineError> {
    all_or_nothing(out, |out| {
        out.push(',');
        push_key(out, key, &KEY)?;
        out.push('=');
        push_key(out, value, &KEY)
    })
}

/// Runs `write`, undoing what it appended if it fails.
fn all_or_nothing(
    out: &mut String,
    write: impl FnOnce(&mut String) -> Result<(), LineError>,
) -> Result<(), LineError> {
    let mark = out.len();
    let res = write(out);
    if res.is_err() {
        out.truncate(mark);
    }
    res
}

/// Builds the field set of one point, separating fields with commas.
pub struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Fields<'a> {
    /// Starts the field set (writes the separating space).
    pub fn start(out: &'a mut String) -> Self {
        out.push(' ');
        Self { out, first: true }
    }

    fn key(&mut self, key: &str) -> Result<(), LineError> {
        self.separate();
        push_key(self.out, key, &KEY)?;
        self.out.push('=');
        Ok(())
    }

    fn separate(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    pub fn float(&mut self, key: &str, v: f64) -> Result<(), LineError> {
        self.key(key)?;
        self.push_float(v);
        Ok(())
    }

    /// Shortest round-trip form (exponents allowed by line protocol), as
    /// in the JSON payload; non-finite values are excluded by `Value` and
    /// written as 0.
    fn push_float(&mut self, v: f64) {
        let v = if v.is_finite() { v } else { 0.0 };
        self.out.push_str(zmij::Buffer::new().format_finite(v));
    }

    pub fn int(&mut self, key: &str, v: i64) -> Result<(), LineError> {
        self.key(key)?;
        push_int(self.out, v);
        self.out.push('i');
        Ok(())
    }

    pub fn bool(&mut self, key: &str, v: bool) -> Result<(), LineError> {
        self.key(key)?;
        self.push_bool(v);
        Ok(())
    }

    fn push_bool(&mut self, v: bool) {
        self.out.push_str(if v { "true" } else { "false" });
    }

    /// A string field: any text, with `"` and `\` escaped.
    pub fn string(&mut self, key: &str, v: &str) -> Result<(), LineError> {
        self.key(key)?;
        self.push_string(v)
    }

    fn push_string(&mut self, v: &str) -> Result<(), LineError> {
        self.out.push('"');
        push_escaped(self.out, v, &STRING)?;
        self.out.push('"');
        Ok(())
    }

    /// Writes a metric, with its `_code` companion for enum metrics.
    pub fn metric(&mut self, name: &MetricName, v: &Value) -> Result<(), LineError> {
        self.separate();
        push_plain(self.out, name);
        self.out.push('=');
        match v {
            Value::Number(x) => self.push_float(*x),
            Value::Bool(b) => self.push_bool(*b),
            Value::Text(t) => {
                self.push_string(t.as_str())?;
                let key = name.as_str();
                if let Ok(Some(code)) = enum_code(key, t.as_str()) {
                    let mut code_key: heapless::String<64> = heapless::String::new();
                    let _ = write!(code_key, "{key}_code");
                    self.int(&code_key, code)?;
                }
            }
        }
        Ok(())
    }

    /// Ends the point with its timestamp (milliseconds) and a newline.
    pub fn finish(self, ts_ms: i64) {
        self.out.push(' ');
        push_int(self.out, ts_ms);
        self.out.push('\n');
    }
}

fn severity_code(s: Severity) -> i64 {
    Severity::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64
}

fn state_code(s: EventState) -> i64 {
    EventState::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64
}

fn presence_code(p: Presence) -> i64 {
    Presence::ALL.iter().position(|x| *x == p).unwrap_or(0) as i64
}

/// Appends the point of `r` to `out`. On error `out` is left as it was.
pub fn write_reading(out: &mut String, r: &Reading) -> Result<(), LineError> {
    all_or_nothing(out, |out| write_reading_inner(out, r))
}

fn write_reading_inner(out: &mut String, r: &Reading) -> Result<(), LineError> {
    let measurement = match &r.body {
        Body::Telemetry(_) => r.kind.as_str(),
        Body::Event(_) => "alarm",
        Body::Status(_) => "device_status",
    };
    // Fixed words of the model, and names validated where they entered.
    out.push_str(measurement);
    write_plain_tag(out, "site", &r.site);
    write_plain_tag(out, "device", &r.device);
    if let Some(c) = r.connector {
        out.push_str(",connector=");
        push_int(out, c);
    }
    if !matches!(r.body, Body::Telemetry(_)) {
        write_plain_tag(out, "kind", &r.kind);
    }
    if let Body::Event(e) = &r.body {
        write_plain_tag(out, "event", &e.event);
    }
    let mut f = Fields::start(out);
    match &r.body {
        Body::Telemetry(metrics) => {
            if metrics.is_empty() {
                return Err(LineError::Empty);
            }
            for (name, v) in metrics {
                f.metric(name, v)?;
            }
        }
        Body::Event(e) => {
            f.string("state", e.state.as_str())?;
            f.int("state_code", state_code(e.state))?;
            f.int("active", i64::from(e.state == EventState::Raised))?;
            f.string("severity", e.severity.as_str())?;
            f.int("severity_code", severity_code(e.severity))?;
            f.string("alarm_id", e.alarm_id.as_str())?;
            f.string("detail", e.detail.as_str())?;
        }
        Body::Status(s) => {
            f.string("status", s.status.as_str())?;
            f.int("status_code", presence_code(s.status))?;
            f.int("online", i64::from(s.status == Presence::Online))?;
        }
    }
    f.finish(r.ts.as_millis());
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::reading::tests::sample;
    use influxdb_line_protocol::{parse_lines, FieldValue};
    use proptest::prelude::*;
    use std::string::ToString;

    #[test]
    fn encodes_spec_reading() {
        let mut out = String::new();
        write_reading(&mut out, &sample()).unwrap();
        assert_eq!(
            out,
            "drainage,site=kangfu-garden,device=drain-w17 level_m=1.234,battery_pct=87.5,rssi_dbm=-97.0,snr_db=7.5 1795867200123\n"
        );
    }

    #[test]
    fn enum_metrics_get_a_code_field() {
        let mut out = String::new();
        let mut f = Fields::start(&mut out);
        let direction = MetricName::parse("direction").unwrap();
        f.metric(&direction, &Value::text("down").unwrap()).unwrap();
        f.finish(1);
        assert_eq!(out, " direction=\"down\",direction_code=2i 1\n");
    }

    #[test]
    fn refuses_unrepresentable_and_leaves_buffer_intact() {
        let mut out = String::from("x");
        assert_eq!(
            write_tag(&mut out, "a", "b\nc"),
            Err(LineError::Unrepresentable)
        );
        assert_eq!(write_tag(&mut out, "", "b"), Err(LineError::Empty));
        assert_eq!(out, "x");
    }

    fn representable(s: &str) -> bool {
        !s.is_empty() && !s.ends_with('\\') && !s.contains(['\t', '\r', '\n', '\0'])
    }

    fn representable_measurement(s: &str) -> bool {
        representable(s) && !s.starts_with('#')
    }

    proptest! {
        /// Whatever validated names a reading carries, written without the
        /// escaping pass, its line parses back to the same names.
        #[test]
        fn validated_names_parse_back(
            site in "[a-z0-9][a-z0-9_-]{0,63}",
            device in "[a-z0-9][a-z0-9_-]{0,63}",
            metric in "[a-z][a-z0-9_]{0,47}",
            x in proptest::num::f64::NORMAL,
        ) {
            let mut r = sample();
            r.site = Id::parse(&site).unwrap();
            r.device = Id::parse(&device).unwrap();
            r.body = Body::Telemetry(alloc::vec![(MetricName::parse(&metric).unwrap(), Value::Number(x))]);
            let mut line = String::new();
            write_reading(&mut line, &r).unwrap();
            let parsed: std::vec::Vec<_> = parse_lines(&line).collect();
            prop_assert_eq!(parsed.len(), 1, "{}", line);
            let p = parsed.into_iter().next().unwrap().map_err(|e| {
                TestCaseError::fail(std::format!("{e} in {line:?}"))
            })?;
            prop_assert_eq!(p.series.measurement.to_string(), "drainage");
            let tags = p.series.tag_set.unwrap();
            prop_assert_eq!(tags[0].1.to_string(), site);
            prop_assert_eq!(tags[1].1.to_string(), device);
            prop_assert_eq!(p.field_set[0].0.to_string(), metric);
            prop_assert!(matches!(p.field_set[0].1, FieldValue::F64(v) if v == x));
        }

        /// Arbitrary tag values, field keys and string fields parse back to
        /// the same values with an independent parser, or are refused
        /// because line protocol cannot carry them.
        #[test]
        fn parses_back_with_independent_parser(
            measurement in "\\PC{1,12}|[ ,=\\\\\"a-z]{1,12}",
            tag in "\\PC{1,16}|[ ,=\\\\\"a-z]{1,16}",
            key in "\\PC{1,16}|[ ,=\\\\\"a-z]{1,16}",
            text in "\\PC{0,24}|[ ,=\\\\\"\\n\\ta-z]{0,24}|.*",
            num in proptest::num::f64::NORMAL | proptest::num::f64::ZERO,
            ts in 0i64..=253_402_300_799_999,
        ) {
            let mut line = String::new();
            let ok = write_measurement(&mut line, &measurement)
                .and_then(|_| write_tag(&mut line, "tag", &tag))
                .and_then(|_| {
                    let mut f = Fields::start(&mut line);
                    f.string(&key, &text)?;
                    f.float("num", num)?;
                    f.finish(ts);
                    Ok(())
                });
            let expected =
                representable_measurement(&measurement) && representable(&tag) && representable(&key);
            prop_assert_eq!(ok.is_ok(), expected);
            if !expected {
                return Ok(());
            }
            let parsed: std::vec::Vec<_> = parse_lines(&line).collect();
            prop_assert_eq!(parsed.len(), 1, "{}", line);
            let p = parsed.into_iter().next().unwrap().map_err(|e| {
                TestCaseError::fail(std::format!("{e} in {line:?}"))
            })?;
            prop_assert_eq!(p.series.measurement.to_string(), measurement);
            let tags = p.series.tag_set.unwrap();
            prop_assert_eq!(tags.len(), 1);
            prop_assert_eq!(tags[0].1.to_string(), tag);
            prop_assert_eq!(p.field_set.len(), 2);
            prop_assert_eq!(p.field_set[0].0.to_string(), key);
            match &p.field_set[0].1 {
                FieldValue::String(s) => prop_assert_eq!(s.to_string(), text),
                other => prop_assert!(false, "not a string: {other:?}"),
            }
            match &p.field_set[1].1 {
                FieldValue::F64(x) => prop_assert_eq!(*x, num),
                other => prop_assert!(false, "not a float: {other:?}"),
            }
            prop_assert_eq!(p.timestamp, Some(ts));
        }
    }
}

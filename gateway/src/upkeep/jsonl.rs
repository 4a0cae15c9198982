//! The history as JSON lines (docs/UPKEEP.md): one object per line, either
//! a normalized reading of spec §5 (telemetry, event or status, exactly as
//! published) or an operator record tagged `"record"`: `ack`, `arrive` or
//! `maintenance`.
//!
//! Reading refuses a line over 64 KiB, bad JSON, unknown fields and
//! invalid values with the line number, and never panics; writing emits
//! exactly what reading accepts.

use std::io::{BufRead, Read as _, Write};

use retrofit_protocols::reading::Reading;
use retrofit_protocols::MAX_INPUT_BYTES;

use super::history::{History, OperatorRecord};

/// A line of a history file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("cannot read the history: {0}")]
    Io(#[from] std::io::Error),
}

fn bad(line: usize, reason: impl ToString) -> JsonlError {
    JsonlError::Line {
        line,
        reason: reason.to_string(),
    }
}

/// Reads a whole history; blank lines are skipped.
pub fn read(mut input: impl BufRead) -> Result<History, JsonlError> {
    let mut history = History::default();
    let mut buf = Vec::new();
    for line in 1.. {
        buf.clear();
        let limit = MAX_INPUT_BYTES as u64 + 1;
        let n = input.by_ref().take(limit).read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_INPUT_BYTES {
            return Err(bad(line, format!("longer than {MAX_INPUT_BYTES} bytes")));
        }
        let text = buf.trim_ascii();
        if !text.is_empty() {
            parse_line(text, &mut history).map_err(|e| bad(line, e))?;
        }
    }
    Ok(history)
}

/// One line into `history`.
fn parse_line(text: &[u8], history: &mut History) -> Result<(), serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(text)?;
    if value.get("record").is_some() {
        let record: OperatorRecord = serde_json::from_value(value)?;
        if let OperatorRecord::Maintenance(m) = &record {
            if m.to <= m.from {
                return Err(serde::de::Error::custom(
                    "maintenance must end after it starts",
                ));
            }
        }
        history.push(record);
    } else {
        history.readings.push(Reading::from_json(text)?);
    }
    Ok(())
}

/// Writes `history`: readings by `ts`, then the operator records.
pub fn write(history: &History, mut out: impl Write) -> std::io::Result<()> {
    let mut readings: Vec<&Reading> = history.readings.iter().collect();
    readings.sort_by_key(|r| (r.ts, r.seq));
    for r in readings {
        out.write_all(&r.to_json())?;
        out.write_all(b"\n")?;
    }
    let records = history
        .acks
        .iter()
        .map(|v| OperatorRecord::Ack(v.clone()))
        .chain(
            history
                .arrivals
                .iter()
                .map(|v| OperatorRecord::Arrive(v.clone())),
        )
        .chain(
            history
                .maintenance
                .iter()
                .map(|m| OperatorRecord::Maintenance(m.clone())),
        );
    for record in records {
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const READING: &str = r#"{"v":1,"site":"s","kind":"elevator","device":"elev-1","ts":"2026-11-01T01:00:00.000Z","seq":7,"source":"serial","event":"entrapment","severity":"critical","state":"raised","alarm_id":"elev-1.entrapment.7","detail":""}"#;
    const ARRIVE: &str = r#"{"record":"arrive","alarm_id":"elev-1.entrapment.7","at":"2026-11-01T01:20:00.000Z","by":"wang"}"#;
    const MAINTENANCE: &str = r#"{"record":"maintenance","from":"2026-11-02T00:00:00.000Z","to":"2026-11-02T04:00:00.000Z","kind":"elevator","reason":"annual inspection"}"#;

    #[test]
    fn reads_readings_and_records_and_writes_them_back() {
        let text = format!("{READING}\n\n{ARRIVE}\r\n{MAINTENANCE}");
        let h = read(text.as_bytes()).unwrap();
        assert_eq!(h.readings.len(), 1);
        assert_eq!(h.arrivals[0].by.as_str(), "wang");
        assert_eq!(h.maintenance[0].reason.as_str(), "annual inspection");
        let mut out = Vec::new();
        write(&h, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{READING}\n{ARRIVE}\n{MAINTENANCE}\n")
        );
    }

    #[test]
    fn refuses_hostile_lines_with_their_number() {
        let huge = format!(
            "{{\"record\":\"ack\",\"by\":\"{}\"}}",
            "x".repeat(MAX_INPUT_BYTES)
        );
        let cases = [
            ("{", 2),
            ("[]", 2),
            (r#"{"record":"sweep","at":"2026-11-01T00:00:00Z"}"#, 2),
            (&ARRIVE.replace("wang", "wang\\n"), 2),
            (&ARRIVE.replace("2026-11-01T01:20", "2026-11-01T25:20"), 2),
            (&ARRIVE.replace("\"by\"", "\"extra\":1,\"by\""), 2),
            (&ARRIVE.replace("elev-1.entrapment.7", "elev 1/#"), 2),
            (&MAINTENANCE.replace("2026-11-02T04", "2026-11-01T04"), 2),
            (&READING.replace("\"v\":1", "\"v\":9"), 2),
            (&huge, 2),
            ("\u{feff}{}", 2),
        ];
        for (line, at) in cases {
            let text = format!("{READING}\n{line}\n{ARRIVE}\n");
            match read(text.as_bytes()) {
                Err(JsonlError::Line { line, .. }) => assert_eq!(line, at, "{line}"),
                other => panic!("{line:.80}: {other:?}"),
            }
        }
    }
}

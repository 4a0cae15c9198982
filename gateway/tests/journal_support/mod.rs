//! Shared helpers of the journal tests: realistic reading payloads and
//! journal set-up. Never used outside tests.
#![allow(dead_code)]

use std::path::Path;

use retrofit_gateway::journal::{
    Entry, Journal, JournalConfig, JournalReader, Lane, NewRecord, RecordClass,
};
use retrofit_protocols::reading::Reading;

/// A drainage telemetry reading as normalized JSON (about 200 bytes).
pub fn telemetry_payload(seq: u64) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"v":1,"site":"kangfu-garden","kind":"drainage","device":"drain-w{:03}","#,
            r#""ts":"2026-11-28T12:00:00.123Z","seq":{},"source":"lorawan","#,
            r#""metrics":{{"level_m":1.234,"rain_mm_h":12.5,"battery_pct":87.5,"rssi_dbm":-97,"snr_db":7.5}}}}"#
        ),
        seq % 997,
        seq
    )
    .into_bytes()
}

/// An elevator entrapment alarm as normalized JSON.
pub fn event_payload(seq: u64) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"v":1,"site":"kangfu-garden","kind":"elevator","device":"lift-3","#,
            r#""ts":"2026-11-28T12:00:01.000Z","seq":{0},"source":"serial","#,
            r#""event":"entrapment","severity":"critical","state":"raised","#,
            r#""alarm_id":"lift-3.entrapment.{0}","detail":"car stopped between floors 4 and 5"}}"#
        ),
        seq
    )
    .into_bytes()
}

pub fn telemetry(seq: u64) -> NewRecord {
    NewRecord {
        class: RecordClass::Telemetry,
        payload: telemetry_payload(seq),
    }
}

pub fn event(seq: u64) -> NewRecord {
    NewRecord {
        class: RecordClass::Event,
        payload: event_payload(seq),
    }
}

/// The `seq` of a journal payload (a normalized reading).
pub fn seq_of(payload: &[u8]) -> u64 {
    Reading::from_json(payload)
        .expect("journal payload is a reading")
        .seq
}

pub fn config(max_bytes: u64) -> JournalConfig {
    JournalConfig {
        max_bytes,
        ..JournalConfig::default()
    }
}

pub fn open(dir: &Path, outputs: &[&str]) -> Journal {
    Journal::open(dir, &JournalConfig::default(), outputs).unwrap()
}

/// Every entry of `lane` after the reader's cursor, in chunks.
pub fn peek_all(reader: &mut JournalReader, lane: Lane) -> Vec<Entry> {
    reader.peek(lane, usize::MAX).unwrap()
}

pub fn seqs(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|e| seq_of(&e.payload)).collect()
}

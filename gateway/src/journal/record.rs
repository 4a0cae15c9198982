//! What the journal stores: record classes, their delivery lanes, and the
//! entries handed to outputs.
//!
//! This module names things and maps them to their stored codes; it never
//! touches the database. The one place payload bytes are interpreted is
//! [`Entry::reading`], which decodes a reading at most once for all the
//! outputs that take the same entry from the journal's memory.

use std::sync::{Arc, OnceLock};

use retrofit_protocols::reading::Reading;

use crate::journal::JournalError;

/// A delivery lane. Each lane is an independent, totally ordered log with its
/// own positions and its own per-output cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Events (alarms), device status and dead letters: delivered first,
    /// dropped last.
    Urgent,
    /// Telemetry: drained behind the urgent lane at a bounded rate, dropped
    /// first when the journal is full.
    Bulk,
}

impl Lane {
    /// Both lanes, urgent first (the order a forwarder serves them in).
    pub const ALL: [Lane; 2] = [Lane::Urgent, Lane::Bulk];

    /// The stored code of the lane.
    pub(crate) fn code(self) -> i64 {
        match self {
            Lane::Urgent => 0,
            Lane::Bulk => 1,
        }
    }

    pub(crate) fn from_code(code: i64) -> Result<Self, JournalError> {
        match code {
            0 => Ok(Lane::Urgent),
            1 => Ok(Lane::Bulk),
            _ => Err(JournalError::BadCode { what: "lane", code }),
        }
    }

    /// Index into per-lane arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Lane::Urgent => 0,
            Lane::Bulk => 1,
        }
    }

    /// The table holding this lane's records.
    pub(crate) fn table(self) -> &'static str {
        match self {
            Lane::Urgent => "record_urgent",
            Lane::Bulk => "record_bulk",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Urgent => "urgent",
            Lane::Bulk => "bulk",
        }
    }
}

/// What a journal record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordClass {
    Telemetry,
    Event,
    Status,
    DeadLetter,
}

impl RecordClass {
    pub const ALL: [RecordClass; 4] = [
        RecordClass::Telemetry,
        RecordClass::Event,
        RecordClass::Status,
        RecordClass::DeadLetter,
    ];

    /// The lane records of this class travel in.
    pub fn lane(self) -> Lane {
        match self {
            RecordClass::Telemetry => Lane::Bulk,
            RecordClass::Event | RecordClass::Status | RecordClass::DeadLetter => Lane::Urgent,
        }
    }

    pub(crate) fn code(self) -> i64 {
        match self {
            RecordClass::Telemetry => 0,
            RecordClass::Event => 1,
            RecordClass::Status => 2,
            RecordClass::DeadLetter => 3,
        }
    }

    pub(crate) fn from_code(code: i64) -> Result<Self, JournalError> {
        match code {
            0 => Ok(RecordClass::Telemetry),
            1 => Ok(RecordClass::Event),
            2 => Ok(RecordClass::Status),
            3 => Ok(RecordClass::DeadLetter),
            _ => Err(JournalError::BadCode {
                what: "record class",
                code,
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordClass::Telemetry => "telemetry",
            RecordClass::Event => "event",
            RecordClass::Status => "status",
            RecordClass::DeadLetter => "dead_letter",
        }
    }
}

/// A record to append: a class and its JSON payload (a
/// `retrofit_protocols::reading::Reading` or a dead letter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub class: RecordClass,
    pub payload: Vec<u8>,
}

/// A committed record as an output sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub lane: Lane,
    /// Position in the lane: strictly increasing in commit order, never
    /// reused, starting at 1.
    pub pos: u64,
    pub class: RecordClass,
    pub payload: Vec<u8>,
    /// The payload as a reading, once an output asked; shared by the
    /// copies of this entry every output takes from the journal's memory.
    decoded: Arc<OnceLock<Result<Arc<Reading>, String>>>,
}

impl Entry {
    pub fn new(lane: Lane, pos: u64, class: RecordClass, payload: Vec<u8>) -> Self {
        Self {
            lane,
            pos,
            class,
            payload,
            decoded: Arc::default(),
        }
    }

    /// The payload as a reading (decoded on the first call of any copy of
    /// this entry); the decoding error for a payload that is no reading.
    pub fn reading(&self) -> Result<Arc<Reading>, String> {
        self.decoded
            .get_or_init(|| {
                Reading::from_json(&self.payload)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// Two entries are equal when they are the same record; whether either
/// was decoded yet does not matter.
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.lane, self.pos, self.class, &self.payload)
            == (other.lane, other.pos, other.class, &other.payload)
    }
}

impl Eq for Entry {}

/// A count per record class (drops, for instance).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCounts {
    pub telemetry: u64,
    pub event: u64,
    pub status: u64,
    pub dead_letter: u64,
}

impl ClassCounts {
    pub fn get(&self, class: RecordClass) -> u64 {
        match class {
            RecordClass::Telemetry => self.telemetry,
            RecordClass::Event => self.event,
            RecordClass::Status => self.status,
            RecordClass::DeadLetter => self.dead_letter,
        }
    }

    pub fn add(&mut self, class: RecordClass, n: u64) {
        let slot = match class {
            RecordClass::Telemetry => &mut self.telemetry,
            RecordClass::Event => &mut self.event,
            RecordClass::Status => &mut self.status,
            RecordClass::DeadLetter => &mut self.dead_letter,
        };
        *slot = slot.saturating_add(n);
    }

    pub fn total(&self) -> u64 {
        RecordClass::ALL.iter().map(|&c| self.get(c)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_reject_unknown() {
        for class in RecordClass::ALL {
            assert_eq!(RecordClass::from_code(class.code()).unwrap(), class);
        }
        for lane in Lane::ALL {
            assert_eq!(Lane::from_code(lane.code()).unwrap(), lane);
            assert_eq!(Lane::ALL[lane.index()], lane);
        }
        assert!(RecordClass::from_code(4).is_err());
        assert!(RecordClass::from_code(-1).is_err());
        assert!(Lane::from_code(2).is_err());
    }

    #[test]
    fn only_telemetry_is_bulk() {
        let bulk: Vec<_> = RecordClass::ALL
            .into_iter()
            .filter(|c| c.lane() == Lane::Bulk)
            .collect();
        assert_eq!(bulk, vec![RecordClass::Telemetry]);
    }

    #[test]
    fn class_counts_add_per_class() {
        let mut counts = ClassCounts::default();
        counts.add(RecordClass::Telemetry, 3);
        counts.add(RecordClass::DeadLetter, 2);
        counts.add(RecordClass::Telemetry, 1);
        assert_eq!(counts.get(RecordClass::Telemetry), 4);
        assert_eq!(counts.get(RecordClass::DeadLetter), 2);
        assert_eq!(counts.get(RecordClass::Event), 0);
        assert_eq!(counts.total(), 6);
    }
}

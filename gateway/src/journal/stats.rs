//! Journal statistics: depth per output and lane, age of the oldest
//! undelivered entry, size, drops.
//!
//! Everything here is read from the file (the same queries serve the
//! daemon and `retrofit-gateway journal stats` on a read-only open), with
//! indexed lookups only: the cost does not grow with the backlog. This
//! module never writes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::journal::lane_state::{to_u64, LaneState};
use crate::journal::schema;
use crate::journal::{ClassCounts, JournalError, Lane, RecordClass};

/// A snapshot of the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalStats {
    /// Per lane, urgent first.
    pub lanes: [LaneStats; 2],
    /// Per registered output, by name.
    pub outputs: Vec<OutputStats>,
    /// Bytes of the journal files on disk (database and write-ahead log).
    pub file_bytes: u64,
    /// Undelivered and dropped-since-creation records, per class.
    pub drops: ClassCounts,
}

/// Retained records of one lane.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneStats {
    pub lane: Lane,
    /// Records still in the journal (not yet delivered by every output).
    pub records: u64,
    /// Their accounted size (payload plus per-record overhead).
    pub bytes: u64,
    /// Position of the last committed record (0 if none ever).
    pub last_pos: u64,
}

/// One output's backlog.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputStats {
    pub output: String,
    /// Per lane, urgent first.
    pub lanes: [OutputLaneStats; 2],
    /// Records dropped by the size bound before this output delivered them.
    pub drops: ClassCounts,
}

impl OutputStats {
    pub fn lane(&self, lane: Lane) -> &OutputLaneStats {
        &self.lanes[lane.index()]
    }
}

/// One output's backlog in one lane.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputLaneStats {
    pub lane: Lane,
    /// Durable cursor: the last position delivered.
    pub acked_pos: u64,
    /// Entries still to deliver.
    pub depth: u64,
    /// Time since the oldest undelivered entry was committed.
    pub oldest_undelivered_age: Option<Duration>,
}

impl JournalStats {
    pub fn lane(&self, lane: Lane) -> &LaneStats {
        &self.lanes[lane.index()]
    }

    /// Accounted size of everything retained (what `max_bytes` bounds).
    pub fn accounted_bytes(&self) -> u64 {
        self.lanes.iter().map(|l| l.bytes).sum()
    }

    pub fn output(&self, name: &str) -> Option<&OutputStats> {
        self.outputs.iter().find(|o| o.output == name)
    }
}

/// Reads the statistics of the journal in `dir` through `conn`.
/// All figures come from one read transaction, so they agree.
pub fn read(conn: &Connection, dir: &Path, now_ms: i64) -> Result<JournalStats, JournalError> {
    let snapshot = conn.unchecked_transaction()?;
    let retained = [
        retained(&snapshot, Lane::Urgent)?,
        retained(&snapshot, Lane::Bulk)?,
    ];
    let stats = JournalStats {
        lanes: retained.clone().map(|r| r.stats),
        outputs: outputs(&snapshot, &retained, now_ms)?,
        file_bytes: file_bytes(dir),
        drops: drops(&snapshot)?,
    };
    snapshot.finish()?;
    Ok(stats)
}

#[derive(Clone)]
struct Retained {
    stats: LaneStats,
    first_pos: u64,
}

fn retained(conn: &Connection, lane: Lane) -> Result<Retained, JournalError> {
    let state = LaneState::read(conn, lane)?;
    Ok(Retained {
        stats: LaneStats {
            lane,
            records: state.next_pos.saturating_sub(state.first_pos),
            bytes: state.live_bytes,
            last_pos: state.last_pos(),
        },
        first_pos: state.first_pos,
    })
}

fn outputs(
    conn: &Connection,
    retained: &[Retained; 2],
    now_ms: i64,
) -> Result<Vec<OutputStats>, JournalError> {
    let mut stmt = conn.prepare("SELECT DISTINCT output FROM cursor ORDER BY output")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    names
        .into_iter()
        .map(|output| {
            let lanes = [
                output_lane(conn, &output, &retained[0], now_ms)?,
                output_lane(conn, &output, &retained[1], now_ms)?,
            ];
            let drops = output_drops(conn, &output)?;
            Ok(OutputStats {
                output,
                lanes,
                drops,
            })
        })
        .collect()
}

fn output_lane(
    conn: &Connection,
    output: &str,
    retained: &Retained,
    now_ms: i64,
) -> Result<OutputLaneStats, JournalError> {
    let lane = retained.stats.lane;
    let acked: i64 = conn.query_row(
        "SELECT acked_pos FROM cursor WHERE output = ?1 AND lane = ?2",
        params![output, lane.code()],
        |r| r.get(0),
    )?;
    let acked_pos = to_u64(acked, "cursor")?;
    let oldest = acked_pos.saturating_add(1).max(retained.first_pos);
    let depth = retained
        .stats
        .last_pos
        .saturating_add(1)
        .saturating_sub(oldest);
    let committed_ms: Option<i64> = if depth == 0 {
        None
    } else {
        conn.query_row(
            &format!("SELECT committed_ms FROM {} WHERE pos = ?1", lane.table()),
            [i64::try_from(oldest).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )
        .optional()?
    };
    Ok(OutputLaneStats {
        lane,
        acked_pos,
        depth,
        oldest_undelivered_age: committed_ms.map(|ms| age(now_ms, ms)),
    })
}

fn age(now_ms: i64, then_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(now_ms.saturating_sub(then_ms)).unwrap_or(0))
}

fn drops(conn: &Connection) -> Result<ClassCounts, JournalError> {
    let stmt = conn.prepare("SELECT class, dropped FROM drop_count")?;
    counts_of(stmt, [])
}

fn output_drops(conn: &Connection, output: &str) -> Result<ClassCounts, JournalError> {
    let stmt = conn.prepare("SELECT class, dropped FROM output_drop_count WHERE output = ?1")?;
    counts_of(stmt, [output])
}

fn counts_of<P: rusqlite::Params>(
    mut stmt: rusqlite::Statement<'_>,
    params: P,
) -> Result<ClassCounts, JournalError> {
    let mut rows = stmt.query(params)?;
    let mut counts = ClassCounts::default();
    while let Some(row) = rows.next()? {
        counts.add(
            RecordClass::from_code(row.get(0)?)?,
            to_u64(row.get(1)?, "drop count")?,
        );
    }
    Ok(counts)
}

fn file_bytes(dir: &Path) -> u64 {
    let db = schema::file_path(dir);
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    [db, PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

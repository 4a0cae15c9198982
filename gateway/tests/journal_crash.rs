//! Crash safety: a child process appends batches in a loop and reports each
//! committed batch; it is SIGKILLed again and again; afterwards every
//! reported batch is in the journal exactly once, no batch is partial, and
//! the file passes SQLite's integrity check.
//!
//! The child is this test binary re-executed with a filter selecting
//! `crash_child_appender` and the directory in an environment variable.
//! (SIGKILL stops the process, not the machine: power-loss safety rests on
//! `synchronous=FULL`, which this test cannot observe.)

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod journal_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use journal_support::*;
use retrofit_gateway::journal::{
    record_cost, Journal, JournalConfig, Lane, NewRecord, RecordClass,
};

const CHILD_DIR_ENV: &str = "RETROFIT_JOURNAL_CRASH_DIR";
const CHILD_FIRST_BATCH_ENV: &str = "RETROFIT_JOURNAL_CRASH_FIRST_BATCH";
const RECORDS_PER_BATCH: u64 = 20;
const ROUNDS: u64 = 12;
const OUTPUTS: [&str; 2] = ["keeper", "acker"];

/// The child's body; a no-op unless run as the child of the test below.
#[test]
fn crash_child_appender() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let first: u64 = std::env::var(CHILD_FIRST_BATCH_ENV)
        .unwrap()
        .parse()
        .unwrap();
    let journal = Journal::open(Path::new(&dir), &JournalConfig::default(), &OUTPUTS).unwrap();
    let mut acker = journal.reader("acker").unwrap();
    let mut stdout = std::io::stdout().lock();
    for batch in first.. {
        journal.append(&batch_records(batch)).unwrap();
        writeln!(stdout, "committed {batch}").unwrap();
        stdout.flush().unwrap();
        if batch % 3 == 0 {
            if let Some(last) = acker.peek(Lane::Bulk, 50).unwrap().last() {
                acker.ack(Lane::Bulk, last.pos).unwrap();
            }
        }
    }
}

/// One alarm and telemetry; seqs are `batch * RECORDS_PER_BATCH + i`.
fn batch_records(batch: u64) -> Vec<NewRecord> {
    (0..RECORDS_PER_BATCH)
        .map(|i| {
            let seq = batch * RECORDS_PER_BATCH + i;
            if i == 0 {
                event(seq)
            } else {
                telemetry(seq)
            }
        })
        .collect()
}

/// Runs the child until it has reported `commits` batches, SIGKILLs it, and
/// returns every batch it reported (complete lines only).
fn run_and_kill(dir: &Path, first_batch: u64, commits: usize) -> Vec<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_appender",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, dir)
        .env(CHILD_FIRST_BATCH_ENV, first_batch.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let pump = std::thread::spawn(move || loop {
        let mut line = Vec::new();
        match stdout.read_until(b'\n', &mut line) {
            Ok(n) if n > 0 && line.ends_with(b"\n") => {
                let _ = lines_tx.send(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            _ => return,
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reported = Vec::new();
    while reported.len() < commits {
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = lines_rx.recv_timeout(wait).expect("child reports commits");
        reported.extend(parse_commit(&line));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    pump.join().unwrap();
    reported.extend(lines_rx.try_iter().filter_map(|l| parse_commit(&l)));
    reported
}

/// The batch of a `committed N` report; libtest may print its own
/// `test name ... ` before the first one on the same line.
fn parse_commit(line: &str) -> Option<u64> {
    line.split_once("committed ")?.1.trim().parse().ok()
}

#[test]
fn sigkill_never_loses_a_committed_batch() {
    if std::env::var_os(CHILD_DIR_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut reported = BTreeSet::new();
    for round in 0..ROUNDS {
        let batches = run_and_kill(dir.path(), round * 1_000_000, fastrand::usize(1..40));
        assert!(!batches.is_empty());
        reported.extend(batches);
    }

    let journal = Journal::open(dir.path(), &JournalConfig::default(), &OUTPUTS).unwrap();
    let mut keeper = journal.reader("keeper").unwrap();
    let mut records_per_batch: BTreeMap<u64, u64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for lane in Lane::ALL {
        for entry in peek_all(&mut keeper, lane) {
            let seq = seq_of(&entry.payload);
            assert!(seen.insert(seq), "seq {seq} is stored twice");
            assert_eq!(
                entry.class == RecordClass::Event,
                seq.is_multiple_of(RECORDS_PER_BATCH)
            );
            *records_per_batch
                .entry(seq / RECORDS_PER_BATCH)
                .or_default() += 1;
        }
    }
    for batch in &reported {
        assert_eq!(
            records_per_batch.get(batch),
            Some(&RECORDS_PER_BATCH),
            "reported batch {batch} is incomplete"
        );
    }
    for (batch, n) in &records_per_batch {
        assert_eq!(*n, RECORDS_PER_BATCH, "batch {batch} is partial");
    }
    let unreported = records_per_batch
        .keys()
        .filter(|b| !reported.contains(b))
        .count() as u64;
    assert!(
        unreported <= ROUNDS,
        "at most the batch in flight at each kill may be unreported"
    );

    assert_integrity(dir.path());
    let stats = journal.stats().unwrap();
    let stored_bytes: u64 = seen.len() as u64 * record_cost(0)
        + Lane::ALL
            .iter()
            .flat_map(|&l| peek_all(&mut keeper, l))
            .map(|e| e.payload.len() as u64)
            .sum::<u64>();
    assert_eq!(
        stats.accounted_bytes(),
        stored_bytes,
        "accounting matches the file after crashes"
    );
    let acker = stats.output("acker").unwrap().lane(Lane::Bulk).acked_pos;
    assert!(acker > 0 && acker <= stats.lane(Lane::Bulk).last_pos);
}

fn assert_integrity(dir: &Path) {
    let conn = rusqlite::Connection::open(dir.join(retrofit_gateway::journal::FILE_NAME)).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
}

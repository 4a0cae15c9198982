//! Journal throughput: group-committed appends of ~200-byte readings, and
//! the steady-state pipeline (append a batch, read it back, ack it so GC
//! deletes it), for the SQLite journal and, for comparison, the same
//! workload on redb 2.
//!
//! Every commit that stands for "acknowledged to the source" is fsynced in
//! both engines; acks are not (SQLite `synchronous=NORMAL` for the cursor
//! commit, redb `Durability::None`). Run with
//! `cargo bench -p retrofit-gateway --bench journal`.

// A bench is a harness, like a test: a fixture it cannot build must stop it
// loudly, so it may unwrap (clippy.toml allows the same in tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/journal_support/mod.rs"]
mod journal_support;

use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use journal_support::{config, telemetry};
use redb::{Database, Durability, TableDefinition};
use retrofit_gateway::journal::{Journal, JournalReader, Lane, NewRecord};

const BATCH_SIZES: [u64; 3] = [500, 1000, 2000];
const PIPELINE_BATCH: u64 = 1000;

fn batch(n: u64) -> Vec<NewRecord> {
    (0..n).map(telemetry).collect()
}

/// The comparison engine: one table of records by position, one of cursors.
struct RedbJournal {
    db: Database,
    next_pos: u64,
    cursor: u64,
}

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
const CURSORS: TableDefinition<&str, u64> = TableDefinition::new("cursors");

impl RedbJournal {
    fn create(dir: &Path) -> Self {
        let db = Database::create(dir.join("journal.redb")).unwrap();
        Self {
            db,
            next_pos: 1,
            cursor: 0,
        }
    }

    fn append(&mut self, records: &[NewRecord]) {
        let tx = self.db.begin_write().unwrap();
        {
            let mut table = tx.open_table(RECORDS).unwrap();
            for record in records {
                table
                    .insert(self.next_pos, record.payload.as_slice())
                    .unwrap();
                self.next_pos += 1;
            }
        }
        tx.commit().unwrap();
    }

    fn peek(&self, max: usize) -> Vec<(u64, Vec<u8>)> {
        let tx = self.db.begin_read().unwrap();
        let table = tx.open_table(RECORDS).unwrap();
        let entries = table.range(self.cursor + 1..).unwrap().take(max);
        entries
            .map(|e| e.unwrap())
            .map(|(k, v)| (k.value(), v.value().to_vec()))
            .collect()
    }

    fn ack(&mut self, upto: u64) {
        let mut tx = self.db.begin_write().unwrap();
        tx.set_durability(Durability::None);
        {
            tx.open_table(CURSORS).unwrap().insert("out", upto).unwrap();
            tx.open_table(RECORDS)
                .unwrap()
                .retain_in(..=upto, |_, _| false)
                .unwrap();
        }
        tx.commit().unwrap();
        self.cursor = upto;
    }
}

fn sqlite_round(journal: &Journal, reader: &mut JournalReader, records: &[NewRecord]) {
    journal.append(records).unwrap();
    let entries = reader.peek(Lane::Bulk, records.len()).unwrap();
    let last = entries.last().map(|e| e.pos).unwrap();
    reader.ack(Lane::Bulk, black_box(last)).unwrap();
}

fn redb_round(journal: &mut RedbJournal, records: &[NewRecord]) {
    journal.append(records);
    let entries = journal.peek(records.len());
    let last = entries.last().map(|e| e.0).unwrap();
    journal.ack(black_box(last));
}

/// Append only: what intake can commit per second.
fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("journal_append");
    for n in BATCH_SIZES {
        let records = batch(n);
        group.throughput(Throughput::Elements(n));
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), &config(4 << 30), &[]).unwrap();
        group.bench_function(BenchmarkId::new("sqlite", n), |b| {
            b.iter(|| journal.append(&records).unwrap())
        });
        drop(journal);
        let dir = tempfile::tempdir().unwrap();
        let mut redb = RedbJournal::create(dir.path());
        group.bench_function(BenchmarkId::new("redb", n), |b| {
            b.iter(|| redb.append(&records))
        });
    }
    group.finish();
}

/// Append, read back, ack and delete: the steady state with one output.
fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("journal_pipeline");
    let records = batch(PIPELINE_BATCH);
    group.throughput(Throughput::Elements(PIPELINE_BATCH));
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), &config(1 << 30), &["out"]).unwrap();
    let mut reader = journal.reader("out").unwrap();
    group.bench_function(BenchmarkId::new("sqlite", PIPELINE_BATCH), |b| {
        b.iter(|| sqlite_round(&journal, &mut reader, &records))
    });
    let dir = tempfile::tempdir().unwrap();
    let mut redb = RedbJournal::create(dir.path());
    group.bench_function(BenchmarkId::new("redb", PIPELINE_BATCH), |b| {
        b.iter(|| redb_round(&mut redb, &records))
    });
    group.finish();
}

/// Reference: one 16 KiB write and fsync, the floor of any durable commit
/// on this disk (it varies with the other I/O on a shared machine).
fn disk(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("probe")).unwrap();
    let page = vec![0x5a_u8; 16 * 1024];
    c.bench_function("disk/write_16k_fsync", |b| {
        b.iter(|| {
            file.write_all_at(&page, 0).unwrap();
            file.sync_data().unwrap();
        })
    });
}

fn settings() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = settings();
    targets = disk, append, pipeline
}
criterion_main!(benches);

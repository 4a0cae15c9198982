//! The bench's one markdown table: the broker's own one-hop and two-hop
//! ceiling, then one row per gateway run (offered and achieved rate,
//! uplinks the broker acknowledged to the generator, readings on the
//! normalized topic and in the store, gateway CPU seconds
//! per 100,000 uplinks, publish-to-normalized p50/p99, idle and peak RSS).
//! Pure formatting; it never measures.

use std::fmt::Write as _;

use super::ceiling::Ceiling;
use super::rate_run::RunRow;

const HEADER: &str = "| run | offered /s | achieved /s | sent | broker acked | on topic | in store | gateway CPU s / 100k | p50 ms | p99 ms | idle RSS MiB | peak RSS MiB | held |\n\
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
const NONE: &str = "–";

/// Renders the table.
pub fn render(one_hop: &Ceiling, two_hops: &Ceiling, rows: &[RunRow]) -> String {
    let mut out = String::from(HEADER);
    ceiling_row(&mut out, "broker one hop (QoS 1 -> QoS 1)", one_hop);
    ceiling_row(&mut out, "broker two hops (via a QoS 1 relay)", two_hops);
    for row in rows {
        run_row(&mut out, row);
    }
    out
}

fn ceiling_row(out: &mut String, label: &str, c: &Ceiling) {
    let _ = writeln!(
        out,
        "| {label} | {NONE} | {} | {} | {NONE} | {} | {NONE} | {NONE} | {NONE} | {NONE} | {NONE} | {NONE} | {} |",
        grouped(c.rate().round() as u64),
        grouped(c.sent),
        grouped(c.received),
        if c.received == c.sent { "all received" } else { "lost some" },
    );
}

fn run_row(out: &mut String, r: &RunRow) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        r.label,
        grouped(r.offered.round() as u64),
        grouped(r.achieved().round() as u64),
        grouped(r.load.sent),
        grouped(r.load.acknowledged),
        grouped(r.on_topic),
        grouped(r.in_store),
        r.cpu_per_100k().map_or(NONE.into(), |c| format!("{c:.2}")),
        r.p50_ms.map_or(NONE.into(), |v| v.to_string()),
        r.p99_ms.map_or(NONE.into(), |v| v.to_string()),
        mib(r.idle_rss_kib),
        mib(r.peak_rss_kib),
        if r.held() { "yes" } else { "no" },
    );
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::load::LoadReport;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn renders_one_row_per_run_with_every_column() {
        let c = Ceiling {
            sent: 1000,
            received: 1000,
            elapsed: Duration::from_millis(100),
        };
        let row = RunRow {
            label: "2,000/s".into(),
            offered: 2000.0,
            load: LoadReport {
                sent: 1000,
                acknowledged: 1000,
                elapsed: Duration::from_millis(500),
            },
            on_topic: 1000,
            in_store: 1000,
            cpu_seconds: 0.5,
            p50_ms: Some(3),
            p99_ms: Some(12),
            idle_rss_kib: 10240,
            peak_rss_kib: 20480,
        };
        let table = render(&c, &c, &[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(
            lines[2].contains("| 10,000 | 1,000 | – | 1,000 |"),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[4],
            "| 2,000/s | 2,000 | 2,000 | 1,000 | 1,000 | 1,000 | 1,000 | 50.00 | 3 | 12 | 10.0 | 20.0 | yes |"
        );
        let columns = |l: &str| l.matches('|').count();
        assert!(lines.iter().all(|l| columns(l) == columns(lines[0])));
    }
}

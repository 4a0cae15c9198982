//! Service-level reports as text: JSON (the whole report), CSV (one row
//! per site, kind and device figure, §12's names as columns) and an
//! aligned table for a console.
//!
//! Formatting only; it never computes a figure.

use std::io::Write;

use super::sla::{Figures, SlaReport};

/// The report as one JSON object.
pub fn json(report: &SlaReport, out: impl Write) -> serde_json::Result<()> {
    serde_json::to_writer_pretty(out, report)
}

/// Site, kind and device figures as CSV with a header row; `kind` and
/// `device` are empty on the rows that aggregate them.
pub fn csv(report: &SlaReport, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    for f in rows(report) {
        w.serialize(f)?;
    }
    w.flush()?;
    Ok(())
}

fn rows(report: &SlaReport) -> impl Iterator<Item = &Figures> {
    std::iter::once(&report.site)
        .chain(&report.kinds)
        .chain(&report.devices)
}

fn num(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.3}"))
}

/// An aligned table, then the entrapments.
pub fn table(report: &SlaReport) -> String {
    let mut s = format!("service levels {} .. {}\n", report.from, report.to);
    s += &format!(
        "{:<12} {:<24} {:>9} {:>9} {:>8} {:>10} {:>10} {:>9}\n",
        "kind", "device", "avail%", "uptime%", "failures", "mtbf_h", "mttr_h", "data%"
    );
    for f in rows(report) {
        s += &format!(
            "{:<12} {:<24} {:>9} {:>9} {:>8} {:>10} {:>10} {:>9}\n",
            f.kind.map_or("(all)", |k| k.as_str()),
            f.device.as_ref().map_or("(all)", |d| d.as_str()),
            num(f.availability_pct),
            num(f.uptime_pct),
            f.failures,
            num(f.mtbf_h),
            num(f.mttr_h),
            num(f.data_completeness_pct),
        );
    }
    for e in &report.entrapments {
        s += &format!(
            "entrapment {} {}: raised {}, arrival {} s, release {} s, compliant {}\n",
            e.device,
            e.alarm_id.as_str(),
            e.raised_at,
            num(e.arrival_s),
            num(e.release_s),
            e.compliant
                .map_or("pending", |c| if c { "yes" } else { "no" }),
        );
    }
    s
}

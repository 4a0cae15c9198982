//! The monthly upkeep report for the operator and the property manager:
//! a self-contained HTML page (no external assets; Chinese and English
//! labels; per kind a table with the worst devices first and a small bar
//! chart of availability; every entrapment with its arrival time) or the
//! same figures as CSV.
//!
//! Rendering only, from an [`SlaReport`]; every text that reaches the page
//! is escaped.

use std::fmt::Write as _;

use retrofit_protocols::Timestamp;

use super::sla::{Figures, SlaReport};

/// `--month` is not `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("month must be YYYY-MM (1970-01 to 9999-11), got {0:?}")]
pub struct BadMonth(pub String);

/// The window `[first day 00:00Z, first day of the next month 00:00Z)`.
pub fn month_window(month: &str) -> Result<(Timestamp, Timestamp), BadMonth> {
    let bad = || BadMonth(month.to_string());
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m): (u32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let at = |y: u32, m: u32| {
        format!("{y:04}-{m:02}-01T00:00:00Z")
            .parse::<Timestamp>()
            .map_err(|_| bad())
    };
    Ok((at(y, m)?, at(ny, nm)?))
}

/// Devices of the report worst first: lowest availability, undefined last.
pub fn worst_first(report: &SlaReport) -> Vec<&Figures> {
    let mut devices: Vec<&Figures> = report.devices.iter().collect();
    devices.sort_by(|a, b| {
        let key = |f: &Figures| f.availability_pct.unwrap_or(f64::INFINITY);
        key(a).total_cmp(&key(b))
    });
    devices
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(x: Option<f64>, decimals: usize) -> String {
    x.map_or("—".into(), |x| format!("{x:.decimals$}"))
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
.bad{color:#b00}svg{display:block;margin:.5em 0}";

const FIGURE_HEADERS: &str =
    "<tr><th>设备 Device</th><th>可用率 Availability %</th><th>运行率 Uptime %</th>\
<th>故障 Failures</th><th>MTBF h</th><th>MTTR h</th><th>数据完整率 Data %</th></tr>";

fn figure_row(out: &mut String, label: &str, f: &Figures) {
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(label),
        num(f.availability_pct, 3),
        num(f.uptime_pct, 3),
        f.failures,
        num(f.mtbf_h, 1),
        num(f.mttr_h, 2),
        num(f.data_completeness_pct, 1),
    );
}

/// A horizontal bar per device: its availability from 0 to 100 %.
fn chart(out: &mut String, devices: &[&Figures]) {
    let (row, width) = (18, 300.0);
    let _ = write!(
        out,
        "<svg width=\"480\" height=\"{}\" role=\"img\" aria-label=\"availability\">",
        row * devices.len() + 4
    );
    for (i, f) in devices.iter().enumerate() {
        let y = i * row;
        let pct = f.availability_pct.unwrap_or(0.0).clamp(0.0, 100.0);
        let name = f.device.as_ref().map_or("", |d| d.as_str());
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"160\" y=\"{}\" width=\"{:.1}\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{}</text>",
            y + 13,
            esc(name),
            y + 3,
            width * pct / 100.0,
            if pct < 99.0 { "#d66" } else { "#6a6" },
            165.0 + width * pct / 100.0,
            y + 13,
            num(f.availability_pct, 2),
        );
    }
    out.push_str("</svg>");
}

/// The report as one self-contained HTML page.
pub fn html(report: &SlaReport, month: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{site} {month} 月度运维报告 Monthly upkeep report</title>\
         <style>{STYLE}</style></head><body><h1>{site}: {month} 月度运维报告 / Monthly upkeep report</h1>\
         <p>统计区间 Window: {} — {} (UTC)</p><h2>全站 Site</h2><table>{FIGURE_HEADERS}",
        report.from,
        report.to,
        site = esc(report.site.site.as_str()),
        month = esc(month),
    );
    figure_row(&mut out, "全站 site", &report.site);
    out.push_str("</table>");
    let worst = worst_first(report);
    for kind in &report.kinds {
        let Some(k) = kind.kind else { continue };
        let devices: Vec<&Figures> = worst
            .iter()
            .copied()
            .filter(|f| f.kind == Some(k))
            .collect();
        let _ = write!(
            out,
            "<h2>{} {}</h2><table>{FIGURE_HEADERS}",
            kind_label(k.as_str()),
            esc(k.as_str())
        );
        figure_row(&mut out, "合计 all", kind);
        for f in &devices {
            figure_row(&mut out, f.device.as_ref().map_or("", |d| d.as_str()), f);
        }
        out.push_str("</table>");
        chart(&mut out, &devices);
    }
    entrapments(&mut out, report);
    out.push_str("</body></html>\n");
    out
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "elevator" => "电梯",
        "ev_charger" => "充电桩",
        "parking" => "车位",
        "drainage" => "排水",
        _ => "",
    }
}

fn entrapments(out: &mut String, report: &SlaReport) {
    let _ = write!(
        out,
        "<h2>困人事件 Entrapments</h2><p>到场达标率 Arrival compliance: {} %</p><table><tr><th>设备 Device</th>\
         <th>发生 Raised</th><th>到场 Arrived</th><th>解救 Released</th><th>到场用时 Arrival s</th><th>解救用时 Release s</th><th>达标 Compliant</th></tr>",
        num(report.site.entrapment_compliance_pct, 1)
    );
    for e in &report.entrapments {
        let at = |t: Option<Timestamp>| t.map_or("—".to_string(), |t| t.to_string());
        let compliant = match e.compliant {
            Some(true) => "是 yes",
            Some(false) => "<span class=\"bad\">否 no</span>",
            None => "待定 pending",
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{compliant}</td></tr>",
            esc(e.device.as_str()),
            e.raised_at,
            at(e.arrived_at),
            at(e.released_at),
            num(e.arrival_s, 0),
            num(e.release_s, 0),
        );
    }
    out.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_windows_and_bad_months_are_refused() {
        let (from, to) = month_window("2026-11").unwrap();
        assert_eq!(from.to_string(), "2026-11-01T00:00:00.000Z");
        assert_eq!(to.to_string(), "2026-12-01T00:00:00.000Z");
        let (_, to) = month_window("2026-12").unwrap();
        assert_eq!(to.to_string(), "2027-01-01T00:00:00.000Z");
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026/11",
            "",
            "2026-00",
            "９９９９-11",
            "9999-12",
        ] {
            assert!(month_window(bad).is_err(), "{bad}");
        }
    }
}

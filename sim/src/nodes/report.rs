//! The edge nodes' own account for a terminal: per node its simulated
//! time, link counters, latest snapshot and last alarm transitions, and a
//! closing line. Pure formatting of a [`BusStatus`].

use std::fmt::Write as _;

use super::bus::{BusStatus, NodeStatus};

/// Alarm transitions shown per node.
const ALARMS_SHOWN: usize = 3;
/// Metrics shown per snapshot.
const METRICS_SHOWN: usize = 6;

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

fn node_lines(out: &mut String, node: &NodeStatus) {
    let link = &node.link;
    let metrics: Vec<String> = node
        .last_snapshot
        .iter()
        .take(METRICS_SHOWN)
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let _ = writeln!(
        out,
        "        {} ({}, node {}) sim {} | frames {} queued, {} acknowledged, {} pending, {} dropped, {} resent | {}",
        node.device,
        node.kind,
        node.address,
        seconds(node.sim_ms),
        link.queued,
        link.acknowledged(),
        link.pending,
        link.dropped,
        link.resent(),
        if metrics.is_empty() { "no snapshot yet".to_string() } else { metrics.join(" ") },
    );
    let skip = node.alarms.len().saturating_sub(ALARMS_SHOWN);
    for alarm in &node.alarms[skip..] {
        let _ = writeln!(
            out,
            "            {} {} ({}) at sim {}",
            alarm.event,
            alarm.state,
            alarm.severity,
            seconds(alarm.sim_ms)
        );
    }
}

/// A few lines for the terminal.
pub fn render_status(status: &BusStatus, elapsed_s: u64) -> String {
    let mut out = format!(
        "[{elapsed_s:>4}s] line {}\n",
        if status.line_open { "open" } else { "not open" }
    );
    for node in &status.nodes {
        node_lines(&mut out, node);
    }
    out
}

/// One closing line.
pub fn closing_line(status: &BusStatus) -> String {
    let nodes: Vec<String> = status
        .nodes
        .iter()
        .map(|n| {
            format!(
                "{} {}/{} frames acknowledged, {} alarm transitions",
                n.device,
                n.link.acknowledged(),
                n.link.queued,
                n.alarms_total
            )
        })
        .collect();
    format!("nodes stopped: {}", nodes.join("; "))
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::{DeviceKind, EventState, Id, Severity};

    use super::super::bus::AlarmNote;
    use super::super::uplink::LinkCounts;
    use super::*;

    #[test]
    fn shows_counters_snapshot_and_recent_alarms() {
        let alarm = |sim_ms, state| AlarmNote {
            sim_ms,
            event: "entrapment",
            severity: Severity::Critical,
            state,
        };
        let node = NodeStatus {
            device: Id::parse("lift-b3").unwrap(),
            kind: DeviceKind::Elevator,
            address: 1,
            sim_ms: 300_500,
            link: LinkCounts {
                queued: 12,
                transmissions: 14,
                pending: 1,
                dropped: 0,
            },
            snapshots: 10,
            last_snapshot: vec![("floor".into(), "3".into())],
            alarms: vec![
                alarm(1_000, EventState::Raised),
                alarm(2_000, EventState::Cleared),
                alarm(3_000, EventState::Raised),
                alarm(4_000, EventState::Cleared),
            ],
            alarms_total: 4,
        };
        let status = BusStatus {
            line_open: true,
            opened: 1,
            nodes: vec![node],
        };
        let text = render_status(&status, 7);
        assert!(text.starts_with("[   7s] line open\n"), "{text}");
        assert!(
            text.contains("lift-b3 (elevator, node 1) sim 300.5s | frames 12 queued, 11 acknowledged, 1 pending, 0 dropped, 2 resent | floor=3"),
            "{text}"
        );
        assert!(
            !text.contains("at sim 1.0s")
                && text.contains("entrapment cleared (critical) at sim 4.0s")
        );
        assert_eq!(
            closing_line(&status),
            "nodes stopped: lift-b3 11/12 frames acknowledged, 4 alarm transitions"
        );
    }
}

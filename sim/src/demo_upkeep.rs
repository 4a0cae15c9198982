//! The upkeep lines of the demo's summary: the alarms still open, with
//! their age, and the running month's availability per kind, read from the
//! demo gateway's kept history through the gateway's upkeep library.
//!
//! Read-only; it computes nothing itself and never writes the history.

use std::fmt::Write as _;

use retrofit_gateway::config::Config;
use retrofit_gateway::upkeep::alarms::Alarm;
use retrofit_gateway::upkeep::report::month_window;
use retrofit_gateway::upkeep::sla::{self, Figures, SlaQuery};
use retrofit_gateway::upkeep::store::{HistoryStore, StoreError};
use retrofit_protocols::Timestamp;

/// Open alarms listed at most.
const ALARMS_SHOWN: usize = 5;

/// The demo gateway's history, for the summary.
pub struct UpkeepView {
    store: HistoryStore,
    config: Config,
    /// When the history starts (the demo's start): the month's figures
    /// count from here, not from days the demo did not see.
    since: Timestamp,
}

impl UpkeepView {
    pub fn open(config: &Config, since: Timestamp) -> Result<Self, StoreError> {
        Ok(Self {
            store: retrofit_gateway::upkeep::open_store(config)?,
            config: config.clone(),
            since,
        })
    }

    /// The upkeep lines at `now` (blocking: SQLite reads).
    pub fn summary(&self, now: Timestamp) -> String {
        let month = now.to_string().chars().take(7).collect::<String>();
        let from = month_window(&month).map_or(self.since, |(start, _)| start.max(self.since));
        let planned = self.config.sla.planned();
        let query = SlaQuery {
            site: self.config.gateway.site.clone(),
            from,
            to: now,
            devices: &self.config.devices,
            planned: &planned,
            arrival_target_s: self.config.sla.arrival_target_s,
        };
        let kinds = self
            .store
            .load(&query.site, from, now)
            .ok()
            .and_then(|h| sla::compute(&query, &h).ok())
            .map(|r| r.kinds)
            .unwrap_or_default();
        let active = self.store.active_alarms().unwrap_or_default();
        render(&active, &kinds, now)
    }
}

/// `1h02m`, `3m05s`, `12s`.
fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// The open alarms (oldest first) and the availability per kind.
pub fn render(active: &[Alarm], kinds: &[Figures], now: Timestamp) -> String {
    let mut out = format!("        open alarms: {}\n", active.len());
    for a in active.iter().take(ALARMS_SHOWN) {
        let _ = writeln!(
            out,
            "        ALARM {} {} {} ({}) {:?}, open {}",
            a.kind,
            a.device,
            a.event,
            a.severity,
            a.stage,
            age(now.as_millis() - a.raised_at.as_millis())
        );
    }
    let avail: Vec<String> = kinds
        .iter()
        .filter_map(|f| {
            let pct = f
                .availability_pct
                .map_or("-".into(), |p| format!("{p:.2}%"));
            f.kind.map(|k| format!("{k} {pct}"))
        })
        .collect();
    if !avail.is_empty() {
        let _ = writeln!(out, "        availability this month: {}", avail.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use retrofit_gateway::upkeep::alarms::{Alarm, Stage};
    use retrofit_protocols::reading::AlarmId;
    use retrofit_protocols::{DeviceKind, EventName, Id, Severity};

    use super::*;

    #[test]
    fn open_alarms_with_their_age_and_availability_per_kind() {
        let alarm = Alarm {
            alarm_id: AlarmId::parse("lift-b3.entrapment.7").unwrap(),
            device: Id::parse("lift-b3").unwrap(),
            kind: DeviceKind::Elevator,
            event: EventName::parse("entrapment").unwrap(),
            severity: Severity::Critical,
            stage: Stage::Acknowledged,
            raised_at: Timestamp(1_000),
            raises: 1,
            acknowledged: None,
            arrived: None,
            cleared_at: None,
        };
        let figures = |kind, pct| Figures {
            site: Id::parse("s").unwrap(),
            kind: Some(kind),
            device: None,
            availability_pct: pct,
            uptime_pct: pct,
            failures: 0,
            mtbf_h: None,
            mttr_h: None,
            data_completeness_pct: None,
            downtime_h: 0.0,
            maintenance_h: 0.0,
            entrapments: 0,
            entrapment_compliance_pct: None,
        };
        let kinds = [
            figures(DeviceKind::Elevator, Some(99.5)),
            figures(DeviceKind::Drainage, None),
        ];
        let text = render(&[alarm], &kinds, Timestamp(1_000 + 3_725_000));
        assert_eq!(
            text,
            "        open alarms: 1\n\
             \x20       ALARM elevator lift-b3 entrapment (critical) Acknowledged, open 1h02m\n\
             \x20       availability this month: elevator 99.50%, drainage -\n"
        );
        assert_eq!(age(65_000), "1m05s");
        assert_eq!(age(-5), "0s");
    }
}

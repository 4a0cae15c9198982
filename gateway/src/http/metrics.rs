//! `GET /metrics`: Prometheus text (OpenMetrics) through
//! `prometheus-client`: readings in per source, rejects by source and
//! reason, lost readings, Modbus requests per device and outcome, vendor
//! keys no codec map reads, failures of links' state stores, readings out and health per output, the
//! forwarder batch latency histogram, journal depth, age and drops per
//! output and lane, the kept history's drops and size, devices by status,
//! open alarms by severity, and the process's RSS and CPU. Needs a token on the API address; open on
//! `metrics_listen`.
//!
//! Figures are read at scrape time from what the gateway keeps anyway;
//! nothing here counts on the data path.

use std::collections::BTreeMap;
use std::fmt;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde_json::Value;

use super::auth::Role;
use super::error::ApiError;
use super::ApiState;
use crate::journal::{JournalStats, Lane, RecordClass};
use crate::output_health::{Delivery, OutputState};
use crate::upkeep::store::DropCounts;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[utoipa::path(get, path = "/metrics", tag = "metrics", security(("bearer" = [])),
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text"),
        (status = 401, body = super::openapi::ErrorBody)))]
pub async fn metrics_with_token(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match state.tokens.require(&headers, Role::Viewer) {
        Ok(_) => metrics_open(State(state)).await,
        Err(e) => e.into_response(),
    }
}

/// `/metrics` without a token (the `metrics_listen` address).
pub async fn metrics_open(State(state): State<ApiState>) -> Response {
    let (journal, history) = (state.journal.clone(), state.history.clone());
    let stored = tokio::task::spawn_blocking(move || {
        let kept = history.and_then(|h| Some((h.drops().ok()?, h.used_bytes().ok()?)));
        (journal.stats().ok(), kept)
    })
    .await
    .unwrap_or_default();
    let snapshot = Snapshot::take(&state, stored);
    let mut registry = Registry::default();
    registry.register(
        "retrofit_output_batch_seconds",
        "Time an output took to deliver one batch",
        state.outputs.latency().clone(),
    );
    registry.register_collector(Box::new(snapshot));
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        return ApiError::bad_request(format!("cannot encode metrics: {e}")).into_response();
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Everything `/metrics` shows, read once per scrape.
#[derive(Debug)]
struct Snapshot {
    accepted: BTreeMap<(String, String), u64>,
    rejected: BTreeMap<(String, String), u64>,
    lost: BTreeMap<String, u64>,
    requests: BTreeMap<(String, &'static str), u64>,
    ignored_keys: BTreeMap<String, u64>,
    state_store_failures: BTreeMap<String, u64>,
    outputs: BTreeMap<String, OutputState>,
    journal: Option<JournalStats>,
    /// The kept history's drops by cause and table, and its size.
    history: Option<(DropCounts, u64)>,
    devices_by_status: BTreeMap<String, u64>,
    alarms_by_severity: BTreeMap<String, u64>,
    view_skipped: u64,
    process: ProcessStats,
}

impl Snapshot {
    fn take(state: &ApiState, (journal, history): Stored) -> Self {
        let views = state.view.summaries();
        let mut devices_by_status = BTreeMap::new();
        for d in state.devices.iter() {
            let status = views
                .get(d.id.as_str())
                .and_then(|v| v.status.as_ref())
                .and_then(|s| s.get("status"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            *devices_by_status.entry(status.to_string()).or_default() += 1;
        }
        let mut alarms_by_severity = BTreeMap::new();
        for alarm in views.values().flat_map(|v| v.active_alarms.values()) {
            let severity = alarm
                .get("severity")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            *alarms_by_severity.entry(severity.to_string()).or_default() += 1;
        }
        Self {
            accepted: state.counters.accepted_snapshot(),
            rejected: state.counters.rejected_snapshot(),
            lost: state.counters.lost_snapshot(),
            requests: state.counters.requests_snapshot(),
            ignored_keys: state.counters.ignored_keys_snapshot(),
            state_store_failures: state.counters.state_store_failures_snapshot(),
            outputs: state.outputs.snapshot(),
            journal,
            history,
            devices_by_status,
            alarms_by_severity,
            view_skipped: state.view.skipped_batches(),
            process: ProcessStats::read(),
        }
    }
}

/// What the journal and the kept history report, read on the blocking pool.
type Stored = (Option<JournalStats>, Option<(DropCounts, u64)>);

type Labels = Vec<(&'static str, String)>;

/// Writes one metric family of constant values.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = (Labels, M)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        if labels.is_empty() {
            value.encode(metric)?;
            return Ok(());
        }
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: f64) -> ConstGauge<f64> {
    ConstGauge::new(v)
}

fn lane_name(lane: Lane) -> &'static str {
    match lane {
        Lane::Urgent => "urgent",
        Lane::Bulk => "bulk",
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        let by = |k: &'static str, v: &str| vec![(k, v.to_string())];
        family(
            &mut enc,
            "retrofit_readings_in",
            "Inputs accepted, per source and link",
            Counter,
            self.accepted.iter().map(|((s, l), n)| {
                (
                    vec![("source", s.clone()), ("link", l.clone())],
                    counter(*n),
                )
            }),
        )?;
        family(
            &mut enc,
            "retrofit_rejected",
            "Inputs rejected (dead-lettered or counted), per source and reason",
            Counter,
            self.rejected.iter().map(|((s, r), n)| {
                (
                    vec![("source", s.clone()), ("reason", r.clone())],
                    counter(*n),
                )
            }),
        )?;
        family(
            &mut enc,
            "retrofit_lost_readings",
            "Readings a device's sequence shows were never received, per source",
            Counter,
            self.lost
                .iter()
                .map(|(s, n)| (by("source", s), counter(*n))),
        )?;
        family(
            &mut enc,
            "retrofit_device_requests",
            "Requests a polling link (Modbus) made to a device, per outcome",
            Counter,
            self.requests.iter().map(|((d, o), n)| {
                (
                    vec![("device", d.clone()), ("outcome", (*o).to_string())],
                    counter(*n),
                )
            }),
        )?;
        family(
            &mut enc,
            "retrofit_ignored_vendor_keys",
            "Vendor keys no codec map entry reads, per device",
            Counter,
            self.ignored_keys
                .iter()
                .map(|(d, n)| (by("device", d), counter(*n))),
        )?;
        family(
            &mut enc,
            "retrofit_state_store_failures",
            "Failed opens and writes of a link's state store (kept in memory instead), per store",
            Counter,
            self.state_store_failures
                .iter()
                .map(|(s, n)| (by("store", s), counter(*n))),
        )?;
        family(
            &mut enc,
            "retrofit_readings_out",
            "Journal entries an output delivered, per output",
            Counter,
            self.outputs
                .iter()
                .map(|(o, st)| (by("output", o), counter(st.delivered))),
        )?;
        family(
            &mut enc,
            "retrofit_output_up",
            "1 while the output delivers, 0 while its batches fail",
            Gauge,
            self.outputs.iter().map(|(o, st)| {
                let up = matches!(st.delivery, Delivery::Delivering);
                (by("output", o), gauge(f64::from(u8::from(up))))
            }),
        )?;
        self.encode_journal(&mut enc)?;
        if let Some((drops, bytes)) = &self.history {
            family(
                &mut enc,
                "retrofit_history_dropped",
                "Rows the kept history removed, by cause and table",
                Counter,
                drops
                    .0
                    .iter()
                    .map(|(what, n)| (by("what", what), counter(*n))),
            )?;
            family(
                &mut enc,
                "retrofit_history_bytes",
                "Bytes the kept history uses",
                Gauge,
                [(Labels::new(), gauge(*bytes as f64))],
            )?;
        }
        family(
            &mut enc,
            "retrofit_devices",
            "Configured devices, per status",
            Gauge,
            self.devices_by_status
                .iter()
                .map(|(s, n)| (by("status", s), gauge(*n as f64))),
        )?;
        family(
            &mut enc,
            "retrofit_open_alarms",
            "Raised and not cleared alarms, per severity",
            Gauge,
            self.alarms_by_severity
                .iter()
                .map(|(s, n)| (by("severity", s), gauge(*n as f64))),
        )?;
        family(
            &mut enc,
            "retrofit_live_view_skipped_batches",
            "Committed batches the dashboard's view skipped",
            Counter,
            [(Labels::new(), counter(self.view_skipped))],
        )?;
        family(
            &mut enc,
            "retrofit_process_resident_memory_bytes",
            "Resident set size of the gateway",
            Gauge,
            [(Labels::new(), gauge(self.process.rss_bytes as f64))],
        )?;
        family(
            &mut enc,
            "retrofit_process_cpu_seconds",
            "CPU time of the gateway (user and system)",
            Counter,
            [(Labels::new(), ConstCounter::new(self.process.cpu_seconds))],
        )
    }
}

impl Snapshot {
    fn encode_journal(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        let Some(stats) = &self.journal else {
            return Ok(());
        };
        let lanes = || {
            stats.outputs.iter().flat_map(|o| {
                o.lanes.iter().map(move |l| {
                    (
                        vec![
                            ("output", o.output.clone()),
                            ("lane", lane_name(l.lane).to_string()),
                        ],
                        l,
                    )
                })
            })
        };
        family(
            enc,
            "retrofit_journal_depth",
            "Journal entries an output has still to deliver",
            Gauge,
            lanes().map(|(labels, l)| (labels, gauge(l.depth as f64))),
        )?;
        family(
            enc,
            "retrofit_journal_oldest_undelivered_seconds",
            "Age of the oldest entry an output has still to deliver",
            Gauge,
            lanes().map(|(labels, l)| {
                (
                    labels,
                    gauge(l.oldest_undelivered_age.map_or(0.0, |a| a.as_secs_f64())),
                )
            }),
        )?;
        family(
            enc,
            "retrofit_journal_dropped",
            "Entries the journal's size bound dropped before the output delivered them",
            Counter,
            stats.outputs.iter().flat_map(|o| {
                RecordClass::ALL.into_iter().map(move |c| {
                    (
                        vec![
                            ("output", o.output.clone()),
                            ("class", c.as_str().to_string()),
                        ],
                        counter(o.drops.get(c)),
                    )
                })
            }),
        )?;
        family(
            enc,
            "retrofit_journal_file_bytes",
            "Size of the journal's files on disk",
            Gauge,
            [(Labels::new(), gauge(stats.file_bytes as f64))],
        )
    }
}

/// The process's own figures from `/proc/self`.
#[derive(Debug, Default)]
struct ProcessStats {
    rss_bytes: u64,
    cpu_seconds: f64,
}

/// `/proc` reports CPU time in ticks of 1/100 s (USER_HZ) on Linux.
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_BYTES: u64 = 4096;

impl ProcessStats {
    fn read() -> Self {
        let rss_pages = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
        // Fields after the command's closing parenthesis: utime and stime
        // are the 12th and 13th.
        let cpu_ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                let rest = s.rsplit_once(')')?.1;
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
            })
            .unwrap_or(0.0);
        Self {
            rss_bytes: rss_pages * PAGE_BYTES,
            cpu_seconds: cpu_ticks / TICKS_PER_SECOND,
        }
    }
}

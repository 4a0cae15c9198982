//! Upkeep: the kept history of a site and the service levels computed from
//! it (spec §12).
//!
//! A clean library for the CLI and the HTTP API: no HTTP, no printing, no
//! process exit in here.

pub mod alarms;
pub mod config;
pub mod history;
pub mod jsonl;
pub mod output;
pub mod render;
pub mod report;
pub mod rules;
pub mod sla;
pub mod spans;
pub mod store;
pub mod store_points;

/// The service levels of `devices` over `[from, to)` in `history`, with
/// the config's site, planned maintenance and arrival target.
pub fn service_levels(
    config: &crate::config::Config,
    devices: &[std::sync::Arc<crate::devices::Device>],
    (from, to): (retrofit_protocols::Timestamp, retrofit_protocols::Timestamp),
    history: &history::History,
) -> Result<sla::SlaReport, sla::BadWindow> {
    let planned = config.sla.planned();
    let query = sla::SlaQuery {
        site: config.gateway.site.clone(),
        from,
        to,
        devices,
        planned: &planned,
        arrival_target_s: config.sla.arrival_target_s,
    };
    sla::compute(&query, history)
}

/// Opens the kept history of `config`'s data directory with its bound.
pub fn open_store(
    config: &crate::config::Config,
) -> Result<store::HistoryStore, store::StoreError> {
    let bound = store::Bound::new(config.sla.retention_days, config.sla.max_bytes);
    store::HistoryStore::open(&config.gateway.data_dir, bound)
}

/// Takes back into `book` each device's presence from the kept history.
pub fn restore_presence(book: &mut crate::presence::PresenceBook, store: &store::HistoryStore) {
    match store.presence_snapshot() {
        Ok(snapshot) => {
            for (device, s) in snapshot {
                book.restore(&device, s.last_seen, s.presence, s.offline_alarm);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read presence from the history; devices start unknown")
        }
    }
}

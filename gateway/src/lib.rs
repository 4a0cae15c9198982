//! The retrofit site gateway: links in, normalization, the durable journal,
//! and the outputs (normalized MQTT, time-series store).
//!
//! Data flows one way: `links` -> `normalize` -> `intake` (commit to the
//! `journal`, then acknowledge the source) -> `forwarder` -> `sinks`.

pub mod accepted;
pub mod backoff;
pub mod broker;
pub mod clock;
pub mod codec_map;
pub mod commit_window;
pub mod config;
pub mod counters;
pub mod daemon;
pub mod devices;
pub mod forwarder;
pub mod http;
pub mod intake;
pub mod journal;
pub mod links;
pub mod live_view;
pub mod mqtt_session;
pub mod normalize;
pub mod output_health;
pub mod presence;
pub mod self_report;
pub mod sinks;
pub mod supervisor;
pub mod upkeep;

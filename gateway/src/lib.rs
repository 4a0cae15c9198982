//! The retrofit site gateway: links in, normalization, the durable journal,
//! and the outputs (normalized MQTT, time-series store).
//!
//! Data flows one way: `links` -> `normalize` -> `intake` (commit to the
//! `journal`, then acknowledge the source) -> `forwarder` -> `sinks`.

pub mod journal;

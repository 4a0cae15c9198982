//! Upkeep: the kept history of a site and the service levels computed from
//! it (spec §12).
//!
//! A clean library for the CLI and the HTTP API: no HTTP, no printing, no
//! process exit in here.

pub mod config;
pub mod history;
pub mod jsonl;
pub mod render;
pub mod sla;
pub mod spans;

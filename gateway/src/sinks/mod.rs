//! Outputs: the normalized MQTT topics and the time-series store (spec §5,
//! §6), one module each with its config beside it.
//!
//! A sink delivers a batch of journal entries in order and reports success
//! only when every entry is delivered (or, for a point the store refuses,
//! dead-lettered); the forwarder then advances its durable cursor. A sink
//! never drops an entry silently and never reorders.

pub mod influx;
pub mod mqtt;

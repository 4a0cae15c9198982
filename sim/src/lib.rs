//! The retrofit simulator's library: synthetic LoRaWAN fleets, ChirpStack
//! uplink rendering, paced load generation, simulated edge nodes (physics
//! under the real firmware) on pseudo-terminal serial lines, and the
//! one-command demo, used by the `retrofit-sim` binary and its tests.
//!
//! It models devices and drives brokers; it never redefines the gateway's
//! model (that lives in `retrofit-protocols`) and never talks to anything
//! but the brokers and serial lines it is pointed at.

pub mod bench;
pub mod demo;
pub mod demo_dashboard;
pub mod demo_stats;
pub mod demo_upkeep;
pub mod duration_arg;
pub mod embedded_broker;
pub mod fleet;
pub mod load;
pub mod modbus;
pub mod nodes;
pub mod nodes_command;
pub mod ocpp;
pub mod pacer;
pub mod pty;
pub mod sensor_model;
pub mod site_config;
pub mod uplink_event;
pub mod value_text;
pub mod vendor_object;

//! Durable journal: placeholder.

//! The edge link (spec §7): placeholder, filled in by the edge-link work.

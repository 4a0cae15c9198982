//! Fuzz target: arbitrary bytes into `Reading::from_json`, the decoder of
//! normalized payloads (what the journal replays and peers publish). It
//! must never panic; every reading it accepts must pass
//! `retrofit_fuzz::check_reading` (JSON round trip and stable encoding,
//! six-level topic without wildcards, line protocol point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrofit_fuzz::check_reading;
use retrofit_protocols::reading::Reading;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(reading) = Reading::from_json(bytes) {
        check_reading(&reading);
    }
});

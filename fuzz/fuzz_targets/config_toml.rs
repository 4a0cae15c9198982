//! Fuzz target: arbitrary UTF-8 text into the gateway's config loader
//! (`Config::parse(text, "fuzz.toml")`, no environment overrides). It must
//! never panic. A refusal must be reported in full as `fuzz.toml:LINE:COL:
//! reason` lines, one per problem, each pointing at a place inside the
//! text; an accepted config must have unique device ids.
//!
//! The loader reads the secret files the text names (`password_file`,
//! `token_file`), so an input could name a device file; none has been
//! generated so far (see docs/FUZZING.md).
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use retrofit_gateway::config::{Config, ConfigErrors};

const ORIGIN: &str = "fuzz.toml";

fuzz_target!(|text: &str| {
    match Config::parse(text, ORIGIN) {
        Ok(config) => {
            let mut ids = HashSet::new();
            for device in &config.devices {
                assert!(ids.insert(&device.id), "device {} twice", device.id);
            }
        }
        Err(errors) => check_report(text, &errors),
    }
});

fn check_report(text: &str, errors: &ConfigErrors) {
    assert!(!errors.problems.is_empty(), "refused without a problem");
    let report = errors.to_string();
    let lines: Vec<&str> = report.split('\n').collect();
    assert_eq!(lines.len(), errors.problems.len(), "report:\n{report}");
    let text_lines: Vec<&str> = text.split('\n').collect();
    for line in lines {
        let (row, col) = location(line).unwrap_or_else(|| panic!("unlocated: {line:?}"));
        let at = text_lines
            .get(row - 1)
            .unwrap_or_else(|| panic!("past the end: {line:?}"));
        assert!(col <= at.chars().count() + 1, "past the line end: {line:?}");
    }
}

/// `LINE:COL` (both from 1) of a `fuzz.toml:LINE:COL: reason` line.
fn location(line: &str) -> Option<(usize, usize)> {
    let mut parts = line.strip_prefix("fuzz.toml:")?.splitn(3, ':');
    let row: usize = parts.next()?.parse().ok()?;
    let col: usize = parts.next()?.parse().ok()?;
    let reason = parts.next()?.strip_prefix(' ')?;
    (row >= 1 && col >= 1 && !reason.is_empty()).then_some((row, col))
}

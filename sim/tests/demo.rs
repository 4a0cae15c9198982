//! `retrofit-sim demo` end to end: embedded broker, in-process gateway and
//! load; telemetry of both kinds must come out on the normalized topics and
//! every uplink must be acknowledged.

mod common;

/// The value after `label` in `text`, e.g. `telemetry 42` -> 42.
fn count_after(text: &str, label: &str) -> u64 {
    let rest = &text[text
        .rfind(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        + label.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?}"))
}

#[test]
fn runs_the_community_and_shows_normalized_telemetry() {
    let out = common::sim_ok(&["demo", "--duration", "6s", "--devices", "6", "--rate", "30"]);
    let last_summary = out
        .lines()
        .rfind(|l| l.starts_with('['))
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    assert!(
        last_summary.contains("devices seen: parking 3, drainage 3"),
        "{last_summary}"
    );
    let telemetry = count_after(last_summary, "telemetry");
    let sent = count_after(&out, "load sent");
    assert!(sent >= 100, "{out}");
    assert!(
        telemetry * 4 >= sent * 3,
        "telemetry {telemetry} of {sent} uplinks:\n{out}"
    );
    assert_eq!(count_after(last_summary, "dead letters"), 0, "{out}");
    assert_eq!(count_after(&out, "acknowledged"), sent, "{out}");
}

//! Fuzz target: the hot-path JSON reader against serde_json. For any UTF-8
//! text, `JsonReader` skipping one value must accept exactly what
//! serde_json accepts as one JSON value (apart from nesting deeper than
//! `MAX_DEPTH`, which only the reader refuses), and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrofit_protocols::json_reader::{JsonError, JsonReader};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut reader = JsonReader::new(text);
    let ours = reader.skip().and_then(|()| reader.finish());
    if let Err(JsonError::Syntax {
        problem: "nested too deeply",
        ..
    }) = ours
    {
        return;
    }
    let theirs = serde_json::from_str::<serde::de::IgnoredAny>(text);
    assert_eq!(
        ours.is_ok(),
        theirs.is_ok(),
        "{text:?}: ours {ours:?}, serde_json {theirs:?}"
    );
});

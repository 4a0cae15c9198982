//! Fuzz target: the serde decoders of ChirpStack events and flat objects
//! (`retrofit_protocols::chirpstack`, `flat_object`, `json`) against a
//! plain `serde_json::Value` of the same text. For any UTF-8 text they
//! must never panic; whatever they accept must be one JSON document, and
//! where `Value` takes it too (it refuses numbers beyond f64, which the
//! decoders rightly accept in fields they skip) their typed fields must
//! agree with the tree's (devEui, fCnt, the codec output's members), and
//! the flat object's keys must be the tree's keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrofit_protocols::chirpstack::{DevEui, Join, Status, Uplink};
use retrofit_protocols::flat_object::{FlatObject, Scalar};
use retrofit_protocols::json;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Whatever a decoder accepted must be JSON to serde_json too; a tree
    // to compare with exists unless a number is beyond f64 (valid JSON,
    // refused by `Value`, fine in a field the decoders skip).
    let accepted = || {
        let grammar = serde_json::from_str::<serde::de::IgnoredAny>(text);
        assert!(grammar.is_ok(), "accepted, not JSON: {text:?}");
        serde_json::from_str::<Value>(text).ok()
    };
    if let Ok(up) = Uplink::parse(text) {
        if let Some(tree) = accepted() {
            assert_eq!(up.device_info.dev_eui, dev_eui(&tree));
            let f_cnt = tree.get("fCnt").and_then(Value::as_u64).unwrap_or(0);
            assert_eq!(u64::from(up.f_cnt), f_cnt);
            if let Some(Ok(object)) = up.flat_object() {
                check_flat(&object, &tree["object"]);
            }
        }
    }
    for eui in [
        Join::parse(text).map(|j| j.device_info.dev_eui).ok(),
        Status::parse(text).map(|s| s.device_info.dev_eui).ok(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(tree) = accepted() {
            assert_eq!(eui, dev_eui(&tree));
        }
    }
    if let Ok(flat) = json::from_str::<FlatObject<'_>>(text) {
        if let Some(tree) = accepted() {
            check_flat(&flat, &tree);
        }
    }
});

fn dev_eui(tree: &Value) -> DevEui {
    let eui = tree["deviceInfo"]["devEui"].as_str();
    eui.and_then(|e| e.parse().ok())
        .unwrap_or_else(|| panic!("accepted devEui {eui:?}"))
}

/// Every member of `flat` is in `tree` (the last of duplicate keys wins
/// there) with the same scalar.
fn check_flat(flat: &FlatObject<'_>, tree: &Value) {
    let Some(map) = tree.as_object() else {
        panic!("accepted as a flat object: {tree}");
    };
    assert!(flat.len() >= map.len());
    for (key, value) in flat.iter() {
        let Some(theirs) = map.get(key) else {
            panic!("key {key:?} is not in {tree}");
        };
        let last = flat.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
        if last != Some(value) {
            continue;
        }
        match value {
            Scalar::Number(x) => assert_eq!(Some(*x), theirs.as_f64()),
            Scalar::Bool(b) => assert_eq!(Some(*b), theirs.as_bool()),
            Scalar::Str(s) => assert_eq!(Some(s.as_ref()), theirs.as_str()),
            Scalar::Other(_) => assert!(theirs.is_null() || theirs.is_array() || theirs.is_object()),
        }
    }
}

//! Fuzz target: applying codec maps (issue 11) to arbitrary vendor JSON
//! through the gateway's real `codec_map::apply` with the shipped Dragino
//! LDDS75 map and a map of nested paths, units and enum values; and
//! arbitrary path texts parsed and looked up. It must never panic; every
//! metric it yields must be one its map names, typed as the model says,
//! and a reading of them must pass `retrofit_fuzz::check_normalized`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use retrofit_fuzz::{check_normalized, codec_maps};
use retrofit_gateway::codec_map::apply;
use retrofit_protocols::codec_map::{CodecMap, Path};
use retrofit_protocols::metric::check_type;
use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::{DeviceKind, Id, Source, Timestamp};

static MAPS: LazyLock<Vec<CodecMap>> = LazyLock::new(codec_maps);
static ID: LazyLock<Id> =
    LazyLock::new(|| Id::parse("dev").unwrap_or_else(|e| panic!("id: {e}")));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A first line that parses as a path is looked up in the rest.
    if let Some((first, rest)) = text.split_once('\n') {
        if let (Ok(path), Ok(json)) = (first.parse::<Path>(), serde_json::from_str(rest)) {
            let _ = path.find(&json);
        }
    }
    for map in MAPS.iter() {
        let Ok(mapped) = apply(map, text, Some(3.0)) else {
            continue;
        };
        for (name, value) in &mapped.metrics {
            let named = map.entries.iter().any(|e| e.metric == *name);
            assert!(named || name.as_str() == "level_m", "{name} is no target");
            assert!(check_type(name, value).is_ok(), "{name} = {value:?}");
        }
        assert!(mapped.metrics.len() + mapped.left_out.failed.len() <= map.entries.len() + 1);
        if mapped.metrics.is_empty() {
            continue;
        }
        check_normalized(&Reading {
            site: ID.clone(),
            kind: DeviceKind::Drainage,
            device: ID.clone(),
            connector: None,
            ts: Timestamp::from_millis(0),
            seq: 1,
            source: Source::Lorawan,
            body: Body::Telemetry(mapped.metrics),
        });
    }
});

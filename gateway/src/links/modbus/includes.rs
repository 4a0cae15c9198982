//! Where register maps come from: the config's own `[[modbus_map]]`
//! tables, files named by its top-level `modbus_map_files` list (paths
//! relative to the config file), and the maps shipped in `config/modbus/`,
//! built in by name. A map the config defines shadows a built-in one of
//! the same name.
//!
//! ```toml
//! modbus_map_files = ["modbus/my-meter.toml"]
//! ```
//!
//! A map file holds `[[modbus_map]]` tables only. Its problems are
//! reported at the list entry that names it, each with its own
//! `FILE:LINE:COL`, so `check` points into the map file. Reading a file is
//! the only I/O here.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::map::{check_maps, MapEntry, Maps};
use crate::config::error::Problems;

/// The maps shipped in `config/modbus/`, by file name.
const BUILT_IN: [(&str, &str); 4] = [
    (
        "config/modbus/level-4-20ma.toml",
        include_str!("../../../../config/modbus/level-4-20ma.toml"),
    ),
    (
        "config/modbus/rain-gauge.toml",
        include_str!("../../../../config/modbus/rain-gauge.toml"),
    ),
    (
        "config/modbus/ultrasonic-level.toml",
        include_str!("../../../../config/modbus/ultrasonic-level.toml"),
    ),
    (
        "config/modbus/ddsu666.toml",
        include_str!("../../../../config/modbus/ddsu666.toml"),
    ),
];

/// A map file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    modbus_map: Vec<MapEntry>,
}

/// The maps of the config itself and of every file it names; `origin` is
/// the config's path (relative names resolve beside it).
pub fn load_maps(
    inline: Vec<MapEntry>,
    files: &[Spanned<String>],
    origin: &str,
    problems: &mut Problems<'_>,
) -> Maps {
    let mut maps = Maps::new();
    check_maps(inline, &mut maps, problems);
    let base = Path::new(origin).parent().unwrap_or(Path::new(""));
    for file in files {
        let path = base.join(file.get_ref());
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut inner = Problems::new(&text, &shown);
                load_file(&text, &mut maps, &mut inner);
                if let Err(errors) = inner.finish() {
                    for line in errors.to_string().lines() {
                        problems.at(file.span(), format!("in {line}"));
                    }
                }
            }
            Err(e) => problems.at(
                file.span(),
                format!("cannot read modbus map file {shown}: {e}"),
            ),
        }
    }
    add_built_in(&mut maps, problems);
    maps
}

/// Adds the built-in maps whose names the config does not define.
fn add_built_in(maps: &mut Maps, problems: &mut Problems<'_>) {
    for (file, text) in BUILT_IN {
        let mut built_in = Maps::new();
        let mut inner = Problems::new(text, file);
        load_file(text, &mut built_in, &mut inner);
        if let Err(errors) = inner.finish() {
            problems.at(0..0, format!("built-in map: {errors}"));
        }
        for (name, map) in built_in {
            maps.entry(name).or_insert(map);
        }
    }
}

fn load_file(text: &str, maps: &mut Maps, problems: &mut Problems<'_>) {
    match toml::from_str::<MapFile>(text) {
        Ok(file) => check_maps(file.modbus_map, maps, problems),
        Err(e) => problems.toml(&e),
    }
}

//! Register maps kept in their own files (`config/modbus/*.toml`), named
//! by the top-level `modbus_map_files` list of the gateway config, with
//! paths relative to the config file:
//!
//! ```toml
//! modbus_map_files = ["modbus/level-4-20ma.toml", "modbus/ddsu666.toml"]
//! ```
//!
//! Each file holds `[[modbus_map]]` tables only. Its problems are reported
//! at the list entry that names it, each with its own `FILE:LINE:COL`, so
//! `check` points into the map file. Reading a file is the only I/O here.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::map::{check_maps, MapEntry, Maps};
use crate::config::error::Problems;

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
    maps
}

fn load_file(text: &str, maps: &mut Maps, problems: &mut Problems<'_>) {
    match toml::from_str::<MapFile>(text) {
        Ok(file) => check_maps(file.modbus_map, maps, problems),
        Err(e) => problems.toml(&e),
    }
}

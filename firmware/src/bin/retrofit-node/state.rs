//! The node's saved settings: what the gateway last set (EDGE_LINK.md §5,
//! Config), kept in a small TOML file beside the node's configuration
//! (`node.toml` -> `node.settings.toml`) so that they survive a restart.
//!
//! The file is replaced atomically (written to a temporary file, synced,
//! renamed over the old one), so a power cut leaves either the old or the
//! new settings, never half a file. Reading it never trusts it: every value
//! is checked again when it is applied. Never touches the node's own
//! configuration file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use retrofit_firmware::apps::SettingsStore;
use retrofit_protocols::edge::{ConfigKey, Settings};
use retrofit_protocols::Value;

use crate::toml_file::{self, FileError};

/// The settings file of one node.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The file beside `config`: same name, extension `settings.toml`.
    pub fn beside(config: &Path) -> Self {
        Self {
            path: config.with_extension("settings.toml"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> FileError {
        FileError::io(&self.path, source)
    }

    fn write_atomically(&self, text: &str) -> Result<(), FileError> {
        let tmp = self.path.with_extension("settings.toml.tmp");
        let mut file = std::fs::File::create(&tmp).map_err(|e| self.io(e))?;
        file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))
    }
}

impl SettingsStore for StateFile {
    type Error = FileError;

    /// Numbers under valid keys; anything else in the file is skipped (and
    /// then not saved again).
    fn load(&mut self) -> Result<Option<Settings>, FileError> {
        let table: toml::Table = match toml_file::read(&self.path) {
            Ok(table) => table,
            Err(e) if e.is_missing() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut settings = Settings::new();
        for (key, value) in &table {
            let number = match value {
                toml::Value::Float(x) => Value::number(*x).ok(),
                toml::Value::Integer(i) => Some(Value::Number(*i as f64)),
                _ => None,
            };
            if let (Ok(key), Some(number)) = (ConfigKey::parse(key), number) {
                // A full or repeated list only loses the extra keys.
                let _ = settings.push(key, number);
            }
        }
        Ok(Some(settings))
    }

    fn save(&mut self, settings: &Settings) -> Result<(), FileError> {
        let mut text = String::from("# Settings set by the gateway; rewritten by retrofit-node.\n");
        for (key, value) in settings.pairs() {
            if let Value::Number(x) = value {
                text.push_str(&format!("{key} = {x:?}\n"));
            }
        }
        self.write_atomically(&text)
    }
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::edge::Setting;

    use super::*;

    #[test]
    fn saved_settings_load_back_and_the_file_sits_beside_the_config() {
        let dir = std::env::temp_dir().join(format!("retrofit-node-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut state = StateFile::beside(&dir.join("node.toml"));
        assert_eq!(state.path(), dir.join("node.settings.toml"));
        assert_eq!(state.load().unwrap(), None, "nothing saved yet");

        let mut settings = Settings::new();
        settings
            .push_number(Setting::ReportIntervalS, 60.0)
            .unwrap();
        settings.push_number(Setting::WarningM, 0.5).unwrap();
        state.save(&settings).unwrap();
        assert_eq!(
            state.load().unwrap(),
            Some(settings),
            "keys come back sorted"
        );
        assert!(!dir.join("node.settings.toml.tmp").exists());

        std::fs::write(state.path(), "warning_m = 0.7\nBad = 1\nnote = \"x\"\n").unwrap();
        let loaded = state.load().unwrap().unwrap();
        assert_eq!(loaded.pairs().len(), 1);
        assert_eq!(loaded.get("warning_m"), Some(&Value::Number(0.7)));
        std::fs::write(state.path(), "warning_m = ").unwrap();
        assert!(state.load().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

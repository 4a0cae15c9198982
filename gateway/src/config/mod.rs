//! The gateway config file (spec §9): TOML, validated on load.
//!
//! Loading parses the file with spans, applies `RETROFIT_*` environment
//! overrides ([`env`]), decodes each table into the config struct that sits
//! beside its component, then checks cross-references (device -> link,
//! duplicate IDs and addresses). Every problem is reported as
//! `FILE:LINE:COL: reason`. A loaded [`Config`] is fully valid; nothing
//! downstream re-validates it. Secrets are read here and never printed.

pub mod env;
pub mod error;
pub mod secret;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use retrofit_protocols::{DeviceKind, Id};
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use self::error::Problems;
pub use self::error::{ConfigErrors, ConfigProblem};
use self::secret::SecretFile;
use crate::broker::{BrokerConfig, BrokerUrl};
use crate::codec_map::{CodecMapTable, CodecMaps};
use crate::devices::{Device, DeviceEntry};
pub use crate::http::HttpConfig;
use crate::journal::JournalConfig;
use crate::links::{LinkEntry, LinkSpec};
use crate::sinks::influx::InfluxConfig;
use crate::upkeep::config::SlaConfig;
use crate::upkeep::rules::config::{Rule, RuleEntry};

/// `[gateway]`: who this gateway is and where it keeps its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub id: Id,
    pub site: Id,
    pub data_dir: PathBuf,
}

/// `[mqtt]`: the output broker of the normalized topics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MqttTable {
    url: BrokerUrl,
    client_id: Option<String>,
    username: Option<String>,
    password_file: Option<SecretFile>,
    ca_file: Option<Spanned<PathBuf>>,
    cert_file: Option<Spanned<PathBuf>>,
    key_file: Option<Spanned<PathBuf>>,
}

/// The file as written, before cross-checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    gateway: GatewayConfig,
    mqtt: MqttTable,
    influx: Option<InfluxConfig>,
    #[serde(default)]
    journal: JournalConfig,
    http: Option<HttpConfig>,
    #[serde(default)]
    link: Vec<LinkEntry>,
    #[serde(default)]
    device: Vec<DeviceEntry>,
    #[serde(default)]
    sla: SlaConfig,
    #[serde(default)]
    rule: Vec<RuleEntry>,
    #[serde(default)]
    modbus_map: Vec<crate::links::modbus::MapEntry>,
    #[serde(default)]
    modbus_map_files: Vec<Spanned<String>>,
    #[serde(default)]
    codec_map: Vec<CodecMapTable>,
}

/// A loaded, fully validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub gateway: GatewayConfig,
    /// The output broker.
    pub mqtt: BrokerConfig,
    pub influx: Option<InfluxConfig>,
    pub journal: JournalConfig,
    pub http: Option<HttpConfig>,
    pub links: Vec<LinkSpec>,
    pub devices: Vec<Arc<Device>>,
    pub sla: SlaConfig,
    pub rules: Vec<Rule>,
}

impl Config {
    /// Reads, overrides from the process environment, and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            origin: origin.clone(),
            problems: vec![ConfigProblem {
                line: 1,
                col: 1,
                reason: format!("cannot read config: {e}"),
            }],
        })?;
        let vars: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("RETROFIT_"))
            .collect();
        Self::parse_with_env(&text, &origin, &vars)
    }

    /// Validates `text` without environment overrides; `origin` names it
    /// in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        Self::parse_with_env(text, origin, &[])
    }

    /// Validates `text` with the given `RETROFIT_*` overrides.
    pub fn parse_with_env(
        text: &str,
        origin: &str,
        vars: &[(String, String)],
    ) -> Result<Config, ConfigErrors> {
        let mut problems = Problems::new(text, origin);
        let mut doc = match DeTable::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                problems.toml(&e);
                return Err(problems.into_errors());
            }
        };
        let overrides = env::apply(&mut doc, vars);
        let file = match ConfigFile::deserialize(toml::de::Deserializer::from(doc)) {
            Ok(file) => file,
            Err(e) => {
                let from_env = e
                    .span()
                    .and_then(|s| overrides.iter().find(|o| o.span == s));
                problems.toml(&e);
                if let Some(o) = from_env {
                    problems.at(
                        o.span.clone(),
                        format!("(the value above comes from {})", o.var),
                    );
                }
                return Err(problems.into_errors());
            }
        };
        let config = file.validate(origin, &mut problems);
        problems.finish()?;
        Ok(config)
    }

    /// A one-line summary for `check`.
    pub fn summary(&self) -> String {
        let mut per_kind: Vec<(DeviceKind, usize)> = Vec::new();
        for d in &self.devices {
            match per_kind.iter_mut().find(|(k, _)| *k == d.kind) {
                Some((_, n)) => *n += 1,
                None => per_kind.push((d.kind, 1)),
            }
        }
        let kinds: Vec<String> = per_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!(
            "ok: gateway {} at site {}: {} link(s), {} device(s) ({}), output mqtt {}{}",
            self.gateway.id,
            self.gateway.site,
            self.links.len(),
            self.devices.len(),
            if kinds.is_empty() {
                "none".into()
            } else {
                kinds.join(", ")
            },
            self.mqtt.url,
            self.influx
                .as_ref()
                .map(|i| format!(" and store {}", i.url))
                .unwrap_or_default(),
        )
    }
}

impl MqttTable {
    fn into_broker(self, gateway: &Id, problems: &mut Problems<'_>) -> BrokerConfig {
        for tls in [&self.ca_file, &self.cert_file, &self.key_file]
            .into_iter()
            .flatten()
        {
            problems.at(
                tls.span(),
                "TLS to the broker is not supported yet: run a local TLS bridge and use mqtt://",
            );
        }
        BrokerConfig {
            url: self.url,
            client_id: self
                .client_id
                .unwrap_or_else(|| format!("retrofit-{gateway}")),
            username: self.username,
            password: self.password_file,
        }
    }
}

impl ConfigFile {
    fn validate(self, origin: &str, problems: &mut Problems<'_>) -> Config {
        let gateway_id = self.gateway.id.clone();
        let maps = crate::links::modbus::load_maps(
            self.modbus_map,
            &self.modbus_map_files,
            origin,
            problems,
        );
        let mqtt = self.mqtt.into_broker(&gateway_id, problems);
        let devices = check_devices(&self.device, problems);
        self.sla.check(&devices, problems);
        let rules = self
            .rule
            .iter()
            .filter_map(|r| r.check(&devices, problems))
            .collect();
        let codec_maps = CodecMaps::from_tables(&self.codec_map, problems);
        let mut seen_links = HashSet::new();
        let mut links = Vec::new();
        let mut ports = std::collections::HashMap::new();
        for entry in self.link {
            if !seen_links.insert(entry.id.get_ref().clone()) {
                problems.at(
                    entry.id.span(),
                    format!("duplicate link id {}", entry.id.get_ref()),
                );
                continue;
            }
            if let Some(port) = &entry.port {
                // A modbus bus has one owner: no other link may open its port.
                let modbus = *entry.link_type.get_ref() == crate::links::LinkType::Modbus;
                let claim = (entry.id.get_ref().clone(), modbus);
                match ports.insert(port.get_ref().clone(), claim) {
                    Some((owner, was_modbus)) if modbus || was_modbus => problems.at(
                        port.span(),
                        format!("port {} is already the bus of link {owner}", port.get_ref()),
                    ),
                    _ => {}
                }
            }
            let members: Vec<(&DeviceEntry, &Arc<Device>)> = self
                .device
                .iter()
                .zip(&devices)
                .filter(|(d, _)| d.link.get_ref() == entry.id.get_ref())
                .collect();
            let site = &self.gateway.site;
            let spec = match *entry.link_type.get_ref() {
                crate::links::LinkType::Modbus => {
                    crate::links::modbus::ModbusLinkConfig::from_entry(
                        entry, site, &members, &maps, problems,
                    )
                    .map(LinkSpec::Modbus)
                }
                _ => entry.into_spec(&gateway_id, site, &members, &codec_maps, problems),
            };
            if let Some(spec) = spec {
                links.push(spec);
            }
        }
        for d in &self.device {
            if !seen_links.contains(d.link.get_ref()) {
                problems.at(
                    d.link.span(),
                    format!("no [[link]] has id {}", d.link.get_ref()),
                );
            }
        }
        Config {
            gateway: self.gateway,
            mqtt,
            influx: self.influx,
            journal: self.journal,
            http: self.http,
            links,
            devices,
            sla: self.sla,
            rules,
        }
    }
}

/// Builds the devices, reporting duplicate IDs.
fn check_devices(entries: &[DeviceEntry], problems: &mut Problems<'_>) -> Vec<Arc<Device>> {
    let mut seen = HashSet::new();
    for d in entries {
        if !seen.insert(d.id.get_ref().clone()) {
            problems.at(
                d.id.span(),
                format!("duplicate device id {}", d.id.get_ref()),
            );
        }
    }
    entries.iter().map(|d| Arc::new(d.device())).collect()
}

#[cfg(test)]
mod tests;

//! MQTT broker connections shared by the links that subscribe (LoRaWAN,
//! direct MQTT) and the normalized-MQTT sink that publishes.
//!
//! Holds the `mqtt://host:port` URL type and builds client options with
//! credentials. Never logs a password.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rumqttc::MqttOptions;
use serde::Deserialize;

use crate::config::secret::SecretFile;

/// `mqtt://host[:port]` (or `tcp://`); the port defaults to 1883. Plain
/// TCP only; credentials in the URL are refused (they would reach logs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
}

/// The URL is not a plain MQTT URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadBrokerUrl {
    #[error("broker URL must start with mqtt:// or tcp:// (TLS, mqtts://, is not supported yet)")]
    Scheme,
    #[error("broker URL needs a host and no user, path or spaces")]
    Host,
    #[error("broker URL has an invalid port")]
    Port,
}

/// The port of `mqtt://` when the URL names none.
pub const DEFAULT_MQTT_PORT: u16 = 1883;

impl FromStr for BrokerUrl {
    type Err = BadBrokerUrl;
    fn from_str(s: &str) -> Result<Self, BadBrokerUrl> {
        let rest = s
            .strip_prefix("mqtt://")
            .or_else(|| s.strip_prefix("tcp://"))
            .ok_or(BadBrokerUrl::Scheme)?
            .trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                (h, p.parse().map_err(|_| BadBrokerUrl::Port)?)
            }
            _ => (rest, DEFAULT_MQTT_PORT),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(BadBrokerUrl::Host);
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "mqtt://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "mqtt://{}:{}", self.host, self.port)
        }
    }
}

impl<'de> Deserialize<'de> for BrokerUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How to reach one broker.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    pub url: BrokerUrl,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<SecretFile>,
}

impl BrokerConfig {
    /// Client options: 30 s keep-alive, credentials. Subscribers use a
    /// persistent session (`clean_session = false`) so that the broker keeps
    /// and redelivers what was not acknowledged while they were away.
    pub fn options(&self, clean_session: bool) -> MqttOptions {
        let mut o = MqttOptions::new(&self.client_id, &self.url.host, self.url.port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(clean_session);
        o.set_max_packet_size(256 * 1024, 256 * 1024);
        if let Some(user) = &self.username {
            let pass = self.password.as_ref().map_or("", |p| p.expose());
            o.set_credentials(user, pass);
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_and_defaults() {
        let url: BrokerUrl = "mqtt://127.0.0.1:18830".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 18830));
        let url: BrokerUrl = "tcp://broker.local/".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("broker.local", 1883));
        let url: BrokerUrl = "mqtt://[::1]:1884".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 1884));
        assert_eq!(url.to_string(), "mqtt://[::1]:1884");
    }

    #[test]
    fn refuses_other_urls() {
        for bad in [
            "",
            "127.0.0.1:1883",
            "mqtts://h:8883",
            "mqtt://",
            "mqtt://:1883",
            "mqtt://h:99999",
            "mqtt://h:x",
            "mqtt://user:pw@h",
            "mqtt://h/path",
        ] {
            assert!(bad.parse::<BrokerUrl>().is_err(), "{bad}");
        }
    }
}

//! `mqtt://host[:port]` broker URLs, as written in gateway configs and on
//! the simulator's command line. Plain TCP only; never accepts credentials
//! in the URL (they would end up in logs).

use std::fmt;
use std::str::FromStr;

/// Where an MQTT broker listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
}

/// The text is not a plain MQTT URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadBrokerUrl {
    #[error("broker URL must start with mqtt:// or tcp://")]
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

//! A test site whose gateway serves the HTTP API, with a token file per
//! role, and requests to it.

use std::time::Duration;

use retrofit_protocols::Timestamp;
use serde_json::Value;

use super::fleet;
use super::free_port;
use super::http::request;
use super::mqtt::publish_all;
use super::rig::{now_ms, Rig};

/// A drainage well that never reports on its own: offline (and its
/// `offline` alarm raised) 3 s after the gateway starts.
pub const QUIET: &str = "drain-quiet";
pub const QUIET_EUI: &str = "70b3d50000000999";

/// The `[[device]]` entry of [`QUIET`], for [`ApiRig::start`]'s `extra`.
pub fn quiet_device() -> String {
    format!(
        "\n[[device]]\nid = \"{QUIET}\"\nkind = \"drainage\"\nlink = \"ns\"\ndev_eui = \"{QUIET_EUI}\"\ndecoder = \"dragino_ldds75\"\nmount_height_m = 3.0\nexpected_interval_s = 1\n"
    )
}

pub const ROLES: [&str; 4] = ["viewer", "technician", "operator", "admin"];

/// A rig whose gateway serves the API with a token file per role.
pub struct ApiRig {
    pub rig: Rig,
    pub port: u16,
    _tokens: tempfile::TempDir,
}

pub fn token(role: &str) -> String {
    format!("{role}-token-5f1c")
}

impl ApiRig {
    /// A rig of `devices` fleet devices; `extra` goes into the gateway
    /// config after the `[http]` table (more `[[device]]` entries, say).
    pub fn start(devices: usize, extra: &str) -> Self {
        let tokens = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!("[http]\nlisten = \"127.0.0.1:{port}\"\n");
        for role in ROLES {
            let path = tokens.path().join(role);
            std::fs::write(&path, format!("{}\n", token(role))).unwrap();
            config += &format!("{role}_token_file = \"{}\"\n", path.display());
        }
        config += extra;
        let rig = Rig::start(devices, &config);
        Self {
            rig,
            port,
            _tokens: tokens,
        }
    }

    /// (status, body) of GET `path` with `token` as bearer, if any.
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        request(self.port, "GET", path, &headers, "").unwrap()
    }

    /// (status, body) of POST `path` with `body` as JSON and `token`.
    pub fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        headers.extend(auth.iter().map(|a| ("Authorization", a.as_str())));
        request(self.port, "POST", path, &headers, body).unwrap()
    }

    pub fn json(&self, path: &str, role: &str) -> Value {
        let (status, body) = self.get(path, Some(&token(role)));
        assert_eq!(status, 200, "GET {path} as {role}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Sends one uplink per device with frame counter `f_cnt`; waits
    /// until all are on the normalized topic.
    pub fn send_one_each(&self, f_cnt: u32) {
        let messages: Vec<_> = self
            .rig
            .devices
            .iter()
            .map(|d| fleet::uplink(d, f_cnt, Timestamp(now_ms()), true).0)
            .collect();
        publish_all(self.rig.input.port, messages);
        let n = self.rig.devices.len();
        self.rig
            .collector
            .wait_for("one reading per device", Duration::from_secs(30), |m| {
                m.iter()
                    .filter(|x| x.topic.ends_with("/telemetry") && x.json()["seq"] == f_cnt)
                    .count()
                    == n
            });
    }
}

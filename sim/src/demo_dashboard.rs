//! The demo's dashboard: an `[http]` table for the in-process gateway on
//! http://127.0.0.1:8080 (a free port if that one is taken), with a fresh
//! random token per role written to files in the demo's data directory,
//! and the banner line that tells the user where to look and how to log in.
//!
//! The tokens live only as long as the demo; they are printed because the
//! demo is for the person at the terminal.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use anyhow::Context as _;

/// The preferred address of the demo's dashboard.
const PREFERRED: &str = "127.0.0.1:8080";
const ROLES: [&str; 4] = ["viewer", "technician", "operator", "admin"];

/// Where the demo's dashboard is served and how to log in.
#[derive(Debug, Clone)]
pub struct DemoDashboard {
    pub listen: SocketAddr,
    /// (role, token) for every role.
    pub tokens: Vec<(&'static str, String)>,
}

impl DemoDashboard {
    /// Picks the address and writes one token file per role into `dir`.
    pub fn prepare(dir: &Path) -> anyhow::Result<Self> {
        let listen = free_address()?;
        let mut rng = fastrand::Rng::new();
        let tokens = ROLES
            .into_iter()
            .map(|role| {
                let token: String = (0..24).map(|_| rng.alphanumeric()).collect();
                std::fs::write(dir.join(format!("{role}.token")), &token)
                    .with_context(|| format!("cannot write the {role} token"))?;
                Ok((role, token))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { listen, tokens })
    }

    /// The `[http]` table for the gateway config.
    pub fn to_toml(&self, dir: &Path) -> String {
        let mut s = format!("[http]\nlisten = \"{}\"\n", self.listen);
        for (role, _) in &self.tokens {
            let file = dir.join(format!("{role}.token"));
            s += &format!("{role}_token_file = {:?}\n", file.display().to_string());
        }
        s
    }

    /// The banner line: the URL and the viewer's and operator's tokens.
    pub fn banner(&self) -> String {
        let token = |role: &str| {
            self.tokens
                .iter()
                .find(|(r, _)| *r == role)
                .map_or("", |(_, t)| t.as_str())
                .to_string()
        };
        format!(
            "dashboard on http://{}/  (log in with viewer token {} or operator token {})",
            self.listen,
            token("viewer"),
            token("operator")
        )
    }
}

/// 127.0.0.1:8080 if it is free, otherwise a free port.
fn free_address() -> anyhow::Result<SocketAddr> {
    let preferred: SocketAddr = PREFERRED.parse()?;
    let listener = TcpListener::bind(preferred)
        .or_else(|_| TcpListener::bind("127.0.0.1:0"))
        .context("no free port for the dashboard")?;
    Ok(listener.local_addr()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_token_file_per_role_and_names_them_in_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let dash = DemoDashboard::prepare(dir.path()).unwrap();
        let table = dash.to_toml(dir.path());
        for (role, token) in &dash.tokens {
            let file = std::fs::read_to_string(dir.path().join(format!("{role}.token"))).unwrap();
            assert_eq!(&file, token);
            assert_eq!(token.len(), 24);
            assert!(table.contains(&format!("{role}_token_file")));
        }
        assert!(dash.banner().contains(&dash.tokens[0].1));
        assert_ne!(dash.tokens[0].1, dash.tokens[2].1);
    }
}

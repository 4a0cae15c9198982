//! The `ocpp` link: the gateway as the site's OCPP 1.6J central system for
//! its EV chargers (spec §4, §7, §8), a WebSocket server through axum with
//! message types from `rust-ocpp`.
//!
//! ```toml
//! [[link]]
//! id = "piles"
//! type = "ocpp"
//! listen = "0.0.0.0:8180"          # ws://HOST:8180/ocpp/{charge_point_id}
//! heartbeat_interval_s = 300       # default
//! id_tags = ["04A2B3C4", "OPS-1"]  # local list for Authorize
//!
//! [[device]]
//! id = "pile-01"
//! kind = "ev_charger"
//! link = "piles"
//! charge_point_id = "KFG-PILE-01"
//! connectors = 2
//! password_file = "/etc/retrofit/pile-01.pass"   # HTTP Basic, profile 1
//! ```
//!
//! Charge points authenticate with HTTP Basic (`server`); one whose ID is
//! not configured only gets its BootNotification rejected (`unknown`).
//! Each connection (`connection`) is one `ChargePointSession` (`session`)
//! whose CALLs are answered by `handlers` and `charging`. Status notifications become the
//! `status`/`error_code` metrics and `charger_fault` alarms, meter values
//! our metrics and units (`meter`), transactions `session_started` and
//! `session_stopped` events with IDs kept in the data directory
//! (`transactions`). Operator commands are in `commands`.
//!
//! Every `.conf` for data (StatusNotification, MeterValues, Start- and
//! StopTransaction) leaves only after the journal commit; this module never
//! acknowledges anything that is not durable.

mod charging;
pub mod commands;
mod config;
mod connection;
pub mod frame;
mod handlers;
pub mod meter;
mod server;
mod session;
pub mod transactions;
mod unknown;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod unknown_tests;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use commands::{CommandError, Commands, Registry};
pub use config::{ChargePointConfig, OcppLinkConfig, DEFAULT_HEARTBEAT_INTERVAL_S};
pub use server::SUBPROTOCOL;

use crate::links::subscriber::LinkContext;
use server::Central;
use session::LinkState;
use transactions::TransactionStore;

/// Why the link could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] transactions::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// A started central system: its address and its operator commands.
pub struct OcppCentral {
    pub local_addr: std::net::SocketAddr,
    pub commands: Commands,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl OcppCentral {
    /// Opens the transaction store, binds the listener and serves until
    /// `stop`.
    pub async fn start(
        config: Arc<OcppLinkConfig>,
        ctx: LinkContext,
        stop: CancellationToken,
    ) -> Result<Self, StartError> {
        let dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || TransactionStore::open(&dir))
            .await
            .map_err(|_| transactions::StoreError::Task)??;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
        for (id, cp) in config
            .charge_points
            .iter()
            .filter(|(_, cp)| cp.password.is_none())
        {
            tracing::warn!(link = %config.id, charge_point = %id, device = %cp.device.id, "no password_file: this charge point is accepted on its identity alone (no security profile)");
        }
        let registry = Registry::default();
        let link = Arc::new(LinkState { config, ctx, store });
        let central = Central::new(link, registry.clone(), stop);
        let serving = tokio::spawn(server::serve(listener, central));
        Ok(Self {
            local_addr,
            commands: Commands::new(registry),
            serving,
        })
    }

    /// Waits until the server stops.
    pub async fn finished(self) -> std::io::Result<()> {
        self.serving.await.unwrap_or(Ok(()))
    }
}

/// Runs the link until `stop` (the daemon's entry point); returns early,
/// to be restarted by the supervisor, when it cannot listen.
pub async fn run_ocpp_link(config: Arc<OcppLinkConfig>, ctx: LinkContext, stop: CancellationToken) {
    let link = ctx.link.clone();
    match OcppCentral::start(config, ctx, stop).await {
        Ok(central) => {
            tracing::info!(%link, addr = %central.local_addr, "ocpp central system listening");
            if let Err(e) = central.finished().await {
                tracing::error!(%link, error = %e, "ocpp server failed");
            }
        }
        Err(e) => tracing::error!(%link, error = %e, "ocpp link cannot start"),
    }
}

//! The HTTP API (spec §11) on `axum`: `/healthz`, `/metrics`, the device
//! and alarm views, the live feed, the OpenAPI document and the dashboard,
//! served by `retrofit-gateway run` when `[http]` is configured.
//!
//! Every `/api/v1` route and `/metrics` needs a bearer token of a role
//! allowed to use it ([`auth`]); `/healthz`, `/api/v1/openapi.json` and the
//! dashboard's files are open. The server only reads the gateway's state (the live view, the
//! outputs' health, the journal's statistics, the counters); it never
//! blocks the data path, and a port that cannot be bound is retried
//! without stopping the pipeline.

pub mod auth;
mod dashboard;
mod devices;
pub mod error;
mod events;
mod health;
mod maintenance;
mod metrics;
pub mod openapi;
mod upkeep;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use self::auth::{Role, Tokens};
use crate::backoff::Backoff;
use crate::config::secret::SecretFile;
use crate::config::Config;
use crate::counters::Counters;
use crate::devices::Device;
use crate::intake::JournalHealth;
use crate::journal::Journal;
use crate::live_view::LiveView;
use crate::output_health::OutputHealth;
use crate::upkeep::store::HistoryStore;

/// `[http]`: where the API listens and the token of each role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// A second address serving only `/metrics`, without a token (for a
    /// scraper on a trusted network).
    pub metrics_listen: Option<SocketAddr>,
    pub viewer_token_file: Option<SecretFile>,
    pub technician_token_file: Option<SecretFile>,
    pub operator_token_file: Option<SecretFile>,
    pub admin_token_file: Option<SecretFile>,
}

impl HttpConfig {
    /// [`HttpConfig::tokens`] with the process environment.
    pub fn tokens_from_process_env(&self) -> Tokens {
        let vars: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("RETROFIT_TOKEN_"))
            .collect();
        self.tokens(&vars)
    }

    /// What `check` warns of: roles that have no token.
    pub fn warnings(&self) -> Vec<String> {
        self.tokens_from_process_env()
            .missing()
            .into_iter()
            .map(|role| {
                format!(
                    "[http] has no token for role {0}: its routes answer 401 (set {0}_token_file or {1})",
                    role.name(),
                    role.env_var()
                )
            })
            .collect()
    }

    /// The tokens from the files, overridden by `RETROFIT_TOKEN_<ROLE>`
    /// variables of `env` that hold a token themselves.
    pub fn tokens(&self, env: &[(String, String)]) -> Tokens {
        let files = [
            (Role::Viewer, &self.viewer_token_file),
            (Role::Technician, &self.technician_token_file),
            (Role::Operator, &self.operator_token_file),
            (Role::Admin, &self.admin_token_file),
        ];
        files
            .into_iter()
            .fold(Tokens::default(), |tokens, (role, file)| {
                let var = role.env_var();
                match env.iter().find(|(k, _)| *k == var) {
                    Some((_, token)) => tokens.with(role, token.trim()),
                    None => match file {
                        Some(f) => tokens.with(role, f.expose()),
                        None => tokens,
                    },
                }
            })
    }
}

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    pub tokens: Arc<Tokens>,
    pub devices: Arc<Vec<Arc<Device>>>,
    pub view: Arc<LiveView>,
    pub outputs: OutputHealth,
    pub journal: Journal,
    /// Whether the journal commits (the intake's health; holding the
    /// intake itself would keep it from stopping).
    pub journal_health: tokio::sync::watch::Receiver<JournalHealth>,
    pub counters: Arc<Counters>,
    /// The kept history (acknowledge, arrive, service levels), if open.
    pub history: Option<HistoryStore>,
    pub config: Arc<Config>,
}

/// Every route of the API.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(dashboard::index))
        .route("/app.js", get(dashboard::script))
        .route("/style.css", get(dashboard::style))
        .route("/api/v1/whoami", get(dashboard::whoami))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics_with_token))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/devices", get(devices::list))
        .route("/api/v1/devices/{device}", get(devices::one))
        .route("/api/v1/devices/{device}/history", get(devices::history))
        .route("/api/v1/alarms", get(devices::alarms))
        .route("/api/v1/alarms/{alarm_id}/ack", post(upkeep::ack))
        .route("/api/v1/alarms/{alarm_id}/arrive", post(upkeep::arrive))
        .route("/api/v1/sla", get(upkeep::sla))
        .route(
            "/api/v1/maintenance",
            get(maintenance::list).post(maintenance::add),
        )
        .route("/api/v1/maintenance/{id}", delete(maintenance::delete))
        .route("/api/v1/events", get(events::live))
        .with_state(state)
}

/// Serves the API (and the metrics-only address) until `stop`.
pub async fn serve(config: HttpConfig, state: ApiState, stop: CancellationToken) {
    let api = serve_on(config.listen, router(state.clone()), stop.clone());
    match config.metrics_listen {
        Some(addr) => {
            let open = Router::new()
                .route("/metrics", get(metrics::metrics_open))
                .with_state(state);
            tokio::join!(api, serve_on(addr, open, stop));
        }
        None => api.await,
    }
}

/// Binds `addr` (retrying with backoff while it is taken) and serves.
async fn serve_on(addr: SocketAddr, app: Router, stop: CancellationToken) {
    let mut backoff = Backoff::default();
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) => {
                let wait = backoff.next_delay(None);
                tracing::error!(%addr, error = %e, retry_in = ?wait, "cannot listen for HTTP; the data path goes on without it");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop.cancelled() => return,
                }
            }
        }
    };
    tracing::info!(%addr, "HTTP API listening");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await;
    if let Err(e) = served {
        tracing::error!(%addr, error = %e, "HTTP server stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_the_environment_overrides_the_file_and_missing_roles_are_named() {
        let config: HttpConfig = toml::from_str("listen = \"127.0.0.1:1\"").unwrap();
        let env = [(
            "RETROFIT_TOKEN_OPERATOR".to_string(),
            "op-from-env\n".to_string(),
        )];
        let tokens = config.tokens(&env);
        assert_eq!(
            tokens.missing(),
            [Role::Viewer, Role::Technician, Role::Admin]
        );
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", "Bearer op-from-env".parse().unwrap());
        assert_eq!(tokens.role_of(&headers).unwrap(), Role::Operator);
    }
}

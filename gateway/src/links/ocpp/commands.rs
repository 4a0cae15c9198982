//! Operator commands to connected charge points, as library calls for the
//! HTTP API (OCPP 1.6 Core and Remote Trigger): RemoteStartTransaction,
//! RemoteStopTransaction, Reset, ChangeAvailability, UnlockConnector and
//! TriggerMessage.
//!
//! A command is handed to the charge point's connection, which sends it as
//! a CALL with a fresh message ID once no other CALL of ours is waiting
//! (OCPP-J allows one at a time) and matches the reply by that ID. A
//! command never waits longer than [`CALL_TIMEOUT`]; it never reaches a
//! charge point that is not connected now.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_ocpp::v1_6::messages::change_availability::{
    ChangeAvailabilityRequest, ChangeAvailabilityResponse,
};
use rust_ocpp::v1_6::messages::remote_start_transaction::{
    RemoteStartTransactionRequest, RemoteStartTransactionResponse,
};
use rust_ocpp::v1_6::messages::remote_stop_transaction::{
    RemoteStopTransactionRequest, RemoteStopTransactionResponse,
};
use rust_ocpp::v1_6::messages::reset::{ResetRequest, ResetResponse};
use rust_ocpp::v1_6::messages::trigger_message::{TriggerMessageRequest, TriggerMessageResponse};
use rust_ocpp::v1_6::messages::unlock_connector::{
    UnlockConnectorRequest, UnlockConnectorResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::frame::CallError;

/// Longest wait for a charge point's reply to one of our CALLs.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a command got no answer it could use.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("charge point {0} is not connected")]
    NotConnected(String),
    #[error("no reply within {CALL_TIMEOUT:?}")]
    Timeout,
    #[error("the connection closed before the reply")]
    Closed,
    #[error("the charge point answered {}: {}", .0.code, .0.description)]
    Refused(CallError),
    #[error("the reply does not match the {action} schema: {detail}")]
    BadReply {
        action: &'static str,
        detail: String,
    },
}

/// A CALL of ours on its way to a connection.
pub struct OutgoingCall {
    pub action: &'static str,
    pub payload: Value,
    pub reply: oneshot::Sender<Result<Value, CallError>>,
}

/// The connection of one charge point.
struct Connected {
    generation: u64,
    calls: mpsc::Sender<OutgoingCall>,
    replaced: CancellationToken,
}

/// Who is connected now: one connection per charge point, the newest.
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<(u64, HashMap<String, Connected>)>>,
}

impl Registry {
    /// Registers a new connection and closes the one it replaces; returns
    /// its generation, its calls and its "replaced" signal.
    pub fn connect(
        &self,
        charge_point: &str,
    ) -> (u64, mpsc::Receiver<OutgoingCall>, CancellationToken) {
        let (tx, rx) = mpsc::channel(8);
        let replaced = CancellationToken::new();
        let Ok(mut inner) = self.inner.lock() else {
            return (0, rx, replaced);
        };
        inner.0 += 1;
        let generation = inner.0;
        let entry = Connected {
            generation,
            calls: tx,
            replaced: replaced.clone(),
        };
        if let Some(old) = inner.1.insert(charge_point.to_string(), entry) {
            old.replaced.cancel();
        }
        (generation, rx, replaced)
    }

    /// Forgets a connection that ended, unless a newer one replaced it.
    pub fn disconnect(&self, charge_point: &str, generation: u64) {
        if let Ok(mut inner) = self.inner.lock() {
            if inner
                .1
                .get(charge_point)
                .is_some_and(|c| c.generation == generation)
            {
                inner.1.remove(charge_point);
            }
        }
    }

    /// Whether the charge point is connected now.
    pub fn is_connected(&self, charge_point: &str) -> bool {
        self.inner
            .lock()
            .is_ok_and(|i| i.1.contains_key(charge_point))
    }

    fn sender(&self, charge_point: &str) -> Option<mpsc::Sender<OutgoingCall>> {
        self.inner
            .lock()
            .ok()?
            .1
            .get(charge_point)
            .map(|c| c.calls.clone())
    }
}

/// The operator commands; cheap to clone.
#[derive(Clone)]
pub struct Commands {
    registry: Registry,
}

impl Commands {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }

    pub async fn remote_start(
        &self,
        cp: &str,
        req: RemoteStartTransactionRequest,
    ) -> Result<RemoteStartTransactionResponse, CommandError> {
        self.call(cp, "RemoteStartTransaction", &req).await
    }

    pub async fn remote_stop(
        &self,
        cp: &str,
        req: RemoteStopTransactionRequest,
    ) -> Result<RemoteStopTransactionResponse, CommandError> {
        self.call(cp, "RemoteStopTransaction", &req).await
    }

    pub async fn reset(&self, cp: &str, req: ResetRequest) -> Result<ResetResponse, CommandError> {
        self.call(cp, "Reset", &req).await
    }

    pub async fn change_availability(
        &self,
        cp: &str,
        req: ChangeAvailabilityRequest,
    ) -> Result<ChangeAvailabilityResponse, CommandError> {
        self.call(cp, "ChangeAvailability", &req).await
    }

    pub async fn unlock_connector(
        &self,
        cp: &str,
        req: UnlockConnectorRequest,
    ) -> Result<UnlockConnectorResponse, CommandError> {
        self.call(cp, "UnlockConnector", &req).await
    }

    pub async fn trigger_message(
        &self,
        cp: &str,
        req: TriggerMessageRequest,
    ) -> Result<TriggerMessageResponse, CommandError> {
        self.call(cp, "TriggerMessage", &req).await
    }

    async fn call<Req: Serialize, Conf: DeserializeOwned>(
        &self,
        cp: &str,
        action: &'static str,
        req: &Req,
    ) -> Result<Conf, CommandError> {
        let bad = |e: serde_json::Error| CommandError::BadReply {
            action,
            detail: e.to_string(),
        };
        let payload = serde_json::to_value(req).map_err(bad)?;
        let sender = self
            .registry
            .sender(cp)
            .ok_or_else(|| CommandError::NotConnected(cp.to_string()))?;
        let (reply, answer) = oneshot::channel();
        let call = OutgoingCall {
            action,
            payload,
            reply,
        };
        let sent = async {
            sender.send(call).await.map_err(|_| CommandError::Closed)?;
            answer.await.map_err(|_| CommandError::Closed)
        };
        let answer = tokio::time::timeout(CALL_TIMEOUT, sent)
            .await
            .map_err(|_| CommandError::Timeout)??;
        let value = answer.map_err(CommandError::Refused)?;
        serde_json::from_value(value).map_err(bad)
    }
}

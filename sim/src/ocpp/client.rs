//! A charge point's end of OCPP-J: a WebSocket to the central system with
//! subprotocol `ocpp1.6` and HTTP Basic auth, CALLs matched to their
//! replies by message ID, and a CALLERROR (`NotSupported`) for every CALL
//! the central system sends (the simulated piles take no commands yet).
//!
//! Framing comes from the gateway's `links::ocpp::frame`; this module
//! never waits for a reply longer than [`REPLY_TIMEOUT`].

use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use retrofit_gateway::links::ocpp::frame::{self, CallError, ErrorCode, Frame};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for the central system's reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("websocket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("bad request: {0}")]
    Request(String),
    #[error("no reply within {REPLY_TIMEOUT:?}")]
    Timeout,
    #[error("the connection closed")]
    Closed,
    #[error("the central system answered {}: {}", .0.code, .0.description)]
    Refused(CallError),
    #[error("the reply does not decode: {0}")]
    Decode(#[from] serde_json::Error),
}

/// A connected charge point.
pub struct OcppClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl OcppClient {
    /// Connects to `{url}/{charge_point_id}`.
    pub async fn connect(
        url: &str,
        charge_point_id: &str,
        password: Option<&str>,
    ) -> Result<Self, ClientError> {
        let mut request = format!("{url}/{charge_point_id}")
            .into_client_request()
            .map_err(|e| ClientError::Request(e.to_string()))?;
        let headers = request.headers_mut();
        let header = |v: String| v.parse().map_err(|_| ClientError::Request("header".into()));
        headers.insert("Sec-WebSocket-Protocol", header("ocpp1.6".into())?);
        if let Some(password) = password {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{charge_point_id}:{password}"));
            headers.insert("Authorization", header(format!("Basic {token}"))?);
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { ws, next_id: 0 })
    }

    /// Sends a CALL and waits for its CALLRESULT; also returns how long the
    /// confirmation took.
    pub async fn call<Req: Serialize, Conf: DeserializeOwned>(
        &mut self,
        action: &str,
        request: &Req,
    ) -> Result<(Conf, Duration), ClientError> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let text = frame::call_text(&id, action, &serde_json::to_value(request)?);
        let sent = Instant::now();
        self.ws.send(Message::text(text)).await?;
        let payload = tokio::time::timeout(REPLY_TIMEOUT, self.reply_to(&id))
            .await
            .map_err(|_| ClientError::Timeout)??;
        Ok((serde_json::from_value(payload)?, sent.elapsed()))
    }

    async fn reply_to(&mut self, id: &str) -> Result<serde_json::Value, ClientError> {
        loop {
            let message = self.ws.next().await.ok_or(ClientError::Closed)??;
            let Message::Text(text) = message else {
                continue;
            };
            match frame::parse(text.as_str()) {
                Ok(Frame::CallResult { id: got, payload }) if got == id => return Ok(payload),
                Ok(Frame::CallError(e)) if e.id == id => return Err(ClientError::Refused(e)),
                Ok(Frame::Call {
                    id: got, action, ..
                }) => {
                    let e = CallError::new(
                        &got,
                        ErrorCode::NotSupported,
                        format!("{action} is not simulated"),
                    );
                    self.ws.send(Message::text(e.to_text())).await?;
                }
                _ => {}
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

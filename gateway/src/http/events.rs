//! `GET /api/v1/events`: every committed reading (telemetry, events,
//! status) as it happens, as server-sent events, for the dashboard's live
//! updates. Readable by every role.
//!
//! A client that falls behind is told how many readings it missed (an
//! `event: lagged` message) and goes on; it never slows the gateway.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt as _};

use super::auth::Role;
use super::error::ApiError;
use super::ApiState;

#[utoipa::path(get, path = "/api/v1/events", tag = "live", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream: `reading` events whose data is a normalized payload (spec §5)"),
        (status = 401, body = super::openapi::ErrorBody)))]
pub async fn live(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    state.tokens.require(&headers, Role::Viewer)?;
    let stream = BroadcastStream::new(state.view.subscribe()).map(|item| {
        Ok(match item {
            Ok(payload) => Event::default().event("reading").data(&*payload),
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                Event::default().event("lagged").data(n.to_string())
            }
        })
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

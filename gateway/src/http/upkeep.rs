//! Upkeep routes on the kept history (issue 12's library): acknowledge an
//! alarm (`operator`), mark a technician's arrival (`technician`), and
//! the service levels of §12 as JSON or CSV (`viewer`).
//!
//! A mark is recorded in the history first, then shown live to every
//! dashboard; an unknown alarm is a 404, a malformed body a 400, never a
//! record. SQLite work runs on the blocking pool.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use retrofit_protocols::reading::AlarmId;
use retrofit_protocols::{DeviceKind, Timestamp};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Role;
use super::error::ApiError;
use super::ApiState;
use crate::upkeep::store::{Action, AlarmError, HistoryStore};

/// Longest name a mark may carry.
const BY_MAX_LEN: usize = 64;

/// Who acknowledged or arrived.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkBody {
    /// The person's name, 1 to 64 characters.
    pub by: String,
}

/// The window and selection of `GET /api/v1/sla`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SlaParams {
    /// Window start, RFC 3339 (inclusive).
    pub from: String,
    /// Window end, RFC 3339 (exclusive).
    pub to: String,
    pub kind: Option<String>,
    pub device: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Runs a history call on the blocking pool; its failure is a 503.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::upkeep::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::unavailable(format!("history task: {e}")))?
        .map_err(|e| ApiError::unavailable(format!("history: {e}")))
}

/// A query parameter `name` as an RFC 3339 time, or a 400.
pub(super) fn timestamp(name: &str, value: &str) -> Result<Timestamp, ApiError> {
    value
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

pub(super) fn store(state: &ApiState) -> Result<HistoryStore, ApiError> {
    state
        .history
        .clone()
        .ok_or_else(|| ApiError::not_found("this gateway keeps no history"))
}

async fn mark(
    state: ApiState,
    headers: HeaderMap,
    id: String,
    body: Result<Json<MarkBody>, JsonRejection>,
    action: Action,
) -> Result<Response, ApiError> {
    let needed = match action {
        Action::Acknowledge => Role::Operator,
        Action::Arrive => Role::Technician,
    };
    state.tokens.require(&headers, needed)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let by = body.by.trim().to_string();
    if by.is_empty() || by.chars().count() > BY_MAX_LEN {
        return Err(ApiError::bad_request(format!(
            "by must be 1 to {BY_MAX_LEN} characters"
        )));
    }
    let alarm =
        AlarmId::parse(&id).map_err(|e| ApiError::bad_request(format!("alarm id {id:?}: {e}")))?;
    let store = store(&state)?;
    let (who, at) = (by.clone(), crate::clock::now());
    let marked = tokio::task::spawn_blocking(move || store.mark(action, &alarm, &who, at))
        .await
        .map_err(|e| ApiError::unavailable(format!("history task: {e}")))?;
    let alarm = match marked {
        Ok(alarm) => alarm,
        Err(AlarmError::NotFound(id)) => return Err(ApiError::not_found(format!("no alarm {id}"))),
        Err(AlarmError::Store(e)) => return Err(ApiError::unavailable(format!("history: {e}"))),
    };
    let field = match action {
        Action::Acknowledge => "acked_by",
        Action::Arrive => "arrived_by",
    };
    state
        .view
        .mark_alarm(alarm.device.as_str(), alarm.alarm_id.as_str(), field, &by);
    Ok(Json(alarm).into_response())
}

#[utoipa::path(post, path = "/api/v1/alarms/{alarm_id}/ack", tag = "alarms",
    params(("alarm_id" = String, Path)), request_body = MarkBody, security(("bearer" = [])),
    responses((status = 200, description = "the alarm as it now stands"),
        (status = 400, body = super::openapi::ErrorBody), (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody), (status = 404, body = super::openapi::ErrorBody)))]
pub async fn ack(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<MarkBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    mark(state, headers, id, body, Action::Acknowledge).await
}

#[utoipa::path(post, path = "/api/v1/alarms/{alarm_id}/arrive", tag = "alarms",
    params(("alarm_id" = String, Path)), request_body = MarkBody, security(("bearer" = [])),
    responses((status = 200, description = "the alarm as it now stands"),
        (status = 400, body = super::openapi::ErrorBody), (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody), (status = 404, body = super::openapi::ErrorBody)))]
pub async fn arrive(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<MarkBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    mark(state, headers, id, body, Action::Arrive).await
}

#[utoipa::path(get, path = "/api/v1/sla", tag = "sla", params(SlaParams), security(("bearer" = [])),
    responses((status = 200, description = "service levels (spec §12) per device, kind and site, as JSON or CSV"),
        (status = 400, body = super::openapi::ErrorBody), (status = 401, body = super::openapi::ErrorBody)))]
pub async fn sla(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Result<Query<SlaParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    state.tokens.require(&headers, Role::Viewer)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let window = (timestamp("from", &p.from)?, timestamp("to", &p.to)?);
    let kind = p
        .kind
        .as_deref()
        .map(|k| {
            k.parse::<DeviceKind>()
                .map_err(|_| ApiError::bad_request(format!("unknown kind {k:?}")))
        })
        .transpose()?;
    let devices: Vec<_> = state
        .config
        .devices
        .iter()
        .filter(|d| kind.is_none_or(|k| d.kind == k))
        .filter(|d| p.device.as_deref().is_none_or(|id| d.id.as_str() == id))
        .cloned()
        .collect();
    if let Some(id) = p.device.as_deref().filter(|_| devices.is_empty()) {
        return Err(ApiError::not_found(format!("no device {id} is configured")));
    }
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format must be json or csv, not {other:?}"
            )))
        }
    };
    let (store, config) = (store(&state)?, state.config.clone());
    let report = tokio::task::spawn_blocking(move || {
        let history = store
            .load(&config.gateway.site, window.0, window.1)
            .map_err(|e| ApiError::unavailable(format!("history: {e}")))?;
        crate::upkeep::service_levels(&config, &devices, window, &history)
            .map_err(|_| ApiError::bad_request("to must be after from"))
    })
    .await
    .map_err(|e| ApiError::bad_request(format!("sla failed: {e}")))??;
    let mut out = Vec::new();
    if csv {
        crate::upkeep::render::csv(&report, &mut out)
            .map_err(|e| ApiError::bad_request(format!("csv: {e}")))?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    Ok(Json(report).into_response())
}

//! Device and alarm routes: `GET /api/v1/devices`, `/devices/{device}`,
//! `/devices/{device}/history` and `/alarms`, from the configured devices
//! and the live view. Readable by every role.
//!
//! Unknown devices and bad query parameters get a JSON error, never a 500.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::Role;
use super::error::ApiError;
use super::ApiState;
use crate::devices::Device;
use crate::live_view::DeviceView;

/// Most items one page of a list returns.
const PAGE_MAX: usize = 1000;
const PAGE_DEFAULT: usize = 100;

/// A device and what the gateway knows of it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceSummary {
    pub id: String,
    pub kind: String,
    pub link: String,
    /// `online`, `offline` or `unknown` (nothing heard since start).
    pub status: String,
    /// Its latest status payload (spec §5), if any.
    #[schema(value_type = Option<Object>)]
    pub status_detail: Option<Value>,
    /// Its latest telemetry payload, if any.
    #[schema(value_type = Option<Object>)]
    pub last_reading: Option<Value>,
    /// Its raised and not yet cleared alarms (event payloads).
    #[schema(value_type = Vec<Object>)]
    pub open_alarms: Vec<Value>,
}

/// The device list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceSummary>,
}

/// One device with its recent readings.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceDetail {
    #[serde(flatten)]
    pub device: DeviceSummary,
    /// Its most recent readings, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub recent: Vec<Value>,
}

/// A device's events and status changes, oldest first: from the kept
/// history over the window asked for, or (without one) from the live view.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceHistory {
    pub device: String,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

/// One page of alarms.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmPage {
    pub total: usize,
    pub offset: usize,
    #[schema(value_type = Vec<Object>)]
    pub alarms: Vec<Value>,
}

/// Filters of the device list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeviceFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status (`online`, `offline`, `unknown`).
    pub status: Option<String>,
    /// Only devices whose id contains this text.
    pub q: Option<String>,
}

/// Filters and page of the alarm list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlarmFilter {
    /// `active` (default): raised and not cleared; `all`: also the
    /// cleared and instant events the view still holds.
    pub state: Option<String>,
    pub kind: Option<String>,
    pub device: Option<String>,
    pub severity: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

fn summary(device: &Device, view: Option<&DeviceView>) -> DeviceSummary {
    let status_detail = view.and_then(|v| v.status.clone());
    let status = status_detail
        .as_ref()
        .and_then(|s| s.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    DeviceSummary {
        id: device.id.to_string(),
        kind: device.kind.to_string(),
        link: device.link.to_string(),
        status,
        status_detail,
        last_reading: view.and_then(DeviceView::last_telemetry),
        open_alarms: view
            .map(|v| v.active_alarms.values().cloned().collect())
            .unwrap_or_default(),
    }
}

fn find<'a>(state: &'a ApiState, id: &str) -> Result<&'a Device, ApiError> {
    state
        .devices
        .iter()
        .find(|d| d.id.as_str() == id)
        .map(|d| d.as_ref())
        .ok_or_else(|| ApiError::not_found(format!("no device {id} is configured")))
}

#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", params(DeviceFilter),
    security(("bearer" = [])),
    responses((status = 200, body = DeviceList), (status = 400, body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    filter: Result<Query<DeviceFilter>, QueryRejection>,
) -> Result<Json<DeviceList>, ApiError> {
    state.tokens.require(&headers, Role::Viewer)?;
    let filter = query(filter)?;
    let views = state.view.summaries();
    let devices = state
        .devices
        .iter()
        .map(|d| summary(d, views.get(d.id.as_str())))
        .filter(|d| filter.kind.as_ref().is_none_or(|k| *k == d.kind))
        .filter(|d| filter.status.as_ref().is_none_or(|s| *s == d.status))
        .filter(|d| filter.q.as_ref().is_none_or(|q| d.id.contains(q.as_str())))
        .collect();
    Ok(Json(DeviceList { devices }))
}

#[utoipa::path(get, path = "/api/v1/devices/{device}", tag = "devices",
    params(("device" = String, Path, description = "device id")), security(("bearer" = [])),
    responses((status = 200, body = DeviceDetail), (status = 404, body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody)))]
pub async fn one(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<DeviceDetail>, ApiError> {
    state.tokens.require(&headers, Role::Viewer)?;
    let device = find(&state, &id)?;
    let view = state.view.device(&id);
    Ok(Json(DeviceDetail {
        device: summary(device, view.as_ref()),
        recent: view.map(|v| v.recent()).unwrap_or_default(),
    }))
}

#[utoipa::path(get, path = "/api/v1/devices/{device}/history", tag = "devices",
    params(("device" = String, Path, description = "device id"), HistoryWindow), security(("bearer" = [])),
    responses((status = 200, body = DeviceHistory), (status = 404, body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody)))]
pub async fn history(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    window: Result<Query<HistoryWindow>, QueryRejection>,
) -> Result<Json<DeviceHistory>, ApiError> {
    state.tokens.require(&headers, Role::Viewer)?;
    find(&state, &id)?;
    let window = query(window)?;
    let events = match state.history.clone() {
        Some(store) => kept_events(store, &state, &id, window).await?,
        None => state
            .view
            .device(&id)
            .map(|v| v.recent())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.get("metrics").is_none())
            .collect(),
    };
    Ok(Json(DeviceHistory { device: id, events }))
}

/// The window of a device's history (RFC 3339); the last 7 days by default.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryWindow {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Days of history a device page shows unless asked for another window.
const HISTORY_DEFAULT_DAYS: i64 = 7;

/// The device's events and status changes in the kept history.
async fn kept_events(
    store: crate::upkeep::store::HistoryStore,
    state: &ApiState,
    id: &str,
    window: HistoryWindow,
) -> Result<Vec<Value>, ApiError> {
    let time = |name: &str, v: Option<&str>, default| {
        v.map_or(Ok(default), |v| super::upkeep::timestamp(name, v))
    };
    let now = crate::clock::now();
    let to = time("to", window.to.as_deref(), now)?;
    let default_from = retrofit_protocols::Timestamp(to.0 - HISTORY_DEFAULT_DAYS * 86_400_000);
    let from = time("from", window.from.as_deref(), default_from)?;
    if to <= from {
        return Err(ApiError::bad_request("to must be after from"));
    }
    let (site, device) = (state.config.gateway.site.clone(), id.to_string());
    let history = super::upkeep::blocking(move || store.load(&site, from, to)).await?;
    Ok(history
        .readings
        .iter()
        .filter(|r| r.device.as_str() == device)
        .filter(|r| !matches!(r.body, retrofit_protocols::reading::Body::Telemetry(_)))
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect())
}

#[utoipa::path(get, path = "/api/v1/alarms", tag = "alarms", params(AlarmFilter),
    security(("bearer" = [])),
    responses((status = 200, body = AlarmPage), (status = 400, body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody)))]
pub async fn alarms(
    State(state): State<ApiState>,
    headers: HeaderMap,
    filter: Result<Query<AlarmFilter>, QueryRejection>,
) -> Result<Json<AlarmPage>, ApiError> {
    state.tokens.require(&headers, Role::Viewer)?;
    let filter = query(filter)?;
    let all = match filter.state.as_deref() {
        None | Some("active") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "state must be active or all, not {other:?}"
            )))
        }
    };
    let limit = filter.limit.unwrap_or(PAGE_DEFAULT);
    if limit == 0 || limit > PAGE_MAX {
        return Err(ApiError::bad_request(format!(
            "limit must be 1..={PAGE_MAX}"
        )));
    }
    let mut alarms = collect_alarms(&state, all);
    let wanted = |a: &Value, key: &str, want: &Option<String>| {
        want.as_ref()
            .is_none_or(|w| a.get(key).and_then(Value::as_str) == Some(w.as_str()))
    };
    alarms.retain(|a| {
        wanted(a, "kind", &filter.kind)
            && wanted(a, "device", &filter.device)
            && wanted(a, "severity", &filter.severity)
    });
    let offset = filter.offset.unwrap_or(0);
    let total = alarms.len();
    let alarms = alarms.into_iter().skip(offset).take(limit).collect();
    Ok(Json(AlarmPage {
        total,
        offset,
        alarms,
    }))
}

/// Active alarms (and with `all`, every event the view holds), newest
/// first.
fn collect_alarms(state: &ApiState, all: bool) -> Vec<Value> {
    let mut alarms: Vec<Value> = if all {
        let mut seen: HashMap<String, Value> = HashMap::new();
        for id in state.view.summaries().into_keys() {
            for r in state
                .view
                .device(&id)
                .map(|v| v.recent())
                .unwrap_or_default()
            {
                if r.get("event").is_some() {
                    let key = format!("{id}/{}/{}", r["seq"], r["state"]);
                    seen.insert(key, r);
                }
            }
        }
        seen.into_values().collect()
    } else {
        state
            .view
            .summaries()
            .into_values()
            .flat_map(|v| v.active_alarms.into_values())
            .collect()
    };
    alarms.sort_by(|a, b| {
        let ts = |v: &Value| {
            v.get("ts")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        ts(b).cmp(&ts(a))
    });
    alarms
}

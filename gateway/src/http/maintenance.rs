//! `GET|POST|DELETE /api/v1/maintenance`: planned maintenance windows in
//! the kept history, which the service levels exclude (spec §12). Anyone
//! may read them; operators add and delete them. Windows from `[sla]` in
//! the config are listed with `"from_config": true` and cannot be deleted.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Role;
use super::error::ApiError;
use super::upkeep::{blocking, store};
use super::ApiState;
use crate::upkeep::history::Maintenance;

/// A maintenance window and where it comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceWindow {
    /// Its id (`null` for windows from the config).
    pub id: Option<i64>,
    pub from_config: bool,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub window: Maintenance,
}

/// Every window.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceList {
    pub windows: Vec<MaintenanceWindow>,
}

#[utoipa::path(get, path = "/api/v1/maintenance", tag = "maintenance", security(("bearer" = [])),
    responses((status = 200, body = MaintenanceList), (status = 401, body = super::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<MaintenanceList>, ApiError> {
    state.tokens.require(&headers, Role::Viewer)?;
    let store = store(&state)?;
    let stored = blocking(move || store.maintenance_windows()).await?;
    let configured = state
        .config
        .sla
        .planned()
        .into_iter()
        .map(|window| MaintenanceWindow {
            id: None,
            from_config: true,
            window,
        });
    let windows = configured
        .chain(stored.into_iter().map(|(id, window)| MaintenanceWindow {
            id: Some(id),
            from_config: false,
            window,
        }))
        .collect();
    Ok(Json(MaintenanceList { windows }))
}

#[utoipa::path(post, path = "/api/v1/maintenance", tag = "maintenance", security(("bearer" = [])),
    request_body(content = Object, description = "`from`, `to` (RFC 3339), optional `device` or `kind`, `reason`"),
    responses((status = 201, body = MaintenanceWindow), (status = 400, body = super::openapi::ErrorBody),
        (status = 401, body = super::openapi::ErrorBody), (status = 403, body = super::openapi::ErrorBody)))]
pub async fn add(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<Maintenance>, JsonRejection>,
) -> Result<Response, ApiError> {
    state.tokens.require(&headers, Role::Operator)?;
    let Json(window) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if window.to <= window.from {
        return Err(ApiError::bad_request("to must be after from"));
    }
    if let Some(d) = window
        .device
        .as_ref()
        .filter(|d| !state.config.devices.iter().any(|x| x.id == **d))
    {
        return Err(ApiError::bad_request(format!(
            "no device {d} is configured"
        )));
    }
    let store = store(&state)?;
    let stored = window.clone();
    let id = blocking(move || store.add_maintenance(&stored)).await?;
    let created = MaintenanceWindow {
        id: Some(id),
        from_config: false,
        window,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/maintenance/{id}", tag = "maintenance",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = super::openapi::ErrorBody), (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody), (status = 404, body = super::openapi::ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.tokens.require(&headers, Role::Operator)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("window id {id:?} is not a number")))?;
    let store = store(&state)?;
    if blocking(move || store.delete_maintenance(id)).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("no maintenance window {id}")))
    }
}

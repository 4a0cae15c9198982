//! The dashboard at `/` (open): three files embedded in the binary, so it
//! works on a site LAN without internet and needs no Node toolchain. It
//! reads the API with the token the user logs in with (kept in the
//! browser session), and follows `/api/v1/events` for live updates.
//! `GET /api/v1/whoami` tells it the token's role, so it shows only the
//! buttons that role may use.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Role;
use super::error::ApiError;
use super::ApiState;

const INDEX: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/app.js");
const STYLE: &str = include_str!("dashboard/style.css");

pub async fn index() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX)
}

pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

pub async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// The caller's role.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    #[schema(value_type = String)]
    pub role: Role,
}

#[utoipa::path(get, path = "/api/v1/whoami", tag = "meta", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = super::openapi::ErrorBody)))]
pub async fn whoami(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<WhoAmI>, ApiError> {
    let role = state.tokens.role_of(&headers)?;
    Ok(Json(WhoAmI { role }))
}

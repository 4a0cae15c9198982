//! `GET /api/v1/openapi.json` (open): the OpenAPI document, generated from
//! the handlers' annotations so it cannot drift from the routes.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Why the request was refused.
    pub error: String,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "retrofit-gateway", description = "The site gateway's HTTP API (spec §11)."),
    paths(
        super::health::healthz,
        super::metrics::metrics_with_token,
        super::devices::list,
        super::devices::one,
        super::devices::history,
        super::devices::alarms,
        super::events::live,
        super::dashboard::whoami,
        super::upkeep::ack,
        super::upkeep::arrive,
        super::upkeep::sla,
        super::maintenance::list,
        super::maintenance::add,
        super::maintenance::delete,
        document,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "this document")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

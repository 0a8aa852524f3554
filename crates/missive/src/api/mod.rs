//! The Misskey-compatible HTTP API: `POST /api/<endpoint>` with a JSON body, the token
//! in `Authorization: Bearer` (wins) or the body's `i`, answers of 200 with JSON or 204,
//! and Misskey's error objects. This is the only code that knows HTTP statuses.

mod account;
mod admin;
mod auth;
mod deliveries;
pub mod endpoints;
pub mod error;
mod following;
mod meta;
mod notes;
pub mod openapi;
pub mod params;
mod reactions;
pub mod schema;
mod users;
mod webhooks;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::auth::Me;
use crate::api::endpoints::{Access, ENDPOINTS, Endpoint};
use crate::api::error::ApiError;
use crate::api::params::Params;
use crate::api::schema::Checked;
use crate::ctx::Ctx;

/// Misskey's request body limit.
const BODY_LIMIT: usize = 1024 * 1024;

/// The names of every endpoint missive serves.
pub fn endpoint_names() -> impl Iterator<Item = &'static str> {
    ENDPOINTS.iter().map(|e| e.name)
}

/// One API call after authentication and body parsing.
pub struct Call {
    pub me: Option<Me>,
    pub params: Params,
    /// The client's address, as rate limits count it.
    pub client: IpAddr,
    /// The endpoint called, whose schema `check` applies.
    pub endpoint: &'static Endpoint,
}

impl Call {
    /// The parameters checked against the endpoint's schema (Ajv's first failure as
    /// `INVALID_PARAM`). Handlers call it where Misskey validates: before anything else,
    /// except where a limit counts the call first.
    pub fn check(&self) -> Result<Checked, ApiError> {
        self.endpoint.params.check(&self.params)
    }

    /// The caller, for endpoints whose access rule already guarantees one.
    pub fn user(&self) -> Result<&Me, ApiError> {
        self.me.as_ref().ok_or_else(ApiError::credential_required)
    }
}

/// A successful answer.
pub enum Reply {
    /// 200 with this JSON text.
    Json(Vec<u8>),
    /// 204 with no body.
    NoContent,
}

impl Reply {
    pub fn json(value: &impl Serialize) -> Result<Reply, ApiError> {
        serde_json::to_vec(value)
            .map(Reply::Json)
            .map_err(|e| ApiError::internal(&e))
    }
}

pub type ApiResult = Result<Reply, ApiError>;

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/api/{*endpoint}", any(handle))
        .route("/api.json", get(openapi::api_json))
        .route("/api-doc", get(openapi::api_doc))
        .route("/api-doc.js", get(openapi::api_doc_script))
        // The limit is enforced while reading, so that an oversized body gets an error object.
        .layer(DefaultBodyLimit::disable())
        .with_state(ctx)
}

async fn handle(
    State(ctx): State<Arc<Ctx>>,
    method: Method,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Body,
) -> Response {
    let Some(endpoint) = endpoints::find(&endpoint) else {
        return with_api_headers(ApiError::unknown_endpoint().into_response());
    };
    if method == Method::OPTIONS {
        return with_api_headers(StatusCode::NO_CONTENT.into_response());
    }
    if method != Method::POST {
        // Misskey answers GET on endpoints without `allowGet` with an empty 405.
        return with_api_headers(StatusCode::METHOD_NOT_ALLOWED.into_response());
    }
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return with_api_headers(ApiError::body_too_large().into_response());
    };
    // Served without connection info (a router under test), every caller is one client.
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let client = crate::rate_limit::client_address(peer, &headers, &ctx.config.trusted_proxies);
    let response = match call(&ctx, endpoint, &headers, client, &body).await {
        Ok(Reply::Json(bytes)) => (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            bytes,
        )
            .into_response(),
        Ok(Reply::NoContent) => StatusCode::NO_CONTENT.into_response(),
        Err(Failure::Api(e)) => e.into_response(),
        Err(Failure::BareBadRequest) => StatusCode::BAD_REQUEST.into_response(),
    };
    with_api_headers(response)
}

/// Ways a call can fail before or while it runs.
enum Failure {
    Api(ApiError),
    /// Misskey answers a non-string `i` with a 400 and no body at all.
    BareBadRequest,
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure::Api(e)
    }
}

async fn call(
    ctx: &Ctx,
    endpoint: &'static Endpoint,
    headers: &HeaderMap,
    client: IpAddr,
    body: &[u8],
) -> Result<Reply, Failure> {
    let body = parse_body(body)?;
    let token = match bearer_token(headers) {
        Some(token) => Some(token),
        None => match body.get("i") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(Failure::BareBadRequest),
        },
    };
    let me = match token {
        Some(token) => Some(auth::authenticate(ctx, &token).await?),
        None => None,
    };
    match (endpoint.access, &me) {
        (Access::Anyone, _) => {}
        (Access::User, None) => return Err(ApiError::credential_required().into()),
        (Access::Secure, None) => return Err(ApiError::access_denied().into()),
        (Access::Admin, None) => return Err(ApiError::credential_required().into()),
        (Access::Admin, Some(me)) if !me.user.is_admin => return Err(ApiError::not_admin().into()),
        _ => {}
    }
    let call = Call {
        me,
        params: Params::new(body),
        client,
        endpoint,
    };
    Ok(dispatch(ctx, endpoint.name, call).await?)
}

async fn dispatch(ctx: &Ctx, name: &str, call: Call) -> ApiResult {
    match name {
        "meta" => meta::meta(ctx, call).await,
        "endpoints" => meta::endpoints(call),
        "endpoint" => meta::endpoint(call),
        "signup" => account::signup(ctx, call).await,
        "signin-flow" => account::signin_flow(ctx, call).await,
        "admin/accounts/create" => account::admin_create(ctx, call).await,
        "i" => account::i(ctx, call).await,
        "i/regenerate-token" => account::regenerate_token(ctx, call).await,
        "i/revoke-token" => account::revoke_token(ctx, call).await,
        "users/show" => users::show(ctx, call).await,
        "users/notes" => notes::user_notes(ctx, call).await,
        "following/create" => following::create(ctx, call).await,
        "following/delete" => following::delete(ctx, call).await,
        "notes/create" => notes::create(ctx, call).await,
        "notes/show" => notes::show(ctx, call).await,
        "notes/delete" => notes::delete(ctx, call).await,
        "notes/timeline" => notes::timeline(ctx, call).await,
        "notes/reactions" => reactions::list(ctx, call).await,
        "notes/reactions/create" => reactions::create(ctx, call).await,
        "notes/reactions/delete" => reactions::delete(ctx, call).await,
        "i/webhooks/create" => webhooks::create(ctx, call).await,
        "i/webhooks/list" => webhooks::list(ctx, call).await,
        "i/webhooks/show" => webhooks::show(ctx, call).await,
        "i/webhooks/update" => webhooks::update(ctx, call).await,
        "i/webhooks/delete" => webhooks::delete(ctx, call).await,
        "i/webhooks/test" => webhooks::test(ctx, call).await,
        "admin/webhooks/list" => admin::list_webhooks(ctx, call).await,
        "admin/webhooks/update" => admin::update_webhook(ctx, call).await,
        "i/webhooks/deliveries" => deliveries::list(ctx, call).await,
        "i/webhooks/deliveries/show" => deliveries::show(ctx, call).await,
        "i/webhooks/redeliver" => deliveries::redeliver(ctx, call).await,
        "admin/webhooks/deliveries" => deliveries::admin_list(ctx, call).await,
        "admin/webhooks/deliveries/show" => deliveries::admin_show(ctx, call).await,
        "admin/webhooks/redeliver" => deliveries::admin_redeliver(ctx, call).await,
        _ => Err(ApiError::unknown_endpoint()),
    }
}

/// An empty body is `{}`; anything but a JSON object is refused with Misskey's error object.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_param("#/type", "must be object")),
        Err(e) => Err(ApiError::invalid_param(
            "#",
            &format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// `Authorization: Bearer <token>`; any other form is ignored, as in Misskey.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_owned)
}

fn with_api_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=0, must-revalidate"),
    );
    response
}

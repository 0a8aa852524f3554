//! The OpenAPI 3.1 document of the API (`GET /api.json`) and the page that shows it
//! (`GET /api-doc`).
//!
//! The document is generated from the endpoint table: each endpoint's request schema is its
//! parameter `Schema` (the one its handler checks with), so a change to a parameter changes
//! the document. Answers reuse Misskey's component names (`UserLite`, `Note`,
//! `UserWebhook`, `MetaLite`, `Error`, …), taken from Misskey's schemas.

use std::collections::BTreeMap;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::api::endpoints::{Access, Answer, ENDPOINTS, Endpoint};

/// Misskey's packed shapes as JSON Schema, converted from Misskey 2025.9.0 (the same file
/// the tests validate answers against).
const MISSKEY_SCHEMAS: &str = include_str!("../../../../testdata/misskey-schemas.json");

/// The page that renders the document, and its script: static, embedded, nothing loaded
/// from elsewhere.
const API_DOC_PAGE: &str = include_str!("api-doc.html");
const API_DOC_SCRIPT: &str = include_str!("api-doc.js");

/// The page loads only its own script and the document; its style is inline.
const API_DOC_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
     connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The errors every endpoint can answer, by status, beyond its own.
const COMMON_ERRORS: &[(u16, &str)] = &[
    (400, "INVALID_PARAM"),
    (401, "AUTHENTICATION_FAILED"),
    (413, "REQUEST_BODY_TOO_LARGE"),
    (429, "RATE_LIMIT_EXCEEDED"),
    (500, "INTERNAL_ERROR"),
    (503, "SERVICE_UNAVAILABLE"),
];

/// The whole document, for a server at `origin_url`.
pub fn document(origin_url: &str) -> Value {
    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        paths.insert(
            format!("/{}", endpoint.name),
            json!({ "post": operation(endpoint) }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "missive API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Misskey-compatible API of missive. Every endpoint is `POST /api/<name>` with a JSON body; the token goes in `Authorization: Bearer` or the body's `i`.",
        },
        "servers": [{ "url": format!("{origin_url}/api") }],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer" },
            },
        },
    })
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut op = json!({
        "operationId": format!("post___{}", endpoint.name.replace('/', "___")),
        "summary": endpoint.name,
        "description": format!("{} **Credential required**: {}.", endpoint.summary, access_text(endpoint.access)),
        "tags": [endpoint.name.split('/').next().unwrap_or(endpoint.name)],
        "security": security(endpoint.access),
        "requestBody": {
            "required": true,
            "content": { "application/json": { "schema": endpoint.params.to_json() } },
        },
    });
    let mut responses = Map::new();
    match endpoint.answer {
        Answer::NoContent => {
            responses.insert(
                "204".into(),
                json!({ "description": "OK (without any results)" }),
            );
        }
        answer => {
            responses.insert(
                "200".into(),
                json!({
                    "description": "OK (with results)",
                    "content": { "application/json": { "schema": answer_schema(answer) } },
                }),
            );
        }
    }
    for (status, codes) in errors_by_status(endpoint) {
        responses.insert(
            status.to_string(),
            json!({
                "description": format!("Error: {}", codes.join(", ")),
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            }),
        );
    }
    op["responses"] = Value::Object(responses);
    op
}

fn access_text(access: Access) -> &'static str {
    match access {
        Access::Anyone => "no (a token makes the caller known)",
        Access::User => "yes",
        Access::Secure => "yes, the native token",
        Access::Admin => "yes, the administrator's",
    }
}

/// Bearer authentication; optional (`{}`) where anyone may call.
fn security(access: Access) -> Value {
    match access {
        Access::Anyone => json!([{}, { "bearerAuth": [] }]),
        _ => json!([{ "bearerAuth": [] }]),
    }
}

fn answer_schema(answer: Answer) -> Value {
    match answer {
        Answer::NoContent => Value::Null,
        Answer::Ref(name) => json!({ "$ref": format!("#/components/schemas/{name}") }),
        Answer::ListOf(name) => {
            json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{name}") } })
        }
        Answer::Inline(schema) => schema(),
    }
}

/// The error codes an endpoint can answer, grouped by HTTP status.
fn errors_by_status(endpoint: &Endpoint) -> BTreeMap<u16, Vec<&'static str>> {
    let mut by_status: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    let access_errors: &[(u16, &str)] = match endpoint.access {
        Access::Anyone => &[],
        Access::User => &[(401, "CREDENTIAL_REQUIRED")],
        Access::Secure => &[(400, "ACCESS_DENIED")],
        Access::Admin => &[
            (401, "CREDENTIAL_REQUIRED"),
            (403, "ROLE_PERMISSION_DENIED"),
        ],
    };
    let own = endpoint
        .errors
        .iter()
        .map(|(code, status)| (*status, *code));
    for (status, code) in COMMON_ERRORS
        .iter()
        .copied()
        .chain(access_errors.iter().copied())
        .chain(own)
    {
        let codes = by_status.entry(status).or_default();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    by_status
}

fn component_schemas() -> Value {
    match serde_json::from_str::<Value>(MISSKEY_SCHEMAS) {
        Ok(doc) => doc["components"]["schemas"].clone(),
        // The file is compiled in and checked by the tests; this cannot happen at run time.
        Err(_) => json!({}),
    }
}

/// `GET /api.json`.
pub async fn api_json(
    axum::extract::State(ctx): axum::extract::State<std::sync::Arc<crate::ctx::Ctx>>,
) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        axum::Json(document(&ctx.config.origin.url)),
    )
        .into_response()
}

/// `GET /api-doc`.
pub async fn api_doc() -> Response {
    (
        [(header::CONTENT_SECURITY_POLICY, API_DOC_POLICY)],
        Html(API_DOC_PAGE),
    )
        .into_response()
}

/// `GET /api-doc.js`.
pub async fn api_doc_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        API_DOC_SCRIPT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_schema_is_the_one_its_handler_checks_with() {
        let doc = document("http://x");
        for endpoint in ENDPOINTS {
            let op = &doc["paths"][format!("/{}", endpoint.name)]["post"];
            assert_eq!(
                op["requestBody"]["content"]["application/json"]["schema"],
                endpoint.params.to_json(),
                "{}",
                endpoint.name
            );
        }
        assert_eq!(
            doc["paths"].as_object().map(|p| p.len()),
            Some(ENDPOINTS.len())
        );
    }

    #[test]
    fn every_referenced_component_exists() {
        let doc = document("http://x");
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap_or(0)];
            assert!(doc["components"]["schemas"][name].is_object(), "{name}");
        }
    }

    #[test]
    fn errors_are_grouped_by_status() {
        let test = ENDPOINTS
            .iter()
            .find(|e| e.name == "i/webhooks/test")
            .unwrap();
        let errors = errors_by_status(test);
        assert_eq!(
            errors[&400],
            ["INVALID_PARAM", "ACCESS_DENIED", "NO_SUCH_WEBHOOK"]
        );
        assert!(errors[&429].contains(&"RATE_LIMIT_EXCEEDED"));
    }
}

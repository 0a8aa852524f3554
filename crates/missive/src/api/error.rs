//! Misskey's error object: `{"error":{message,code,id,kind[,info]}}`, with Misskey's
//! codes, ids and HTTP statuses. Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Misskey's error kinds: they pick the default HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Client,
    Permission,
    Server,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Permission => "permission",
            Kind::Server => "server",
        }
    }
}

/// An API failure as Misskey reports it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub id: &'static str,
    pub message: String,
    pub kind: Kind,
    /// Boxed so that `Result<_, ApiError>` stays small on the happy path.
    pub info: Option<Box<Value>>,
}

impl ApiError {
    /// An endpoint's own client error: 400 unless Misskey declares another status.
    pub fn client(code: &'static str, id: &'static str, message: &str) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            id,
            message: message.to_owned(),
            kind: Kind::Client,
            info: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    pub fn invalid_param(param: &str, reason: &str) -> ApiError {
        ApiError {
            info: Some(Box::new(json!({ "param": param, "reason": reason }))),
            ..ApiError::client(
                "INVALID_PARAM",
                "3d81ceae-475f-4600-b2a8-2bc116157532",
                "Invalid param.",
            )
        }
    }

    pub fn credential_required() -> ApiError {
        ApiError::client(
            "CREDENTIAL_REQUIRED",
            "1384574d-a912-4b81-8601-c7b1c4085df1",
            "Credential required.",
        )
        .with_status(StatusCode::UNAUTHORIZED)
    }

    pub fn authentication_failed() -> ApiError {
        ApiError::client(
            "AUTHENTICATION_FAILED",
            "b0a7f5f8-dc2f-4171-b91f-de88ad238e14",
            "Authentication failed. Please ensure your token is correct.",
        )
        .with_status(StatusCode::UNAUTHORIZED)
    }

    pub fn not_admin() -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "ROLE_PERMISSION_DENIED",
            id: "c3d38592-54c0-429d-be96-5636b0431a61",
            message: "You are not assigned to an administrator role.".to_owned(),
            kind: Kind::Permission,
            info: None,
        }
    }

    /// A `secure` endpoint called without a native token.
    pub fn access_denied() -> ApiError {
        ApiError::client(
            "ACCESS_DENIED",
            "56f35758-7dd5-468b-8439-5d6fb8ec9b8e",
            "Access denied.",
        )
    }

    pub fn unknown_endpoint() -> ApiError {
        ApiError::client(
            "UNKNOWN_API_ENDPOINT",
            "2ca3b769-540a-4f08-9dd5-b5a825b6d0f1",
            "Unknown API endpoint.",
        )
        .with_status(StatusCode::NOT_FOUND)
    }

    pub fn body_too_large() -> ApiError {
        ApiError::client(
            "REQUEST_BODY_TOO_LARGE",
            "a5b4c1c4-3e0a-4bde-8e0e-6f1f2d8b9c11",
            "The request body is larger than 1 MiB.",
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    }

    /// An unexpected failure: the cause is logged with a reference id that the client sees.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        let reference = uuid::Uuid::new_v4().to_string();
        tracing::error!(%reference, %cause, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "INTERNAL_ERROR",
            id: "5d37dbcb-891e-41ca-a3d6-e690c97775ac",
            message: "Internal error occurred. Please contact us if the error persists.".to_owned(),
            kind: Kind::Server,
            info: Some(Box::new(
                json!({ "e": { "message": "Internal error", "code": "INTERNAL_ERROR", "id": reference } }),
            )),
        }
    }

    /// The database is unreachable: a clear, retryable 503 rather than a generic 500.
    pub fn unavailable() -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "SERVICE_UNAVAILABLE",
            id: "c4d1d9a4-4d0a-4e54-a6a5-4bd38c0bd1b3",
            message: "The database is unavailable. Please try again later.".to_owned(),
            kind: Kind::Server,
            info: None,
        }
    }
}

/// Misskey's rate-limit error: `info` says when a call will be allowed again, as epoch
/// seconds (`reset`) and milliseconds (`resetMs`); the response adds `Retry-After`.
impl From<crate::rate_limit::Limited> for ApiError {
    fn from(limited: crate::rate_limit::Limited) -> ApiError {
        let reset_at_ms = limited.reset_at_ms;
        ApiError {
            info: Some(Box::new(json!({
                "remaining": 0,
                "total": limited.total,
                "reset": (reset_at_ms + 999) / 1000,
                "resetMs": reset_at_ms,
            }))),
            ..ApiError::client(
                "RATE_LIMIT_EXCEEDED",
                "d5826d14-3982-4d2e-8011-b9e9f02499ef",
                "Rate limit exceeded. Please try again later.",
            )
            .with_status(StatusCode::TOO_MANY_REQUESTS)
        }
    }
}

impl From<missive_store::StoreError> for ApiError {
    fn from(e: missive_store::StoreError) -> ApiError {
        match e {
            missive_store::StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::unavailable()
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_at_ms = (self.status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| self.info.as_ref().and_then(|info| info["resetMs"].as_i64()))
            .flatten();
        let mut error = json!({ "message": self.message, "code": self.code, "id": self.id, "kind": self.kind.as_str() });
        if let Some(info) = self.info {
            error["info"] = *info;
        }
        let body = json!({ "error": error }).to_string();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response();
        let challenge = match (self.status, self.code) {
            (_, "AUTHENTICATION_FAILED") => Some(format!(
                "Bearer realm=\"Misskey\", error=\"invalid_token\", error_description=\"{}\"",
                self.message
            )),
            (StatusCode::UNAUTHORIZED, _) => Some("Bearer realm=\"Misskey\"".to_owned()),
            (StatusCode::BAD_REQUEST, _) => Some(format!(
                "Bearer realm=\"Misskey\", error=\"invalid_request\", error_description=\"{}\"",
                self.message
            )),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(reset_at_ms) = retry_at_ms {
            // Whole seconds, rounded up, and never 0: "now" would invite an instant retry.
            let seconds = ((reset_at_ms - crate::ctx::now_ms()) + 999).max(1_000) / 1_000;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

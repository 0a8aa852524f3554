//! One row of an error table: an API call and the Misskey error it must answer. Run a
//! table with `TestApp::check_errors`.

use serde_json::Value;

use crate::errors;

/// A call (endpoint, body, token) and the error it must answer: status, code, id, and,
/// when the row names them, `info.param`, `info.reason`, `kind` and `message`.
#[derive(Debug, Clone)]
pub struct ErrorCase {
    pub endpoint: String,
    pub body: Value,
    pub token: Option<String>,
    pub status: u16,
    pub code: &'static str,
    pub id: &'static str,
    pub param: Option<String>,
    pub reason: Option<String>,
    pub kind: Option<&'static str>,
    pub message: Option<&'static str>,
}

impl ErrorCase {
    /// `endpoint` called with `body` as the holder of `token` (anonymously if `None`)
    /// must answer `status` with the error `code` and `id` (one of `crate::errors`).
    pub fn new(
        endpoint: &str,
        token: Option<&str>,
        body: Value,
        status: u16,
        code: &'static str,
        id: &'static str,
    ) -> ErrorCase {
        ErrorCase {
            endpoint: endpoint.to_owned(),
            body,
            token: token.map(str::to_owned),
            status,
            code,
            id,
            param: None,
            reason: None,
            kind: None,
            message: None,
        }
    }

    /// A 400 `INVALID_PARAM` whose `info.param` is `param`.
    pub fn invalid_param(
        endpoint: &str,
        token: Option<&str>,
        body: Value,
        param: &str,
    ) -> ErrorCase {
        ErrorCase::new(
            endpoint,
            token,
            body,
            400,
            "INVALID_PARAM",
            errors::INVALID_PARAM,
        )
        .param(param)
    }

    /// Also expects `info.param`.
    pub fn param(mut self, param: &str) -> ErrorCase {
        self.param = Some(param.to_owned());
        self
    }

    /// Also expects `info.reason`.
    pub fn reason(mut self, reason: &str) -> ErrorCase {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Also expects `kind`.
    pub fn kind(mut self, kind: &'static str) -> ErrorCase {
        self.kind = Some(kind);
        self
    }

    /// Also expects `message`.
    pub fn message(mut self, message: &'static str) -> ErrorCase {
        self.message = Some(message);
        self
    }

    /// What is wrong with the answer `status` `value`, if anything.
    pub(super) fn mismatch(&self, status: u16, value: &Value) -> Option<String> {
        let error = &value["error"];
        let wrong = status != self.status
            || error["code"] != self.code
            || error["id"] != self.id
            || self
                .param
                .as_ref()
                .is_some_and(|p| error["info"]["param"] != p.as_str())
            || self
                .reason
                .as_ref()
                .is_some_and(|r| error["info"]["reason"] != r.as_str())
            || self.kind.is_some_and(|k| error["kind"] != k)
            || self.message.is_some_and(|m| error["message"] != m);
        wrong.then(|| {
            let body: String = self.body.to_string().chars().take(120).collect();
            let mut expected = format!("{} {} {}", self.status, self.code, self.id);
            for (what, value) in [
                ("param", self.param.as_deref()),
                ("reason", self.reason.as_deref()),
                ("kind", self.kind),
                ("message", self.message),
            ] {
                if let Some(value) = value {
                    expected.push_str(&format!(" {what}={value:?}"));
                }
            }
            format!(
                "{} {body}: expected {expected}, got {status} {value}",
                self.endpoint
            )
        })
    }
}

//! The test harness: a real missive server on 127.0.0.1:0 with a fresh SQLite database
//! (`TestApp`), the real binary as a child process (`ServerProcess`), a real receiver on
//! loopback (`TestReceiver`), a runner for tables of error cases (`ErrorCase`), and
//! helpers to validate JSON against Misskey's schemas.
//!
//! A failing test prints the log of the servers it started; with `TEST_LOG` set, every
//! test does.

#![allow(dead_code)]

mod app;
mod log;
mod process;
mod receiver;
mod table;

use serde_json::{Value, json};

pub use app::{TestApp, test_env};
pub use process::ServerProcess;
pub use receiver::{Answer, Received, TestReceiver};
pub use table::ErrorCase;

/// Validates `value` against one schema of Misskey's `misskey-schemas.json`.
pub fn schema_errors(schema: &str, value: &Value) -> Vec<String> {
    use std::sync::OnceLock;
    static DOC: OnceLock<Value> = OnceLock::new();
    let doc = DOC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/misskey-schemas.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    });
    let mut doc = doc.clone();
    doc["$ref"] = json!(format!("#/components/schemas/{schema}"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&doc)
        .unwrap();
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

/// Panics with the validation errors if `value` is not a valid `schema`.
#[track_caller]
pub fn assert_schema(schema: &str, value: &Value) {
    let errors = schema_errors(schema, value);
    assert!(
        errors.is_empty(),
        "not a valid {schema}: {errors:?}\n{value:#}"
    );
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A loopback port that refuses connections for as long as the socket lives: bound but
/// never listening, so no other test's server can take it meanwhile (a port that was
/// merely free when asked for once answered a refused-connection test with a 405).
pub fn refusing_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// A free port on loopback, for a server that must come back on the same address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

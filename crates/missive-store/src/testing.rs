//! Helpers for tests: scratch databases that start empty.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::{Result, StoreError};

/// Creates an empty PostgreSQL database next to the one `base_url` names and returns
/// its URL. Each test gets its own, so tests never see each other's rows.
pub async fn scratch_postgres_url(base_url: &str) -> Result<String> {
    let options = PgConnectOptions::from_str(base_url).map_err(StoreError::from)?;
    let mut conn = options.connect().await?;
    let name = format!("missive_test_{}", uuid_like());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    conn.close().await?;
    let (head, query) = base_url
        .split_once('?')
        .map_or((base_url, None), |(h, q)| (h, Some(q)));
    let without_db = match head.rsplit_once('/') {
        Some((prefix, _db))
            if prefix.contains("://") && prefix.len() > prefix.find("://").unwrap_or(0) + 3 =>
        {
            prefix.to_owned()
        }
        _ => head.to_owned(),
    };
    Ok(match query {
        Some(q) => format!("{without_db}/{name}?{q}"),
        None => format!("{without_db}/{name}"),
    })
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let pid = std::process::id();
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{nanos:x}_{pid:x}_{n:x}")
}

//! Helpers for tests: scratch databases that start empty.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::{Result, Store, StoreError};

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

/// Drops a database that `scratch_postgres_url` made, closing any connection still open
/// to it. Best effort: a failure is only printed, since the test has already run.
pub async fn drop_scratch_postgres(base_url: &str, scratch_url: &str) {
    let Some(name) = scratch_url
        .split('?')
        .next()
        .and_then(|head| head.rsplit_once('/'))
        .map(|(_, name)| name.to_owned())
        .filter(|name| name.starts_with("missive_test_"))
    else {
        eprintln!("not a scratch database, left alone: {scratch_url}");
        return;
    };
    let result = async {
        let options = PgConnectOptions::from_str(base_url).map_err(StoreError::from)?;
        let mut conn = options.connect().await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
        conn.close().await?;
        Ok::<(), StoreError>(())
    }
    .await;
    if let Err(e) = result {
        eprintln!("could not drop the scratch database {name}: {e}");
    }
}

/// Cuts every other session on the database `database_url` names, as a network failure
/// or a database restart would (`pg_terminate_backend`), without touching the server or
/// other databases. Returns how many sessions were cut.
pub async fn terminate_connections(database_url: &str) -> Result<u64> {
    let options = PgConnectOptions::from_str(database_url).map_err(StoreError::from)?;
    let mut conn = options.connect().await?;
    let cut: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) t WHERE cut",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(cut as u64)
}

/// Empties every webhook's `host`, as rows written before migration 0002 are, to test
/// that `Store::migrate` fills them in.
pub async fn forget_webhook_hosts(store: &Store) -> Result<u64> {
    store
        .execute_write("UPDATE webhooks SET host = ''", Vec::new())
        .await
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

//! Storage errors, classified so that callers can answer without knowing SQL.

/// What went wrong in the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (a taken username, an existing follow).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database could not be reached or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The configuration does not describe a usable database.
    #[error("{0}")]
    Config(String),
    /// A row held a value the domain does not accept.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db) if is_busy_sqlite(db.as_ref()) => {
                StoreError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(db)
                if db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some()
                    && is_connection_failure(db.code().as_deref()) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => StoreError::from(inner),
            other => StoreError::Other(other.to_string()),
        }
    }
}

/// PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources,
/// e.g. too many connections) and 57P (operator intervention: the server shutting down,
/// a backend terminated by an administrator, the server still starting), and the
/// transaction rollbacks 40001 (serialization failure) and 40P01 (deadlock detected).
/// All pass when tried again, so callers answer 503.
fn is_connection_failure(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.starts_with("08")
            || c.starts_with("53")
            || c.starts_with("57P")
            || c == "40001"
            || c == "40P01"
    })
}

/// SQLite's busy and locked results, in any of their extended forms (e.g. 517,
/// `SQLITE_BUSY_SNAPSHOT`): the primary code is the low byte.
fn is_busy_sqlite(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

//! The hot writes' connection: one type over either driver, so that the writes every
//! note and every delivery make (a note with its outbox, a claim, a batch of outcomes
//! with endpoint health) are written once and run on both databases.
//!
//! On SQLite they run on the writer thread's own rusqlite connection (`Conn::Direct`),
//! each statement a call on that thread; on PostgreSQL, and inside other writes, on an
//! sqlx connection (`Conn::Sqlx`). A statement is SQL with `$N` placeholders and its
//! values (`Stmt`); on SQLite `$N` becomes `?N`, which binds by number with no lookup
//! by name.

use std::sync::Arc;

use rusqlite::types::Value as SqliteValue;
use sqlx::{AnyConnection, Row as _};

use crate::{Result, StoreError};

/// A value bound to a statement. A null keeps its type: PostgreSQL infers the type of
/// a `VALUES` column from what is bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_owned()))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(Some(v.clone()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::Text(v)
    }
}

/// SQL with `$1…$n` placeholders, each number used at least once, and the values they
/// stand for, in order.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    sql: String,
    args: Vec<Value>,
}

impl Stmt {
    pub(crate) fn new(sql: impl Into<String>) -> Stmt {
        Stmt {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Stmt {
        self.args.push(value.into());
        self
    }

    pub(crate) fn push(&mut self, value: impl Into<Value>) {
        self.args.push(value.into());
    }
}

/// A row a statement returned, read by column name.
pub(crate) enum Row {
    Sqlx(sqlx::any::AnyRow),
    /// The column names (shared by every row of a statement) and the values, in order.
    Direct(Arc<[String]>, Vec<SqliteValue>),
}

impl Row {
    pub(crate) fn get<T: FromColumn>(&self, column: &str) -> Result<T> {
        match self {
            Row::Sqlx(row) => T::from_any(row, column),
            Row::Direct(names, values) => {
                let value = names
                    .iter()
                    .position(|name| name == column)
                    .and_then(|i| values.get(i))
                    .ok_or_else(|| StoreError::Other(format!("no column {column:?}")))?;
                T::from_sqlite(value)
                    .ok_or_else(|| StoreError::Corrupt(format!("column {column:?}: {value:?}")))
            }
        }
    }
}

/// A type a column is read as.
pub(crate) trait FromColumn: Sized {
    fn from_any(row: &sqlx::any::AnyRow, column: &str) -> Result<Self>;
    fn from_sqlite(value: &SqliteValue) -> Option<Self>;
}

impl FromColumn for i64 {
    fn from_any(row: &sqlx::any::AnyRow, column: &str) -> Result<i64> {
        Ok(row.try_get(column)?)
    }
    fn from_sqlite(value: &SqliteValue) -> Option<i64> {
        match value {
            SqliteValue::Integer(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromColumn for String {
    fn from_any(row: &sqlx::any::AnyRow, column: &str) -> Result<String> {
        Ok(row.try_get(column)?)
    }
    fn from_sqlite(value: &SqliteValue) -> Option<String> {
        match value {
            SqliteValue::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: FromColumn> FromColumn for Option<T>
where
    for<'r> Option<T>: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    fn from_any(row: &sqlx::any::AnyRow, column: &str) -> Result<Option<T>> {
        Ok(row.try_get(column)?)
    }
    fn from_sqlite(value: &SqliteValue) -> Option<Option<T>> {
        match value {
            SqliteValue::Null => Some(None),
            other => T::from_sqlite(other).map(Some),
        }
    }
}

/// A connection inside a write transaction.
pub(crate) enum Conn<'c> {
    Sqlx(&'c mut AnyConnection),
    Direct(&'c mut rusqlite::Connection),
}

impl Conn<'_> {
    /// Runs `stmt`; returns the rows it changed.
    pub(crate) async fn execute(&mut self, stmt: &Stmt) -> Result<u64> {
        match self {
            Conn::Sqlx(conn) => Ok(sqlx_query(stmt).execute(&mut **conn).await?.rows_affected()),
            Conn::Direct(conn) => {
                let mut prepared = conn.prepare_cached(&numbered(&stmt.sql))?;
                bind_all(&mut prepared, &stmt.args)?;
                Ok(prepared.raw_execute()? as u64)
            }
        }
    }

    /// Runs `stmt` and returns the rows it returned.
    pub(crate) async fn fetch(&mut self, stmt: &Stmt) -> Result<Vec<Row>> {
        match self {
            Conn::Sqlx(conn) => Ok(sqlx_query(stmt)
                .fetch_all(&mut **conn)
                .await?
                .into_iter()
                .map(Row::Sqlx)
                .collect()),
            Conn::Direct(conn) => {
                let mut prepared = conn.prepare_cached(&numbered(&stmt.sql))?;
                bind_all(&mut prepared, &stmt.args)?;
                let names: Arc<[String]> = prepared
                    .column_names()
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let mut rows = prepared.raw_query();
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(names.len());
                    for i in 0..names.len() {
                        values.push(row.get::<_, SqliteValue>(i)?);
                    }
                    out.push(Row::Direct(names.clone(), values));
                }
                Ok(out)
            }
        }
    }
}

fn sqlx_query(stmt: &Stmt) -> crate::Query<'_> {
    let mut query = sqlx::query(&stmt.sql);
    for value in &stmt.args {
        query = match value {
            Value::Int(v) => query.bind(*v),
            Value::Text(v) => query.bind(v.as_deref()),
        };
    }
    query
}

fn bind_all(prepared: &mut rusqlite::CachedStatement<'_>, args: &[Value]) -> Result<()> {
    for (i, value) in args.iter().enumerate() {
        match value {
            Value::Int(v) => prepared.raw_bind_parameter(i + 1, v)?,
            Value::Text(v) => prepared.raw_bind_parameter(i + 1, v.as_deref())?,
        }
    }
    Ok(())
}

/// `$N` placeholders as SQLite's `?N`, which bind by number. The store's SQL has no `$`
/// other than its placeholders.
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
                ErrorCode::ConstraintViolation
                    if matches!(
                        failure.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    ) =>
                {
                    StoreError::Conflict(e.to_string())
                }
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    StoreError::Unavailable(e.to_string())
                }
                _ => StoreError::Other(e.to_string()),
            },
            _ => StoreError::Other(e.to_string()),
        }
    }
}

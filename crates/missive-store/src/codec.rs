//! Conversions between rows and domain values.

use missive_core::event::EventType;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, StoreError};

/// Lists of ids are stored as space-separated text (ids are alphanumeric).
pub(crate) fn join_ids(ids: &[String]) -> String {
    ids.join(" ")
}

pub(crate) fn split_ids(text: &str) -> Vec<String> {
    text.split_ascii_whitespace().map(str::to_owned).collect()
}

/// Event lists are stored as comma-separated names, in the order they were given.
pub(crate) fn join_events(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn split_events(text: &str) -> Result<Vec<EventType>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| StoreError::Corrupt(format!("unknown event type {s:?}")))
        })
        .collect()
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(StoreError::from)
}

pub(crate) fn get_bool(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(get::<i64>(row, column)? != 0)
}

/// Placeholders `$from, $from+1, …` for `n` values, for `IN (…)` lists.
/// The most ids one `IN (…)` list binds. SQLite allows 32,766 parameters in a statement
/// and PostgreSQL 65,535; lookups of more ids than this run in several statements, so
/// that no input can exceed either limit (and the statements stay a cacheable size).
pub(crate) const IDS_PER_STATEMENT: usize = 500;

pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

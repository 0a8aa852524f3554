//! The SQL migrations, embedded in the binary and run by sqlx's `Migrator`.
//!
//! This does what sqlx's `migrate!` macro does without its `macros` feature, which would
//! build a second copy of sqlx (and the bundled SQLite) for the compiler. Each file is
//! read as sqlx reads a migrations directory (version and description from the name,
//! SHA-384 checksum of the text), so the `_sqlx_migrations` rows of databases migrated
//! by earlier versions still match.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};

/// Every file of `migrations/`, in version order. A test checks that none is missing.
const FILES: &[(&str, &str)] = &[
    (
        "0001_initial.sql",
        include_str!("../migrations/0001_initial.sql"),
    ),
    (
        "0002_webhook_host.sql",
        include_str!("../migrations/0002_webhook_host.sql"),
    ),
    (
        "0003_reactions.sql",
        include_str!("../migrations/0003_reactions.sql"),
    ),
    (
        "0004_delivery_log.sql",
        include_str!("../migrations/0004_delivery_log.sql"),
    ),
    (
        "0005_webhook_health.sql",
        include_str!("../migrations/0005_webhook_health.sql"),
    ),
];

/// The embedded migrations, as a source for `sqlx::migrate::Migrator::new`.
#[derive(Debug)]
pub(crate) struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async {
            FILES
                .iter()
                .map(|&(name, sql)| migration(name, sql))
                .collect()
        })
    }
}

/// Reads a migration as sqlx reads a `<VERSION>_<DESCRIPTION>.sql` file.
fn migration(name: &str, sql: &'static str) -> Result<Migration, BoxDynError> {
    let (version, rest) = name
        .split_once('_')
        .ok_or_else(|| format!("migration {name} is not named <VERSION>_<DESCRIPTION>.sql"))?;
    let version: i64 = version
        .parse()
        .map_err(|_| format!("migration {name} does not start with a version number"))?;
    let migration_type = MigrationType::from_filename(rest);
    let description = rest
        .trim_end_matches(migration_type.suffix())
        .replace('_', " ");
    Ok(Migration::new(
        version,
        Cow::Owned(description),
        migration_type,
        Cow::Borrowed(sql),
        sql.starts_with("-- no-transaction"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `migrations/` is embedded, under its own name and with its text.
    #[test]
    fn every_migration_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut on_disk: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<(String, String)> = FILES
            .iter()
            .map(|&(name, sql)| (name.to_owned(), sql.to_owned()))
            .collect();
        assert_eq!(embedded, on_disk);
    }

    /// Versions, descriptions and checksums are those sqlx's directory reader gives, so
    /// databases migrated with `migrate!` are recognised as up to date.
    #[test]
    fn migrations_read_as_sqlx_reads_the_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let from_dir = sqlx::migrate::resolve_blocking(&dir).unwrap();
        let embedded: Vec<Migration> = FILES
            .iter()
            .map(|&(name, sql)| migration(name, sql).unwrap())
            .collect();
        assert_eq!(embedded.len(), from_dir.len());
        for (ours, (theirs, _path)) in embedded.iter().zip(&from_dir) {
            assert_eq!(ours.version, theirs.version);
            assert_eq!(ours.description, theirs.description);
            assert_eq!(ours.migration_type, theirs.migration_type);
            assert_eq!(ours.checksum, theirs.checksum);
            assert_eq!(ours.no_tx, theirs.no_tx);
        }
    }
}

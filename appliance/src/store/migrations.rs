//! The schema migrations, compiled into the binary and handed to sqlx's migrator as a table
//! of the files' texts. sqlx's `migrate!` macro would embed them too, but it needs sqlx's
//! compile-time query machinery, which builds a second copy of both database drivers (and
//! SQLite's C source) for the compiler: minutes of every clean build on 2 cores. Versions,
//! descriptions and checksums are the ones the macro gave, so databases migrated by earlier
//! builds are accepted (`the_embedded_migrations_are_the_directories`).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use super::Dialect;

/// The migration files of each dialect, by name: the two directories hold the same names.
macro_rules! embedded {
    ($directory:literal) => {
        embedded!($directory,
            "0001_init.sql",
            "0002_job_options.sql",
            "0003_formats_and_uploads.sql",
            "0004_conversations_feedback_tokens.sql",
            "0005_reindex_jobs.sql",
            "0006_site_texts.sql",
            "0007_upload_identity.sql",
            "0008_audit_seal.sql",
            "0009_index_meta.sql",
            "0010_retention.sql",
            "0011_job_claims.sql",
        )
    };
    ($directory:literal, $($file:literal,)*) => {
        &[$(($file, include_str!(concat!("../../migrations/", $directory, $file))),)*]
    };
}

const SQLITE: &[(&str, &str)] = embedded!("");
const POSTGRES: &[(&str, &str)] = embedded!("postgres/");

/// The migrator of `dialect`'s schema.
pub(super) async fn migrator(dialect: Dialect) -> anyhow::Result<Migrator> {
    let files = match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    };
    Ok(Migrator::new(Embedded(files)).await?)
}

/// Migration files as (name, text), named `<VERSION>_<DESCRIPTION>.sql` as sqlx reads a
/// directory.
#[derive(Debug)]
struct Embedded(&'static [(&'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        Box::pin(std::future::ready(self.migrations()))
    }
}

impl Embedded {
    /// Each file as sqlx's directory source reads it: the version before the first `_`, the
    /// rest without its suffix and with spaces for `_` as the description, and no
    /// transaction when the text starts by asking for none.
    fn migrations(&self) -> Result<Vec<Migration>, BoxDynError> {
        let mut migrations = self
            .0
            .iter()
            .map(|&(name, sql)| {
                let (version, rest) = name
                    .split_once('_')
                    .ok_or_else(|| format!("migration {name}: expected VERSION_DESCRIPTION.sql"))?;
                let migration_type = MigrationType::from_filename(rest);
                let description = rest.trim_end_matches(migration_type.suffix()).replace('_', " ");
                Ok(Migration::new(
                    version.parse()?,
                    Cow::Owned(description),
                    migration_type,
                    Cow::Borrowed(sql),
                    sql.starts_with("-- no-transaction"),
                ))
            })
            .collect::<Result<Vec<_>, BoxDynError>>()?;
        migrations.sort_by_key(|migration| migration.version);
        Ok(migrations)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A migration file added to a directory but not to the table would never run; one whose
    /// description or checksum differed from what sqlx reads from the directory (what the
    /// `migrate!` macro embedded before) would make every existing database refuse to open.
    #[tokio::test]
    async fn the_embedded_migrations_are_the_directories() {
        for (dialect, directory) in [
            (Dialect::Sqlite, "migrations"),
            (Dialect::Postgres, "migrations/postgres"),
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(directory);
            let from_files = Migrator::new(path.as_path()).await.unwrap();
            let embedded = migrator(dialect).await.unwrap();
            let describe = |migrator: &Migrator| -> Vec<(i64, String, Vec<u8>, bool)> {
                migrator
                    .iter()
                    .map(|migration| {
                        (
                            migration.version,
                            migration.description.to_string(),
                            migration.checksum.to_vec(),
                            migration.no_tx,
                        )
                    })
                    .collect()
            };
            assert!(from_files.iter().count() >= 11, "{directory}");
            assert_eq!(describe(&embedded), describe(&from_files), "{directory}");
        }
    }
}

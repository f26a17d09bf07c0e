//! Copies of the whole database for backups, and the fix-up a restore into another data
//! directory needs.

use anyhow::bail;

use super::{Dialect, Store};

/// Writes a consistent copy of the database to `path` (which must not exist) while others
/// keep reading and writing: SQLite's `VACUUM INTO` reads one snapshot.
pub async fn write_copy(store: &Store, path: &std::path::Path) -> anyhow::Result<()> {
    if store.dialect != Dialect::Sqlite {
        bail!(
            "this appliance keeps its database in PostgreSQL: back that up with pg_dump (or the cluster's own \
             backups); `appliance backup` copies the embedded SQLite database"
        );
    }
    sqlx::query("VACUUM INTO $1")
        .bind(path.to_string_lossy().into_owned())
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Points stored originals and waiting uploads that lived under `old` to the same files
/// under `new` (a restore into another data directory).
pub async fn move_file_paths(store: &Store, old: &str, new: &str) -> anyhow::Result<u64> {
    let mut moved = 0;
    for table in ["documents", "jobs"] {
        let statement = format!(
            "UPDATE {table} SET file_path = $1 || substr(file_path, length($2) + 1) \
             WHERE file_path IS NOT NULL AND substr(file_path, 1, length($3)) = $4"
        );
        moved += sqlx::query(&statement)
            .bind(new)
            .bind(old)
            .bind(old)
            .bind(old)
            .execute(&store.pool)
            .await?
            .rows_affected();
    }
    Ok(moved)
}

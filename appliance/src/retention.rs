//! Retention: audit rows and conversations older than the configured number of days are
//! deleted, so a log that records every search does not grow for ever and people's
//! questions are not kept longer than policy allows.
//!
//! An audit purge first writes the chain's head to the checkpoint file (the record, outside
//! the database, of what existed before the purge), then deletes the old rows under the
//! audit lock, leaving a marker sealed with the audit key from which `audit verify` checks
//! the rest, and finally records the purge itself in the chain. Conversations go with their
//! messages and ratings. `0` days (the default) keeps everything.

use serde::Serialize;

use crate::settings::Settings;
use crate::store::{Store, audit, conversations};

const DAY_SECONDS: u64 = 24 * 60 * 60;

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Audit rows deleted, and the last of them (0: none).
    pub audit_rows: u64,
    pub audit_through_id: i64,
    pub conversations: u64,
}

/// Applies `audit_retention_days` and `conversation_retention_days` once.
pub async fn purge(settings: &Settings, store: &Store) -> anyhow::Result<Report> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    purge_as_of(settings, store, now).await
}

/// [`purge`] as if it were `now` (seconds since the epoch).
async fn purge_as_of(settings: &Settings, store: &Store, now: u64) -> anyhow::Result<Report> {
    let mut report = Report::default();
    if settings.audit_retention_days > 0 {
        audit::checkpoint(store, settings.audit_checkpoint_path()).await?;
        let before = now.saturating_sub(settings.audit_retention_days * DAY_SECONDS);
        if let Some(purged) = audit::purge_before(store, before).await? {
            report.audit_rows = purged.rows;
            report.audit_through_id = purged.through_id;
            let detail = serde_json::json!({
                "rows": purged.rows,
                "through_id": purged.through_id,
                "retention_days": settings.audit_retention_days,
            });
            audit::append(store, "system", "audit.purge", detail).await?;
        }
    }
    if settings.conversation_retention_days > 0 {
        let before = iso_time(now.saturating_sub(settings.conversation_retention_days * DAY_SECONDS));
        report.conversations = conversations::purge_before(store, &before).await?;
        if report.conversations > 0 {
            let detail = serde_json::json!({
                "conversations": report.conversations,
                "retention_days": settings.conversation_retention_days,
            });
            audit::append(store, "system", "conversations.purge", detail).await?;
        }
    }
    Ok(report)
}

/// Purges once an hour while the server runs (from its start).
pub async fn keep_purging(settings: Settings, store: Store) {
    if settings.audit_retention_days == 0 && settings.conversation_retention_days == 0 {
        return;
    }
    loop {
        match purge(&settings, &store).await {
            Ok(report) if report != Report::default() => tracing::info!(
                audit_rows = report.audit_rows,
                audit_through_id = report.audit_through_id,
                conversations = report.conversations,
                "retention purge"
            ),
            Ok(_) => {}
            Err(error) => tracing::error!("retention purge failed: {error:#}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(60 * 60)).await;
    }
}

/// `seconds` since the epoch as `created_at` and `updated_at` columns write time
/// (`2026-12-03T07:05:00.000Z`).
pub fn iso_time(seconds: u64) -> String {
    let of_day = seconds % DAY_SECONDS;
    format!(
        "{}T{:02}:{:02}:{:02}.000Z",
        crate::http::stats::day_of(seconds as i64),
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_the_database_writes_them() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(1_796_281_505), "2026-12-03T07:05:05.000Z");
        assert_eq!(iso_time(4_102_444_799), "2099-12-31T23:59:59.000Z");
    }

    #[tokio::test]
    async fn a_purge_deletes_only_what_is_older_than_the_settings_allow() {
        for test in crate::store::testing::stores().await {
            let store = &test.store;
            let mut settings = Settings::new(test.dir.path().to_owned(), "m".into()).unwrap();
            for query in ["one", "two", "three"] {
                audit::append(store, "alice", "search", serde_json::json!({ "query": query }))
                    .await
                    .unwrap();
            }
            let user = crate::store::users::add(store, "alice", "password-1", crate::acl::Role::Employee, &[])
                .await
                .unwrap();
            conversations::create(store, user.id, "今天食堂开门吗？").await.unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let checkpoints = settings.audit_checkpoint_path();

            // Off by default; a year's retention finds nothing that old today.
            assert_eq!(purge(&settings, store).await.unwrap(), Report::default());
            settings.audit_retention_days = 365;
            settings.conversation_retention_days = 365;
            assert_eq!(purge(&settings, store).await.unwrap(), Report::default());
            assert_eq!(conversations::list(store, user.id).await.unwrap().len(), 1);

            // Four hundred days on, everything is older than a year; the newest row stays.
            let report = purge_as_of(&settings, store, now + 400 * DAY_SECONDS).await.unwrap();
            assert_eq!((report.audit_rows, report.conversations), (2, 1));
            assert!(conversations::list(store, user.id).await.unwrap().is_empty());
            let recorded = audit::read_checkpoints(&checkpoints).unwrap();
            assert_eq!(recorded.last().unwrap().rows, 3, "the head before the purge is on file");
            let verified = audit::verify(store, &recorded).await.unwrap();
            assert_eq!((verified.rows, verified.purged_through), (3, 2));
            let actions: Vec<String> = audit::entries(store, "system", "", 10)
                .await
                .unwrap()
                .into_iter()
                .map(|entry| entry.action)
                .collect();
            assert_eq!(actions, ["conversations.purge", "audit.purge"]);
        }
    }
}

//! Texts an admin edits and the appliance keeps every version of: the system prompt that
//! frames every answer, and the domain dictionary of company terms the keyword index keeps
//! whole. The newest version is in force; older ones stay for the audit trail (an answer's
//! audit row names the sha256 of the prompt it was given).

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::Store;

/// Which text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SystemPrompt,
    DomainDictionary,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::SystemPrompt => "system_prompt",
            Kind::DomainDictionary => "domain_dictionary",
        }
    }
}

/// One saved version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SiteText {
    /// 0 for the built-in default, which is never stored.
    pub version: i64,
    pub text: String,
    pub sha256: String,
    pub created_by: String,
    pub created_at: String,
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The version in force: the newest saved one, else `default` as version 0.
pub async fn current(store: &Store, kind: Kind, default: &str) -> anyhow::Result<SiteText> {
    let row = sqlx::query(
        "SELECT version, text, sha256, created_by, created_at FROM site_texts WHERE kind = $1 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(kind.as_str())
    .fetch_optional(&store.pool)
    .await?;
    Ok(match row {
        Some(row) => SiteText {
            version: row.get("version"),
            text: row.get("text"),
            sha256: row.get("sha256"),
            created_by: row.get("created_by"),
            created_at: row.get("created_at"),
        },
        None => SiteText {
            version: 0,
            text: default.to_owned(),
            sha256: sha256_hex(default),
            created_by: "built-in".to_owned(),
            created_at: String::new(),
        },
    })
}

/// Saves `text` as the next version and returns it.
pub async fn save(store: &Store, kind: Kind, text: &str, actor: &str) -> anyhow::Result<SiteText> {
    let created_at = crate::store::audit::now();
    let sha256 = sha256_hex(text);
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO site_texts (kind, version, text, sha256, created_by, created_at) \
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5 FROM site_texts WHERE kind = $6 \
         RETURNING version",
    )
    .bind(kind.as_str())
    .bind(text)
    .bind(&sha256)
    .bind(actor)
    .bind(&created_at)
    .bind(kind.as_str())
    .fetch_one(&store.pool)
    .await?;
    Ok(SiteText {
        version,
        text: text.to_owned(),
        sha256,
        created_by: actor.to_owned(),
        created_at,
    })
}

/// The dictionary's words: one per line, blank lines and `#` comments ignored.
pub fn dictionary_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_count_up_and_the_newest_is_in_force() {
        for test in crate::store::testing::stores().await {
            let db = test.store.clone();
            let default = current(&db, Kind::SystemPrompt, "built in").await.unwrap();
            assert_eq!((default.version, default.text.as_str()), (0, "built in"));
            assert_eq!(default.sha256, sha256_hex("built in"));
            let first = save(&db, Kind::SystemPrompt, "one", "alice").await.unwrap();
            let second = save(&db, Kind::SystemPrompt, "two", "bob").await.unwrap();
            let words = save(&db, Kind::DomainDictionary, "蓝港云盘", "alice").await.unwrap();
            assert_eq!((first.version, second.version, words.version), (1, 2, 1));
            let now = current(&db, Kind::SystemPrompt, "built in").await.unwrap();
            assert_eq!(now, second);
        }
    }

    #[test]
    fn dictionary_lines() {
        assert_eq!(
            dictionary_words("# products\n蓝港云盘\n\n  BlueHarbor  \n"),
            vec!["蓝港云盘", "BlueHarbor"]
        );
    }
}

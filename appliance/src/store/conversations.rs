//! Conversations: each user's questions and answers, kept so a chat can continue and be
//! read again, and rated so people can review the answers users flagged.

use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::Store;

/// A conversation in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    pub id: String,
    pub title: String,
    pub updated_at: String,
}

/// One question and its answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Turn {
    pub id: i64,
    pub question: String,
    /// The answer as `/api/ask` gave it.
    #[schema(value_type = Object)]
    pub answer: Value,
    pub rating: Option<i64>,
    pub created_at: String,
}

/// A question shorter than this many characters is taken as a follow-up.
const FOLLOW_UP_CHARS: usize = 24;

/// What to retrieve with: a short follow-up question is joined with the previous one.
pub fn retrieval_query(question: &str, previous: Option<&str>) -> String {
    match previous {
        Some(previous) if question.chars().count() < FOLLOW_UP_CHARS => format!("{previous} {question}"),
        _ => question.to_owned(),
    }
}

pub async fn create(store: &Store, user_id: i64, first_question: &str) -> anyhow::Result<String> {
    let id = hex::encode(rand::rng().random::<[u8; 12]>());
    let title: String = first_question.chars().take(60).collect();
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(user_id)
        .bind(title.trim())
        .execute(&store.pool)
        .await?;
    Ok(id)
}

/// Whether `user_id` owns the conversation (a stranger's id looks like a missing one).
pub async fn owned(store: &Store, user_id: i64, id: &str) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&store.pool)
            .await?
            .is_some(),
    )
}

pub async fn list(store: &Store, user_id: i64) -> anyhow::Result<Vec<ConversationSummary>> {
    let rows = sqlx::query(
        "SELECT id, title, updated_at FROM conversations WHERE user_id = $1 ORDER BY updated_at DESC LIMIT 100",
    )
    .bind(user_id)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| ConversationSummary {
            id: row.get("id"),
            title: row.get("title"),
            updated_at: row.get("updated_at"),
        })
        .collect())
}

/// The turns of a conversation the user owns, oldest first; `None` if it is not theirs.
pub async fn turns(store: &Store, user_id: i64, id: &str) -> anyhow::Result<Option<Vec<Turn>>> {
    if !owned(store, user_id, id).await? {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT messages.id, question, answer_json, messages.created_at, feedback.rating FROM messages \
         LEFT JOIN feedback ON feedback.message_id = messages.id AND feedback.user_id = $1 \
         WHERE conversation_id = $2 ORDER BY messages.id",
    )
    .bind(user_id)
    .bind(id)
    .fetch_all(&store.pool)
    .await?;
    Ok(Some(
        rows.iter()
            .map(|row| Turn {
                id: row.get("id"),
                question: row.get("question"),
                answer: serde_json::from_str(row.get::<&str, _>("answer_json")).unwrap_or(Value::Null),
                rating: row.get("rating"),
                created_at: row.get("created_at"),
            })
            .collect(),
    ))
}

/// The last question asked in a conversation.
pub async fn last_question(store: &Store, id: &str) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT question FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(id)
            .fetch_optional(&store.pool)
            .await?,
    )
}

pub async fn delete(store: &Store, user_id: i64, id: &str) -> anyhow::Result<bool> {
    let mut transaction = store.pool.begin().await?;
    let owned = sqlx::query("SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut *transaction)
        .await?
        .is_some();
    if owned {
        delete_where(&mut transaction, "id = $1", id).await?;
    }
    transaction.commit().await?;
    Ok(owned)
}

/// Deletes the conversations (with their messages and ratings) last active before
/// `before` (a time as `updated_at` holds it); returns how many.
pub async fn purge_before(store: &Store, before: &str) -> anyhow::Result<u64> {
    let mut transaction = store.pool.begin().await?;
    let purged = delete_where(&mut transaction, "updated_at < $1", before).await?;
    transaction.commit().await?;
    Ok(purged)
}

/// Deletes the conversations matching `condition` (on `conversations`, with `$1` bound to
/// `value`), their messages and those messages' ratings; returns how many conversations.
async fn delete_where(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    condition: &str,
    value: &str,
) -> anyhow::Result<u64> {
    let chosen = format!("SELECT id FROM conversations WHERE {condition}");
    let statements = [
        format!(
            "DELETE FROM feedback WHERE message_id IN (SELECT id FROM messages WHERE conversation_id IN ({chosen}))"
        ),
        format!("DELETE FROM messages WHERE conversation_id IN ({chosen})"),
        format!("DELETE FROM conversations WHERE {condition}"),
    ];
    let mut deleted = 0;
    for statement in &statements {
        deleted = sqlx::query(statement)
            .bind(value)
            .execute(&mut **transaction)
            .await?
            .rows_affected();
    }
    Ok(deleted)
}

/// Stores a turn; returns its message id.
pub async fn add_turn(store: &Store, id: &str, question: &str, answer: &Value) -> anyhow::Result<i64> {
    let refused = answer["refused"].as_bool().unwrap_or(false);
    // Sentences the check left out count too: they are what a reviewer should look at.
    let count = |field: &str| {
        answer[field].as_array().map_or(0, |sentences| {
            sentences
                .iter()
                .filter(|sentence| sentence["supported"] == false)
                .count()
        })
    };
    let unsupported = count("sentences") + count("rejected");
    let message = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, question, answer_json, refused, unsupported) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(id)
    .bind(question)
    .bind(answer.to_string())
    .bind(i64::from(refused))
    .bind(unsupported as i64)
    .fetch_one(&store.pool)
    .await?;
    let touch = format!("UPDATE conversations SET updated_at = {} WHERE id = $1", store.now());
    sqlx::query(&touch).bind(id).execute(&store.pool).await?;
    Ok(message)
}

/// Records a rating of a message in one of the user's own conversations; false if the
/// message is not theirs.
pub async fn rate(store: &Store, user_id: i64, message_id: i64, rating: i64, comment: &str) -> anyhow::Result<bool> {
    let theirs = sqlx::query(
        "SELECT 1 FROM messages JOIN conversations ON conversations.id = messages.conversation_id \
         WHERE messages.id = $1 AND conversations.user_id = $2",
    )
    .bind(message_id)
    .bind(user_id)
    .fetch_optional(&store.pool)
    .await?
    .is_some();
    if !theirs {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO feedback (message_id, user_id, rating, comment) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (message_id, user_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment",
    )
    .bind(message_id)
    .bind(user_id)
    .bind(rating)
    .bind(comment)
    .execute(&store.pool)
    .await?;
    Ok(true)
}

/// Marks a flagged answer as reviewed; false if there is no such message.
pub async fn mark_reviewed(store: &Store, message_id: i64) -> anyhow::Result<bool> {
    Ok(sqlx::query("UPDATE messages SET reviewed = 1 WHERE id = $1")
        .bind(message_id)
        .execute(&store.pool)
        .await?
        .rows_affected()
        > 0)
}

/// An answer flagged for people to review.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub message_id: i64,
    /// Who asked.
    pub user: String,
    pub question: String,
    /// The answer as it was shown (absent when its record cannot be read).
    pub answer: Option<String>,
    /// Sentences of the answer that no passage supported.
    pub unsupported_sentences: i64,
    /// -1 when the asker rated it down.
    pub rating: Option<i64>,
    pub comment: Option<String>,
    pub created_at: String,
}

/// Answers for people to review: rated down, or with sentences no passage supports.
pub async fn review_queue(store: &Store) -> anyhow::Result<Vec<ReviewItem>> {
    let rows = sqlx::query(
        "SELECT messages.id, messages.question, messages.answer_json, messages.unsupported, messages.created_at, \
         users.username, feedback.rating, feedback.comment \
         FROM messages JOIN conversations ON conversations.id = messages.conversation_id \
         JOIN users ON users.id = conversations.user_id \
         LEFT JOIN feedback ON feedback.message_id = messages.id \
         WHERE (feedback.rating = -1 OR messages.unsupported > 0) AND messages.reviewed = 0 \
         ORDER BY messages.id DESC LIMIT 200",
    )
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let answer: Value = serde_json::from_str(row.get::<&str, _>("answer_json")).unwrap_or(Value::Null);
            ReviewItem {
                message_id: row.get("id"),
                user: row.get("username"),
                question: row.get("question"),
                answer: answer["answer"].as_str().map(str::to_owned),
                unsupported_sentences: row.get("unsupported"),
                rating: row.get("rating"),
                comment: row.get("comment"),
                created_at: row.get("created_at"),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_follow_ups_carry_the_previous_question() {
        assert_eq!(
            retrieval_query("周末呢？", Some("食堂几点开门？")),
            "食堂几点开门？ 周末呢？"
        );
        assert_eq!(retrieval_query("周末呢？", None), "周末呢？");
        let long = "What is the address of the VPN gateway for remote work?";
        assert_eq!(retrieval_query(long, Some("earlier")), long);
    }

    #[tokio::test]
    async fn conversations_belong_to_their_user() {
        for test in crate::store::testing::stores().await {
            let pool = test.store.clone();
            let alice = crate::store::users::add(&pool, "alice", "password-1", crate::acl::Role::Employee, &[])
                .await
                .unwrap();
            let bob = crate::store::users::add(&pool, "bob", "password-2", crate::acl::Role::Employee, &[])
                .await
                .unwrap();
            let id = create(&pool, alice.id, "食堂几点开门？").await.unwrap();
            let answer =
                serde_json::json!({ "answer": "十一点半。", "refused": false, "sentences": [{ "supported": false }] });
            let message = add_turn(&pool, &id, "食堂几点开门？", &answer).await.unwrap();
            assert_eq!(turns(&pool, alice.id, &id).await.unwrap().unwrap().len(), 1);
            assert!(
                turns(&pool, bob.id, &id).await.unwrap().is_none(),
                "another user's conversation"
            );
            assert!(!rate(&pool, bob.id, message, -1, "").await.unwrap());
            assert!(rate(&pool, alice.id, message, -1, "wrong time").await.unwrap());
            assert_eq!(review_queue(&pool).await.unwrap().len(), 1);
            assert!(mark_reviewed(&pool, message).await.unwrap());
            assert!(
                review_queue(&pool).await.unwrap().is_empty(),
                "reviewed answers leave the queue"
            );
            assert_eq!(purge_before(&pool, "2000-01-01T00:00:00.000Z").await.unwrap(), 0);
            assert!(!delete(&pool, bob.id, &id).await.unwrap());
            assert!(delete(&pool, alice.id, &id).await.unwrap());
            assert!(list(&pool, alice.id).await.unwrap().is_empty());

            let old = create(&pool, bob.id, "旧问题").await.unwrap();
            let message = add_turn(&pool, &old, "旧问题", &answer).await.unwrap();
            assert!(rate(&pool, bob.id, message, 1, "").await.unwrap());
            assert_eq!(purge_before(&pool, "9999-01-01T00:00:00.000Z").await.unwrap(), 1);
            assert!(list(&pool, bob.id).await.unwrap().is_empty());
            assert!(review_queue(&pool).await.unwrap().is_empty());
        }
    }
}

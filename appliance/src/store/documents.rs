//! Documents and their chunks: the rows search resolves hits against, and the short
//! transaction that switches a document from one version to the next.
//!
//! A version is written in three steps by the engine: chunk ids are reserved here
//! ([`reserve_chunk_ids`]), both indexes are written under those ids (nothing resolves them
//! yet: search keeps only hits whose row exists), then [`write_version`] swaps the rows in
//! one transaction that holds no lock while anything slow runs.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, flag, groups_from_json};
use crate::acl::DocumentAccess;

/// A document as the rest of the appliance sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    /// Where it came from: a path (command line, `serve --ingest`) or an upload's name.
    pub source: String,
    pub title: String,
    pub format: String,
    pub sha256: String,
    pub version: i64,
    pub access: DocumentAccess,
    pub pages: i64,
    pub ocr_pages: i64,
    pub unreadable_pages: i64,
    pub size_bytes: i64,
    pub chunks: i64,
    /// The stored original of an uploaded document.
    pub file_path: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Document {
    /// The file name people know it by.
    pub fn name(&self) -> String {
        file_name(&self.source)
    }
}

/// The last component of a source path (an upload's name is already one).
pub fn file_name(source: &str) -> String {
    std::path::Path::new(source)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_owned())
}

const DOCUMENT_COLUMNS: &str = "documents.id, documents.source, documents.title, documents.format, \
     documents.sha256, documents.version, documents.groups_json, documents.public, documents.pages, \
     documents.ocr_pages, documents.unreadable_pages, documents.size_bytes, documents.chunks, \
     documents.file_path, documents.created_at, documents.updated_at";

fn document_from_row(row: &AnyRow) -> Document {
    Document {
        id: row.get("id"),
        source: row.get("source"),
        title: row.get("title"),
        format: row.get("format"),
        sha256: row.get("sha256"),
        version: row.get("version"),
        access: DocumentAccess::new(groups_from_json(row.get("groups_json")), flag(row, "public")),
        pages: row.get("pages"),
        ocr_pages: row.get("ocr_pages"),
        unreadable_pages: row.get("unreadable_pages"),
        size_bytes: row.get("size_bytes"),
        chunks: row.get("chunks"),
        file_path: row.get("file_path"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// One document, if it exists.
pub async fn get(store: &Store, id: &str) -> anyhow::Result<Option<Document>> {
    let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&store.pool).await?;
    Ok(row.as_ref().map(document_from_row))
}

/// Every document, most recently changed first.
pub async fn list(store: &Store) -> anyhow::Result<Vec<Document>> {
    let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY updated_at DESC");
    let rows = sqlx::query(&sql).fetch_all(&store.pool).await?;
    Ok(rows.iter().map(document_from_row).collect())
}

/// The documents known by `source` (a path, or an upload name several groups may share),
/// oldest first.
pub async fn with_source(store: &Store, source: &str) -> anyhow::Result<Vec<Document>> {
    let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE source = $1 ORDER BY created_at, id");
    let rows = sqlx::query(&sql).bind(source).fetch_all(&store.pool).await?;
    Ok(rows.iter().map(document_from_row).collect())
}

/// The documents other than `other_than` with exactly this content.
pub async fn with_content(store: &Store, sha256: &str, other_than: Option<&str>) -> anyhow::Result<Vec<Document>> {
    let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE sha256 = $1 AND id != COALESCE($2, '')");
    let rows = sqlx::query(&sql)
        .bind(sha256)
        .bind(other_than)
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.iter().map(document_from_row).collect())
}

/// The title of a document that still exists.
pub async fn title(store: &Store, id: &str) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT title FROM documents WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.pool)
        .await?)
}

/// Reserves `count` consecutive chunk ids and returns the first. Ids are never reused,
/// so index entries written under them before their rows exist are unambiguous.
pub async fn reserve_chunk_ids(store: &Store, count: u64) -> anyhow::Result<u64> {
    let first: i64 =
        sqlx::query_scalar("UPDATE id_sequences SET next = next + $1 WHERE name = 'chunks' RETURNING next - $2")
            .bind(count as i64)
            .bind(count as i64)
            .fetch_one(&store.pool)
            .await?;
    Ok(first as u64)
}

/// A chunk of a version about to be written.
#[derive(Debug, Clone)]
pub struct NewChunk {
    /// Reserved with [`reserve_chunk_ids`].
    pub id: u64,
    pub page: u32,
    pub heading: String,
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub language: &'static str,
}

/// A version about to replace the current one (or the first version).
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub document_id: String,
    pub source: String,
    pub title: String,
    pub format: String,
    pub sha256: String,
    pub version: i64,
    pub access: DocumentAccess,
    pub pages: i64,
    pub ocr_pages: i64,
    pub unreadable_pages: i64,
    pub size_bytes: i64,
    pub file_path: Option<String>,
    pub chunks: Vec<NewChunk>,
}

/// Switches the document to `version` in one short transaction: the document row, the
/// old chunk rows out, the new ones in. Returns the old chunk ids (to remove from the
/// indexes now that nothing resolves them).
pub async fn write_version(store: &Store, version: &NewVersion) -> anyhow::Result<Vec<u64>> {
    let now = store.now();
    let mut transaction = store.pool.begin().await?;
    let upsert = format!(
        "INSERT INTO documents (id, source, title, format, sha256, version, groups_json, public, pages, \
         ocr_pages, unreadable_pages, size_bytes, chunks, file_path) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO UPDATE SET source = excluded.source, \
         title = excluded.title, \
         format = excluded.format, sha256 = excluded.sha256, version = excluded.version, \
         groups_json = excluded.groups_json, public = excluded.public, pages = excluded.pages, \
         ocr_pages = excluded.ocr_pages, unreadable_pages = excluded.unreadable_pages, \
         size_bytes = excluded.size_bytes, chunks = excluded.chunks, file_path = excluded.file_path, \
         updated_at = {now}"
    );
    sqlx::query(&upsert)
        .bind(&version.document_id)
        .bind(&version.source)
        .bind(&version.title)
        .bind(&version.format)
        .bind(&version.sha256)
        .bind(version.version)
        .bind(serde_json::to_string(&version.access.groups)?)
        .bind(i64::from(version.access.public))
        .bind(version.pages)
        .bind(version.ocr_pages)
        .bind(version.unreadable_pages)
        .bind(version.size_bytes)
        .bind(version.chunks.len() as i64)
        .bind(&version.file_path)
        .execute(&mut *transaction)
        .await?;
    let old_chunks: Vec<u64> = sqlx::query_scalar::<_, i64>("SELECT id FROM chunks WHERE document_id = $1")
        .bind(&version.document_id)
        .fetch_all(&mut *transaction)
        .await?
        .into_iter()
        .map(|id| id as u64)
        .collect();
    sqlx::query("DELETE FROM chunks WHERE document_id = $1")
        .bind(&version.document_id)
        .execute(&mut *transaction)
        .await?;
    for chunk in &version.chunks {
        sqlx::query(
            "INSERT INTO chunks (id, document_id, version, page, heading, span_start, span_end, text, language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(chunk.id as i64)
        .bind(&version.document_id)
        .bind(version.version)
        .bind(i64::from(chunk.page))
        .bind(&chunk.heading)
        .bind(chunk.start as i64)
        .bind(chunk.end as i64)
        .bind(&chunk.text)
        .bind(chunk.language)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(old_chunks)
}

/// Deletes a document and its chunks; returns what was deleted.
pub async fn delete(store: &Store, id: &str) -> anyhow::Result<Option<Document>> {
    let mut transaction = store.pool.begin().await?;
    let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1");
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut *transaction).await? else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM chunks WHERE document_id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM documents WHERE id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Some(document_from_row(&row)))
}

/// Changes who may read a document; false when there is no such document.
pub async fn set_access(store: &Store, id: &str, access: &DocumentAccess) -> anyhow::Result<bool> {
    let now = store.now();
    let sql = format!("UPDATE documents SET groups_json = $1, public = $2, updated_at = {now} WHERE id = $3");
    let updated = sqlx::query(&sql)
        .bind(serde_json::to_string(&access.groups)?)
        .bind(i64::from(access.public))
        .bind(id)
        .execute(&store.pool)
        .await?
        .rows_affected();
    Ok(updated > 0)
}

/// A chunk with what the keyword index stores beside its text.
#[derive(Debug, Clone)]
pub struct IndexedChunk {
    pub chunk_id: u64,
    pub document_id: String,
    pub title: String,
    pub heading: String,
    pub text: String,
    pub access: DocumentAccess,
}

impl IndexedChunk {
    /// The keyword index's entry for it, carrying `tokens` (its document's, or new ones).
    pub fn into_keyword_chunk(self, tokens: Vec<String>) -> retrieval::KeywordChunk {
        retrieval::KeywordChunk {
            chunk_id: self.chunk_id,
            document: self.document_id,
            title: self.title,
            text: self.text,
            access: tokens,
        }
    }
}

/// Every chunk (`document`: only that document's), for re-indexing.
pub async fn indexed_chunks(store: &Store, document: Option<&str>) -> anyhow::Result<Vec<IndexedChunk>> {
    let rows = sqlx::query(
        "SELECT chunks.id, chunks.text, chunks.heading, chunks.document_id, documents.title, documents.groups_json, \
         documents.public FROM chunks JOIN documents ON documents.id = chunks.document_id \
         WHERE $1 IS NULL OR chunks.document_id = $2",
    )
    .bind(document)
    .bind(document)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| IndexedChunk {
            chunk_id: row.get::<i64, _>("id") as u64,
            document_id: row.get("document_id"),
            title: row.get("title"),
            heading: row.get("heading"),
            text: row.get("text"),
            access: DocumentAccess::new(groups_from_json(row.get("groups_json")), flag(row, "public")),
        })
        .collect())
}

/// A chunk found by search, with its document.
#[derive(Debug, Clone)]
pub struct ResolvedChunk {
    pub chunk_id: u64,
    pub version: i64,
    pub page: u32,
    pub heading: String,
    pub text: String,
    pub document: Document,
}

/// The chunks among `ids` whose rows exist (index entries of a version not yet switched to,
/// or already replaced, resolve to nothing), in no particular order.
pub async fn resolve_chunks(store: &Store, ids: &[u64]) -> anyhow::Result<Vec<ResolvedChunk>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=ids.len())
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT chunks.id AS chunk_id, chunks.version AS chunk_version, chunks.page, chunks.heading, chunks.text, \
         {DOCUMENT_COLUMNS} FROM chunks JOIN documents ON documents.id = chunks.document_id \
         WHERE chunks.id IN ({placeholders})"
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id as i64);
    }
    let rows = query.fetch_all(&store.pool).await?;
    Ok(rows
        .iter()
        .map(|row| ResolvedChunk {
            chunk_id: row.get::<i64, _>("chunk_id") as u64,
            version: row.get("chunk_version"),
            page: row.get::<i64, _>("page") as u32,
            heading: row.get("heading"),
            text: row.get("text"),
            document: document_from_row(row),
        })
        .collect())
}

/// One passage of a page, for the page preview.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PagePassage {
    pub chunk_id: i64,
    pub heading: String,
    pub start: i64,
    pub end: i64,
    pub text: String,
}

/// The passages of one page of a document, in page order.
pub async fn page_passages(store: &Store, id: &str, page: u32) -> anyhow::Result<Vec<PagePassage>> {
    let rows = sqlx::query(
        "SELECT id, heading, span_start, span_end, text FROM chunks WHERE document_id = $1 AND page = $2 \
         ORDER BY span_start",
    )
    .bind(id)
    .bind(i64::from(page))
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| PagePassage {
            chunk_id: row.get("id"),
            heading: row.get("heading"),
            start: row.get("span_start"),
            end: row.get("span_end"),
            text: row.get("text"),
        })
        .collect())
}

/// Number of chunk rows.
pub async fn chunk_count(store: &Store) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM chunks")
        .fetch_one(&store.pool)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    fn version(id: &str, number: i64, first_chunk: u64, texts: &[&str]) -> NewVersion {
        NewVersion {
            document_id: id.to_owned(),
            source: format!("/docs/{id}.md"),
            title: format!("Title of {id}"),
            format: "markdown".to_owned(),
            sha256: format!("{id}-{number}"),
            version: number,
            access: DocumentAccess::new(vec!["finance".to_owned()], false),
            pages: 2,
            ocr_pages: 0,
            unreadable_pages: 0,
            size_bytes: 100,
            file_path: None,
            chunks: texts
                .iter()
                .enumerate()
                .map(|(index, text)| NewChunk {
                    id: first_chunk + index as u64,
                    page: index as u32 + 1,
                    heading: "Heading".to_owned(),
                    start: 0,
                    end: text.len(),
                    text: (*text).to_owned(),
                    language: "en",
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn versions_replace_their_chunks_and_deletion_removes_both() {
        for test in stores().await {
            let store = &test.store;
            let first = reserve_chunk_ids(store, 2).await.unwrap();
            let second = reserve_chunk_ids(store, 1).await.unwrap();
            assert_eq!(second, first + 2, "reserved ranges do not overlap");
            assert!(
                write_version(store, &version("a", 1, first, &["one", "two"]))
                    .await
                    .unwrap()
                    .is_empty()
            );
            let resolved = resolve_chunks(store, &[first, first + 1, 999_999]).await.unwrap();
            assert_eq!(resolved.len(), 2, "an id without a row resolves to nothing");
            assert!(resolved.iter().all(|chunk| chunk.document.access.groups == ["finance"]));
            assert_eq!(page_passages(store, "a", 2).await.unwrap()[0].text, "two");

            let replaced = write_version(store, &version("a", 2, second, &["three"]))
                .await
                .unwrap();
            assert_eq!(replaced, vec![first, first + 1]);
            assert!(resolve_chunks(store, &[first]).await.unwrap().is_empty());
            let document = get(store, "a").await.unwrap().unwrap();
            assert_eq!((document.version, document.chunks), (2, 1));
            assert_eq!(with_content(store, "a-2", None).await.unwrap().len(), 1);
            assert!(with_content(store, "a-2", Some("a")).await.unwrap().is_empty());
            assert_eq!(with_source(store, "/docs/a.md").await.unwrap().len(), 1);

            assert!(
                set_access(store, "a", &DocumentAccess::new(Vec::new(), true))
                    .await
                    .unwrap()
            );
            assert!(
                !set_access(store, "missing", &DocumentAccess::new(Vec::new(), true))
                    .await
                    .unwrap()
            );
            let chunks = indexed_chunks(store, Some("a")).await.unwrap();
            assert_eq!(chunks.len(), 1);
            assert!(chunks[0].access.public);
            assert_eq!(indexed_chunks(store, None).await.unwrap().len(), 1);

            assert_eq!(delete(store, "a").await.unwrap().unwrap().title, "Title of a");
            assert!(delete(store, "a").await.unwrap().is_none());
            assert_eq!(chunk_count(store).await.unwrap(), 0);
            assert!(list(store).await.unwrap().is_empty());
        }
    }
}

//! Documents as people manage them: uploads and new versions, re-indexing, deletion and
//! permissions, each checked against the caller's [`Acl`].
//!
//! A document is identified by its id, never by a file-name collision. An upload whose
//! name matches a document the uploader may manage becomes a new version of it; one that
//! matches only documents the uploader may not manage is a new, separate document (two
//! groups may each have their own `policy.md`). Several manageable matches are a conflict:
//! the uploader picks one with "upload new version".

use std::path::Path;

use anyhow::Context;
use retrieval::KeywordChunk;

use super::jobs::new_document_id;
use super::{Engine, IngestOptions};
use crate::acl::{Acl, DocumentAccess};
use crate::store::documents::{self, Document, PagePassage};
use crate::store::jobs::{self, JobState, NewJob};
use crate::{Error, Result};

/// A queued upload, as `POST /api/documents` answers it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct QueuedUpload {
    pub job: i64,
    pub name: String,
    /// The document it will be a new version of (absent: a new document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
}

impl Engine {
    /// Stores an upload and queues its job; a worker ingests it. `name` must already be a
    /// safe display name (see [`ingest::display_name`]).
    pub async fn enqueue_upload(
        &self,
        acl: &Acl,
        name: &str,
        bytes: Vec<u8>,
        options: &IngestOptions,
    ) -> Result<QueuedUpload> {
        if !acl.may_upload() {
            return Err(Error::Forbidden);
        }
        self.check_assignable(acl, &options.access)?;
        let manageable: Vec<Document> = documents::with_source(&self.store, name)
            .await?
            .into_iter()
            .filter(|document| acl.may_manage(&document.access))
            .collect();
        let target = match manageable.as_slice() {
            [] => None,
            [document] => Some(document.id.clone()),
            _ => {
                return Err(Error::Conflict(format!(
                    "you manage {} documents named {name:?}: use \"upload new version\" on the one to replace",
                    manageable.len()
                )));
            }
        };
        let job = self.store_upload(name, bytes, options, target.as_deref()).await?;
        Ok(QueuedUpload {
            job,
            name: name.to_owned(),
            document_id: target,
        })
    }

    /// Stores a new version of document `id` and queues its job; the document keeps its
    /// permissions.
    pub async fn enqueue_new_version(
        &self,
        acl: &Acl,
        id: &str,
        name: &str,
        bytes: Vec<u8>,
        actor: &str,
    ) -> Result<QueuedUpload> {
        let document = self.manageable_document(acl, id).await?;
        let options = IngestOptions {
            access: document.access.clone(),
            actor: actor.to_owned(),
        };
        let job = self.store_upload(name, bytes, &options, Some(id)).await?;
        Ok(QueuedUpload {
            job,
            name: name.to_owned(),
            document_id: Some(document.id),
        })
    }

    async fn store_upload(
        &self,
        name: &str,
        bytes: Vec<u8>,
        options: &IngestOptions,
        target: Option<&str>,
    ) -> Result<i64> {
        let directory = self.settings.uploads_dir();
        tokio::fs::create_dir_all(&directory).await?;
        let extension = Path::new(name)
            .extension()
            .map(|extension| extension.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        // The stored name is ours, never the user's: no path tricks reach the disk.
        let path = directory.join(format!("{}.{extension}", new_document_id()));
        tokio::fs::write(&path, &bytes)
            .await
            .with_context(|| format!("storing the upload in {}", path.display()))?;
        let path = path.to_string_lossy().into_owned();
        let job = self
            .insert_job(name, Some(name), Some(&path), JobState::Queued, options, target)
            .await?;
        self.jobs_queued.notify_one();
        Ok(job)
    }

    /// An editor only gives documents to groups they belong to; a document must be
    /// readable by someone besides admins.
    pub fn check_assignable(&self, acl: &Acl, access: &DocumentAccess) -> Result<()> {
        if let Some(group) = acl.unassignable(&access.groups) {
            return Err(Error::BadRequest(format!("you are not a member of group {group:?}")));
        }
        if access.groups.is_empty() && !access.public {
            return Err(Error::BadRequest(
                "choose at least one group, or make the document readable by all employees".into(),
            ));
        }
        Ok(())
    }

    /// The documents `acl` may read, most recently changed first.
    pub async fn documents(&self, acl: &Acl) -> Result<Vec<Document>> {
        Ok(documents::list(&self.store)
            .await?
            .into_iter()
            .filter(|document| acl.may_read(&document.access))
            .collect())
    }

    /// Document `id`, or [`Error::NotFound`] when it does not exist or `acl` may not read it
    /// (the two are never told apart, so ids cannot be probed).
    pub async fn readable_document(&self, acl: &Acl, id: &str) -> Result<Document> {
        match documents::get(&self.store, id).await? {
            Some(document) if acl.may_read(&document.access) => Ok(document),
            _ => Err(Error::NotFound),
        }
    }

    /// Document `id` if `acl` may manage it: not found when unreadable, forbidden when
    /// readable only.
    pub async fn manageable_document(&self, acl: &Acl, id: &str) -> Result<Document> {
        let document = self.readable_document(acl, id).await?;
        if !acl.may_manage(&document.access) {
            return Err(Error::Forbidden);
        }
        Ok(document)
    }

    /// The passages of one page of a readable document (the preview a citation opens).
    pub async fn page(&self, acl: &Acl, id: &str, page: u32, actor: &str) -> Result<(Document, Vec<PagePassage>)> {
        let document = self.readable_document(acl, id).await?;
        let passages = documents::page_passages(&self.store, id, page).await?;
        crate::store::audit::append(
            &self.store,
            actor,
            "preview",
            serde_json::json!({ "document": id, "page": page }),
        )
        .await?;
        Ok((document, passages))
    }

    /// Queues a document to be parsed, chunked and embedded again from its stored file (or
    /// its source path), with its current permissions.
    pub async fn enqueue_reindex(&self, acl: &Acl, id: &str, actor: &str) -> Result<i64> {
        let document = self.manageable_document(acl, id).await?;
        let name = document.file_path.as_ref().map(|_| document.source.clone());
        let job = NewJob {
            source: &document.source,
            name: name.as_deref(),
            file_path: document.file_path.as_deref(),
            state: JobState::Queued,
            access: &document.access,
            actor,
            reindex: true,
            target_document: Some(id),
            claimed_by: None,
        };
        let job = jobs::insert(&self.store, &job).await?;
        crate::store::audit::append(
            &self.store,
            actor,
            "reindex",
            serde_json::json!({ "document": id, "job": job }),
        )
        .await?;
        self.jobs_queued.notify_one();
        Ok(job)
    }

    /// Deletes a document from the store (search stops returning it at that commit), then
    /// from both indexes and the disk.
    pub async fn delete_document(&self, acl: &Acl, id: &str, actor: &str) -> Result<()> {
        self.manageable_document(acl, id).await?;
        let deleted = documents::delete(&self.store, id).await?.ok_or(Error::NotFound)?;
        let (keyword, vector_store, owned_id) = (self.keyword.clone(), self.vectors.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || -> Result<()> {
            keyword.delete_document(&owned_id)?;
            vector_store.delete_document(&owned_id)?;
            Ok(())
        })
        .await??;
        super::jobs::remove_stored(deleted.file_path.as_deref()).await;
        crate::store::audit::append(
            &self.store,
            actor,
            "delete",
            serde_json::json!({
                "document": id,
                "source": deleted.source,
                "title": deleted.title,
                "version": deleted.version,
            }),
        )
        .await?;
        Ok(())
    }

    /// Changes who may read a document: the store first (search re-checks it on every
    /// hit), then the access tokens inside both indexes.
    pub async fn set_document_access(&self, acl: &Acl, id: &str, access: &DocumentAccess, actor: &str) -> Result<()> {
        self.manageable_document(acl, id).await?;
        self.check_assignable(acl, access)?;
        if !documents::set_access(&self.store, id, access).await? {
            return Err(Error::NotFound);
        }
        let tokens = access.index_tokens();
        let keyword_chunks: Vec<KeywordChunk> = documents::indexed_chunks(&self.store, Some(id))
            .await?
            .into_iter()
            .map(|chunk| chunk.into_keyword_chunk(tokens.clone()))
            .collect();
        let (keyword, vector_store, owned_id) = (self.keyword.clone(), self.vectors.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || -> Result<()> {
            keyword.add_chunks(&keyword_chunks)?;
            vector_store.set_document_access(&owned_id, &tokens)?;
            Ok(())
        })
        .await??;
        crate::store::audit::append(
            &self.store,
            actor,
            "permission_change",
            serde_json::json!({ "document": id, "groups": access.groups, "public": access.public }),
        )
        .await?;
        Ok(())
    }
}

-- PostgreSQL twin of ../0007_upload_identity.sql. A document is no longer identified by
-- its file name: two groups may each have their own `policy.md`.
--
-- Chunk ids are reserved before a version is written (`id_sequences`), so both indexes
-- can be written before the short transaction that swaps versions, not inside it.
-- A job may target a document: an upload of a new version of it.
ALTER TABLE documents DROP CONSTRAINT documents_source_key;
CREATE INDEX documents_source ON documents (source);

CREATE TABLE id_sequences (
    name TEXT PRIMARY KEY,
    next BIGINT NOT NULL
);
INSERT INTO id_sequences (name, next) SELECT 'chunks', COALESCE(MAX(id), 0) + 1 FROM chunks;

ALTER TABLE jobs ADD COLUMN target_document TEXT;

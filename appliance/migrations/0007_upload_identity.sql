-- A document is no longer identified by its file name: two groups may each have their own
-- `policy.md`. SQLite cannot drop a UNIQUE constraint, so the table is rebuilt. Migrations
-- run in a transaction, where foreign keys cannot be switched off, so the chunks table is
-- rebuilt beside it and dropped first: dropping `documents` then cascades to nothing.
--
-- Chunk ids are reserved before a version is written (`id_sequences`), so both indexes
-- can be written before the short transaction that swaps versions, not inside it.
-- A job may target a document: an upload of a new version of it.
CREATE TABLE documents_new (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    title            TEXT NOT NULL,
    format           TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    groups_json      TEXT NOT NULL DEFAULT '[]',
    public           INTEGER NOT NULL DEFAULT 1,
    pages            INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ocr_pages        INTEGER NOT NULL DEFAULT 0,
    unreadable_pages INTEGER NOT NULL DEFAULT 0,
    size_bytes       INTEGER NOT NULL DEFAULT 0,
    chunks           INTEGER NOT NULL DEFAULT 0,
    file_path        TEXT
);
INSERT INTO documents_new (id, source, title, format, sha256, version, groups_json, public, pages,
    created_at, updated_at, ocr_pages, unreadable_pages, size_bytes, chunks, file_path)
SELECT id, source, title, format, sha256, version, groups_json, public, pages,
    created_at, updated_at, ocr_pages, unreadable_pages, size_bytes, chunks, file_path FROM documents;
CREATE TABLE chunks_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents_new (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    page        INTEGER NOT NULL,
    heading     TEXT NOT NULL DEFAULT '',
    span_start  INTEGER NOT NULL,
    span_end    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    language    TEXT NOT NULL DEFAULT ''
);
INSERT INTO chunks_new (id, document_id, version, page, heading, span_start, span_end, text, language)
SELECT id, document_id, version, page, heading, span_start, span_end, text, language FROM chunks;
DROP TABLE chunks;
DROP TABLE documents;
-- Renaming the parent also renames the children's references to it.
ALTER TABLE documents_new RENAME TO documents;
ALTER TABLE chunks_new RENAME TO chunks;
CREATE INDEX documents_sha256 ON documents (sha256);
CREATE INDEX documents_source ON documents (source);
CREATE INDEX chunks_document ON chunks (document_id);

CREATE TABLE id_sequences (
    name TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
INSERT INTO id_sequences (name, next) SELECT 'chunks', COALESCE(MAX(id), 0) + 1 FROM chunks;

ALTER TABLE jobs ADD COLUMN target_document TEXT;

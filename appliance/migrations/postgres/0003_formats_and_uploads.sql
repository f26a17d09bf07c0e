-- PostgreSQL twin of ../0003_formats_and_uploads.sql: the same schema, with BIGINT integers and identity ids.
-- Chunk language, OCR and upload bookkeeping.

ALTER TABLE chunks ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- Where an uploaded file's bytes wait until its job is done (NULL: `source` is a path).
ALTER TABLE jobs ADD COLUMN file_path TEXT;
-- The upload's display name (the file name the user chose, sanitised).
ALTER TABLE jobs ADD COLUMN name TEXT;

ALTER TABLE documents ADD COLUMN ocr_pages BIGINT NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN unreadable_pages BIGINT NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN size_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN chunks BIGINT NOT NULL DEFAULT 0;
-- What became of a finished job, for people ("12 pages, 40 chunks", "duplicate of ...").
ALTER TABLE jobs ADD COLUMN detail TEXT;
-- The stored original of an uploaded document (NULL for documents ingested from a path).
ALTER TABLE documents ADD COLUMN file_path TEXT;

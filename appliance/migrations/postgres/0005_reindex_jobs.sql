-- PostgreSQL twin of ../0005_reindex_jobs.sql: the same schema, with BIGINT integers and identity ids.
-- A re-index job parses its document again even when the file is unchanged, and never
-- removes the stored original.
ALTER TABLE jobs ADD COLUMN reindex BIGINT NOT NULL DEFAULT 0;

-- A re-index job parses its document again even when the file is unchanged, and never
-- removes the stored original.
ALTER TABLE jobs ADD COLUMN reindex INTEGER NOT NULL DEFAULT 0;

-- PostgreSQL twin of ../0002_job_options.sql: the same schema, with BIGINT integers and identity ids.
-- What a job needs to be resumed after a crash: who may read the document and who asked.
ALTER TABLE jobs ADD COLUMN groups_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN public BIGINT NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN actor TEXT NOT NULL DEFAULT '';

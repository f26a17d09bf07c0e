-- What a job needs to be resumed after a crash: who may read the document and who asked.
ALTER TABLE jobs ADD COLUMN groups_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN public INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN actor TEXT NOT NULL DEFAULT '';

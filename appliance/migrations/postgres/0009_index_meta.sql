-- PostgreSQL twin of ../0009_index_meta.sql: the same schema, with BIGINT integers and identity ids.
-- Facts about the indexes that the database must remember: which embedding model built the
-- vectors (another model's vectors cannot be mixed with them, so a change rebuilds them).
CREATE TABLE index_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- PostgreSQL twin of ../0008_audit_seal.sql: the same schema, with BIGINT integers and identity ids.
-- Each audit row's hash is sealed with a key kept outside the database (HMAC-SHA256):
-- whoever can write the database can recompute the plain hash chain, but not the seals.
-- Rows written before this migration have none; the first sealed row covers them, since
-- its hash chains over theirs.
ALTER TABLE audit ADD COLUMN seal TEXT;

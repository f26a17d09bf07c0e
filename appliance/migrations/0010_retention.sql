-- Retention: old audit rows and conversations can be purged. Each audit purge leaves a
-- marker naming the last purged row's id and hash, sealed with the audit key, so the chain
-- that remains still verifies from that hash on, and a cut beyond the marker is detected.
CREATE TABLE audit_purges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    through_id   INTEGER NOT NULL,
    through_hash TEXT NOT NULL,
    purged_rows  INTEGER NOT NULL,
    at           TEXT NOT NULL,
    seal         TEXT NOT NULL
);
CREATE INDEX conversations_updated ON conversations (updated_at);

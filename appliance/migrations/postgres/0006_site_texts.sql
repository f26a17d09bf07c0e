-- PostgreSQL twin of ../0006_site_texts.sql: the same schema, with BIGINT integers and identity ids.
-- Admin-edited texts, every version kept: the answer system prompt (its sha256 goes into
-- the audit log of every answer) and the keyword index's domain dictionary.
CREATE TABLE site_texts (
    kind TEXT NOT NULL CHECK (kind IN ('system_prompt', 'domain_dictionary')),
    version BIGINT NOT NULL,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);

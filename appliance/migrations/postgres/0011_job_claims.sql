-- PostgreSQL twin of ../0011_job_claims.sql: the same schema.
-- Several appliance nodes share one job queue: each running job names the node whose worker
-- claimed it, so a node that restarts puts back only its own interrupted jobs, never a job
-- another node is running. A running job's updated_at is its heartbeat; a job whose node
-- stopped beating for long is queued again by any node.
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;

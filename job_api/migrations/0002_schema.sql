-- The job API's records. Applied once by `python -m job_api migrate` (job_api/migrate.py),
-- after PGMQ's SQL-only install (0001) and before the queues are created (0003).

-- API keys: only the SHA-256 of a key is stored; the key itself is shown once, at sign-in.
CREATE TABLE job_api_keys (
    key_hash      bytea PRIMARY KEY,
    principal_arn text        NOT NULL,  -- the caller's ARN as STS returned it
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX job_api_keys_expiry ON job_api_keys (expires_at);

-- Signatures of GetCallerIdentity requests already exchanged for a key: a replay of one is
-- refused until its X-Amz-Date window has passed (after which STS refuses it anyway).
CREATE TABLE job_api_used_signatures (
    signature  text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX job_api_used_signatures_expiry ON job_api_used_signatures (expires_at);

CREATE TABLE job_api_jobs (
    id               uuid        PRIMARY KEY,
    owner            text        NOT NULL,  -- the submitter's ARN
    team             text        NOT NULL,
    namespace        text        NOT NULL,
    pool             text        NOT NULL,
    gpus             integer     NOT NULL CHECK (gpus > 0),
    spec             jsonb       NOT NULL,  -- the validated request
    idempotency_key  text,
    request_hash     text        NOT NULL,  -- what an idempotent retry must repeat
    status           text        NOT NULL CHECK (status IN
                         ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled',
                          'dead_lettered')),
    reason           text,                  -- why it failed, was cancelled or dead-lettered
    attempts         integer     NOT NULL DEFAULT 0,  -- dispatch attempts (queue reads)
    cancel_requested boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    dispatched_at    timestamptz,
    finished_at      timestamptz,
    UNIQUE (owner, idempotency_key)
);
CREATE INDEX job_api_jobs_owner ON job_api_jobs (owner, created_at DESC, id DESC);
-- The limits count active jobs; the dispatcher reconciles dispatched ones.
CREATE INDEX job_api_jobs_active ON job_api_jobs (status, team)
    WHERE status IN ('queued', 'dispatched', 'running');

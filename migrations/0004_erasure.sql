-- Erasure leaves tombstones without content (which documents existed, and when they were
-- erased) and an audit record; retention expiry uses the same sweep.
CREATE TABLE memory_tombstones (
    id         text PRIMARY KEY,
    index_id   text NOT NULL,
    reason     text NOT NULL,  -- 'erasure' | 'expired'
    erased_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    subject  text,
    details  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, at);

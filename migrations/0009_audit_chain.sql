-- The audit log becomes one hash chain: each record carries the hash of the one before it
-- (`prev_hash`) and its own (`hash`, SHA-256 over its canonical text, below), and
-- `audit_chain_head` holds the last one. Editing or deleting a record breaks the chain from
-- that record on; deleting the newest ones no longer matches the head. `lukhas audit verify`
-- recomputes every hash (app/guardian/audit.py holds the same canonical form, independently).
--
-- The canonical text of a record: its fields, each as `<length>:<value>` (`-` for a null),
-- joined by newlines, in this order: prev_hash, id, at (UTC, microseconds,
-- `YYYY-MM-DDTHH:MM:SS.ffffffZ`), actor, action, subject, details (jsonb's own text form).
--
-- Appends go through audit_append(), which locks the head row: concurrent appends from any
-- number of workers queue on it, so there is one chain and ids rise along it.

ALTER TABLE audit_log ADD COLUMN prev_hash text, ADD COLUMN hash text;

CREATE TABLE audit_chain_head (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_id    bigint NOT NULL DEFAULT 0,
    last_hash  text NOT NULL
);

CREATE FUNCTION audit_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN '-' ELSE length(value)::text || ':' || value END
$$;

CREATE FUNCTION audit_at_text(at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION audit_hash(prev_hash text, id bigint, at timestamptz, actor text, action text,
                           subject text, details jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\n',
        audit_field(prev_hash), audit_field(id::text), audit_field(audit_at_text(at)),
        audit_field(actor), audit_field(action), audit_field(subject),
        audit_field(details::text)), 'UTF8')), 'hex')
$$;

-- The records written before the chain existed are chained now, oldest first.
DO $$
DECLARE
    rec record;
    prev text := repeat('0', 64);
    last bigint := 0;
BEGIN
    FOR rec IN SELECT * FROM audit_log ORDER BY id LOOP
        UPDATE audit_log SET prev_hash = prev,
            hash = audit_hash(prev, rec.id, rec.at, rec.actor, rec.action, rec.subject,
                              rec.details)
        WHERE id = rec.id RETURNING hash INTO prev;
        last := rec.id;
    END LOOP;
    INSERT INTO audit_chain_head (last_id, last_hash) VALUES (last, prev);
END $$;

ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL;
CREATE INDEX audit_log_action_idx ON audit_log (action, id);

CREATE FUNCTION audit_append(p_actor text, p_action text, p_subject text, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    prev text;
    new_id bigint;
    new_at timestamptz := date_trunc('microseconds', clock_timestamp());
    new_hash text;
BEGIN
    SELECT last_hash INTO prev FROM audit_chain_head FOR UPDATE;
    new_id := nextval(pg_get_serial_sequence('audit_log', 'id'));
    new_hash := audit_hash(prev, new_id, new_at, p_actor, p_action, p_subject, p_details);
    INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, hash)
    VALUES (new_id, new_at, p_actor, p_action, p_subject, p_details, prev, new_hash);
    UPDATE audit_chain_head SET last_id = new_id, last_hash = new_hash;
    RETURN new_id;
END $$;

-- Append-only: a record is never updated or deleted, the log never truncated (someone who
-- can switch these triggers off can still edit it, and `lukhas audit verify` finds out).
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END $$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The kill switch: one row, engaged or not, and the approvals waiting for a second
-- administrator (each expires after the lane policy's window).
CREATE TABLE guardian_switch (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    engaged      boolean NOT NULL DEFAULT false,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    approved_by  text[] NOT NULL DEFAULT '{}'
);
INSERT INTO guardian_switch DEFAULT VALUES;

CREATE TABLE guardian_switch_approvals (
    action        text NOT NULL CHECK (action IN ('engage', 'release')),
    subject       text NOT NULL,
    token_id      text NOT NULL,
    approved_at   timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (action, subject)
);

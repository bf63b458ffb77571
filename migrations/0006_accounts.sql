-- Accounts for people: an Argon2id password hash, an optional TOTP second factor (its secret
-- sealed with AES-GCM under a key kept outside the database), the most a login may reach
-- (`max_tier`: T2 by default, T3 only by an administrator's grant), and the lockout state.
-- Events (creation, failures, lockouts, unlocks, grants) go to audit_log (0004).
CREATE TABLE accounts (
    id                  text PRIMARY KEY,
    username            text NOT NULL,
    alias               text NOT NULL UNIQUE,
    password_hash       text NOT NULL,
    max_tier            text NOT NULL DEFAULT 'T2',
    totp_secret         bytea,               -- sealed; set once enrolment is confirmed
    totp_pending        bytea,               -- sealed; an enrolment awaiting its first code
    totp_last_step      bigint,              -- RFC 6238 §5.2: no step at or before it again
    failed_attempts     integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Usernames are unique regardless of case.
CREATE UNIQUE INDEX accounts_username_idx ON accounts (lower(username));

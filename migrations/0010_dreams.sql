-- Dreams: runs of the dream state machine over an owner's memory, advanced by the MATRIZ
-- tick (never inside a request). `dream_steps` is the trace, one row per event, numbered
-- from 0 by `seq` (a stream resumes after one); `dream_scenarios` what the dream imagined.
-- A runner holds a dream while `claimed_until` is in the future and renews it at each step;
-- a dream whose claim lapsed (its runner stopped or died) is resumed by another, at most
-- a few times (`attempts`).
CREATE TABLE dreams (
    id             text PRIMARY KEY,
    owner          text NOT NULL,
    tier           text NOT NULL,
    model          text NOT NULL,
    seed           text NOT NULL,
    constraints    jsonb NOT NULL,
    metadata       jsonb NOT NULL DEFAULT '{}',
    store          boolean NOT NULL DEFAULT true,
    may_write      boolean NOT NULL DEFAULT false,  -- the creator's credential had memory.write
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN (
        'queued', 'gathering', 'associating', 'generating', 'critiquing', 'consolidating',
        'completed', 'failed', 'cancelled', 'incomplete')),
    reason_code    text,
    reason         text,
    summary        jsonb NOT NULL DEFAULT '{}',
    last_seq       integer NOT NULL DEFAULT 0,
    attempts       integer NOT NULL DEFAULT 0,
    claimed_until  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at     timestamptz,
    ended_at       timestamptz
);

CREATE INDEX dreams_owner_idx ON dreams (owner, created_at, id);
CREATE INDEX dreams_open_idx ON dreams (created_at)
    WHERE status NOT IN ('completed', 'failed', 'cancelled', 'incomplete');

-- The transition table of app/dreams/machine.py, held by the database too: no writer, however
-- it goes wrong, moves a dream along an edge the machine does not have.
CREATE FUNCTION dreams_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('queued', 'gathering'), ('gathering', 'associating'), ('associating', 'generating'),
        ('generating', 'critiquing'), ('critiquing', 'consolidating'),
        ('consolidating', 'completed'),
        ('queued', 'cancelled'), ('gathering', 'cancelled'), ('associating', 'cancelled'),
        ('generating', 'cancelled'), ('critiquing', 'cancelled'), ('consolidating', 'cancelled'),
        ('queued', 'failed'), ('gathering', 'failed'), ('associating', 'failed'),
        ('generating', 'failed'), ('critiquing', 'failed'), ('consolidating', 'failed'),
        ('gathering', 'incomplete'), ('associating', 'incomplete'),
        ('generating', 'incomplete'), ('critiquing', 'incomplete'),
        ('consolidating', 'incomplete')
    ) THEN
        RAISE EXCEPTION 'illegal dream transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER dreams_transition BEFORE UPDATE OF status ON dreams
    FOR EACH ROW EXECUTE FUNCTION dreams_check_transition();

CREATE TABLE dream_steps (
    dream_id    text NOT NULL REFERENCES dreams (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    type        text NOT NULL,
    status      text NOT NULL,  -- the dream's state when the event was written
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    data        jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (dream_id, seq)
);

CREATE TABLE dream_scenarios (
    dream_id    text NOT NULL REFERENCES dreams (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    id          text NOT NULL,
    text        text NOT NULL,
    cites       text[] NOT NULL,
    verdict     text NOT NULL DEFAULT 'pending' CHECK (verdict IN (
        'pending', 'accepted', 'rejected')),
    novelty     double precision,
    support     double precision,
    critique    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (dream_id, position),
    UNIQUE (dream_id, id)
);

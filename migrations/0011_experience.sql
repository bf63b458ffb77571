-- The experience log: an append-only, event-sourced record, per subject, of what the service
-- meant to do (intention), did (action), wrote to memory (memory_write), dreamt (dream_step),
-- was told of its answers (reward) and reflected after each pipeline run (reflection). The
-- engines on the tick replay it after a restart instead of starting cold. Rows are never
-- edited; only a subject's erasure removes theirs.
CREATE TABLE experience_events (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    lane     text NOT NULL,
    subject  text NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('intention', 'action', 'memory_write', 'dream_step',
                                           'reward', 'reflection')),
    ref      text,  -- the response or dream the event is about
    data     jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX experience_events_subject_idx ON experience_events (subject, kind, id);
CREATE INDEX experience_events_lane_idx ON experience_events (lane, kind, id);

CREATE FUNCTION experience_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'experience_events is append-only';
END
$$;

CREATE TRIGGER experience_events_no_update BEFORE UPDATE ON experience_events
    FOR EACH ROW EXECUTE FUNCTION experience_events_append_only();

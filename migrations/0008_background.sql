-- Background responses (`background: true`): the row is written when the response is queued
-- and moves through `in_progress` to its end. The runner that holds it renews `lease_until`
-- while it runs; an unfinished row whose lease has lapsed lost its runner (a crash) and is
-- marked failed by any replica's sweep.
ALTER TABLE responses ADD COLUMN background boolean NOT NULL DEFAULT false;
ALTER TABLE responses ADD COLUMN lease_until timestamptz;

CREATE INDEX responses_unfinished_idx ON responses (lease_until)
    WHERE background AND status IN ('queued', 'in_progress');

-- A background response's stream events, in order: what `GET ?stream=true&starting_after=N`
-- replays and then follows, from any replica.
CREATE TABLE response_events (
    response_id  text NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    seq          integer NOT NULL,
    event        jsonb NOT NULL,
    PRIMARY KEY (response_id, seq)
);

-- The OpenAI core: stored responses, owned by the identity that made them.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE responses (
    id                   text PRIMARY KEY,
    owner                text NOT NULL,
    previous_response_id text,
    model                text NOT NULL,
    status               text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- the input items as stored (each with an id), oldest first
    input_items          jsonb NOT NULL,
    -- the turns this response added to the conversation: [{role, text}]
    turns                jsonb NOT NULL,
    -- the full Response object as returned to the caller
    body                 jsonb NOT NULL
);

CREATE INDEX responses_owner_created_idx ON responses (owner, created_at DESC);

-- Consolidation: a caller's near-duplicate long-term memories merged into folds while they are
-- idle. A fold keeps links to its members; its newest member speaks for it (the others are
-- `superseded`, and recall no longer returns them). Folds go with their index (erasure).
CREATE TABLE memory_folds (
    id              text PRIMARY KEY,
    index_id        text NOT NULL REFERENCES memory_indexes (id) ON DELETE CASCADE,
    owner           text NOT NULL,
    representative  text NOT NULL,   -- the newest member, which recall returns
    members         text[] NOT NULL,
    depth           integer NOT NULL DEFAULT 1 CHECK (depth >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX memory_folds_index_idx ON memory_folds (index_id);

ALTER TABLE memory_documents ADD COLUMN superseded boolean NOT NULL DEFAULT false;

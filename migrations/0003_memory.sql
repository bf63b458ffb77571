-- Long-term memory: indexes of documents with pgvector embeddings, owned by a subject.
-- Indexes may differ in dimension, so `embedding` is an untyped vector; each index gets its
-- own partial HNSW index over `embedding::vector(n)` (created with the index), as pgvector
-- recommends for mixed dimensions.
CREATE TABLE memory_indexes (
    id          text PRIMARY KEY,
    owner       text NOT NULL,
    name        text NOT NULL,
    model       text NOT NULL,
    dimensions  integer NOT NULL CHECK (dimensions BETWEEN 1 AND 2000),
    metric      text NOT NULL DEFAULT 'cosine' CHECK (metric IN ('cosine', 'l2', 'inner_product')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner, name)
);

CREATE TABLE memory_documents (
    id              text PRIMARY KEY,
    index_id        text NOT NULL REFERENCES memory_indexes (id) ON DELETE CASCADE,
    owner           text NOT NULL,
    lane            text NOT NULL DEFAULT 'default',
    fold            text,
    tags            text[] NOT NULL DEFAULT '{}',
    metadata        jsonb NOT NULL DEFAULT '{}',
    content         text NOT NULL,
    content_sha256  bytea NOT NULL,
    embedding       vector NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    UNIQUE (index_id, content_sha256)
);

CREATE INDEX memory_documents_owner_idx ON memory_documents (owner, index_id);
CREATE INDEX memory_documents_tags_idx ON memory_documents USING gin (tags);
CREATE INDEX memory_documents_metadata_idx ON memory_documents USING gin (metadata jsonb_path_ops);
CREATE INDEX memory_documents_expires_idx ON memory_documents (expires_at)
    WHERE expires_at IS NOT NULL;

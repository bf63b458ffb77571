-- Conversations (https://platform.openai.com/docs/api-reference/conversations): an owner's
-- ordered items, read as the earlier input of each response made in the conversation and
-- extended with that response's input and output items. An item keeps the id it was given
-- (`msg_…`, `fc_…`), unique within its conversation; `seq` orders the items.
CREATE TABLE conversations (
    id          text PRIMARY KEY,
    owner       text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX conversations_owner_idx ON conversations (owner);

CREATE TABLE conversation_items (
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    id               text NOT NULL,
    seq              bigint GENERATED ALWAYS AS IDENTITY,
    item             jsonb NOT NULL,
    PRIMARY KEY (conversation_id, id)
);

CREATE UNIQUE INDEX conversation_items_seq_idx ON conversation_items (conversation_id, seq);

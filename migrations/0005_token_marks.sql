-- Marks about ΛiD tokens that must outlive any cache: revocations, and the single use of a
-- one-time token. Each is kept until the token could no longer be accepted anyway
-- (`expires_at`: the token's expiry plus the clock leeway), then swept by the tick.
-- The primary key is the arbiter of single use across workers (INSERT ... ON CONFLICT).
CREATE TABLE token_marks (
    kind        text NOT NULL CHECK (kind IN ('revoked', 'used')),
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    marked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, jti)
);

CREATE INDEX token_marks_expires_idx ON token_marks (expires_at);

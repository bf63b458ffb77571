-- Each stored response belongs to a session: the caller's `x-lukhas-session`, or else the
-- session of the response it continues, or else its own id (a new conversation).
ALTER TABLE responses ADD COLUMN session_id text;

-- Self-service linking: requests that wait for staff, and failed proofs that rate-limit a member.

-- A member asking staff to link them to an account. At most one request per member and panel waits at a time.
CREATE TABLE link_requests (
    id             INTEGER PRIMARY KEY,
    panel          TEXT    NOT NULL,
    discord_id     INTEGER NOT NULL,
    panel_user_id  TEXT    NOT NULL,
    panel_username TEXT,
    email          TEXT    NOT NULL,  -- as the member typed it
    status         TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'withdrawn')),
    created_at     TEXT    NOT NULL,
    decided_by     INTEGER,
    decided_at     TEXT,
    channel_id     INTEGER,           -- where the staff message with Approve/Deny was posted
    message_id     INTEGER
);

CREATE UNIQUE INDEX link_requests_one_pending ON link_requests (panel, discord_id) WHERE status = 'pending';

-- Every failed proof of ownership (a wrong key, an unknown email), so a member cannot guess without limit.
CREATE TABLE proof_failures (
    id         INTEGER PRIMARY KEY,
    discord_id INTEGER NOT NULL,
    at         TEXT    NOT NULL,
    reason     TEXT    NOT NULL
);

CREATE INDEX proof_failures_by_member ON proof_failures (discord_id, at);

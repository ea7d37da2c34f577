-- One-time codes sent by email (linking, a password change, sign-up). The code itself is never stored: only its
-- scrypt hash with a random salt. `subject` is what the code proves: the panel account it was sent for (link,
-- password), or a hash of the email typed at sign-up; NULL when no account had the email typed, so nothing was
-- sent and no code can match (the member sees the same reply either way).
CREATE TABLE email_codes (
    id          INTEGER PRIMARY KEY,
    discord_id  INTEGER NOT NULL,
    panel       TEXT    NOT NULL,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('link', 'password', 'register')),
    subject     TEXT,
    code_hash   TEXT    NOT NULL,
    salt        TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    ended_at    TEXT
);

CREATE INDEX email_codes_by_member ON email_codes (discord_id, created_at);

-- Accounts made by /register, for the daily cap and "one account per member per panel". A row is reserved (no
-- panel_user_id yet) before the panel is asked to create the account, so members signing up at once cannot pass
-- the cap together; it is deleted again if the panel refuses.
CREATE TABLE registrations (
    id            INTEGER PRIMARY KEY,
    discord_id    INTEGER NOT NULL,
    panel         TEXT    NOT NULL,
    panel_user_id TEXT,
    created_at    TEXT    NOT NULL
);

CREATE INDEX registrations_by_time ON registrations (created_at);
CREATE UNIQUE INDEX registrations_one_per_member ON registrations (discord_id, panel);

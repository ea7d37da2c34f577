-- The first schema of Panel Desk.
--
-- Lists that will grow (link methods, audit actions, notice kinds) are checked in Python, not by CHECK constraints:
-- SQLite cannot change a CHECK without rebuilding its table. Timestamps are UTC ISO-8601 text of fixed width
-- (storage.database.to_timestamp), so comparing them as text compares them as times. Discord ids are INTEGER
-- (snowflakes fit in 64 bits); panel user ids are TEXT, because some panels use UUIDs.

-- A Discord member's link to an account on one configured panel ("main", "eu", …). The two keys are the linking
-- rules themselves, so no race between two commands or two processes can break them: a member holds at most one
-- account per panel, and an account belongs to at most one member.
CREATE TABLE links (
    panel          TEXT    NOT NULL,
    discord_id     INTEGER NOT NULL,
    panel_user_id  TEXT    NOT NULL,
    panel_username TEXT,             -- shown when the panel cannot be reached
    method         TEXT    NOT NULL, -- how ownership was proven: storage.links.LinkMethod
    linked_by      INTEGER,          -- the staff member who made or approved the link
    linked_at      TEXT    NOT NULL,
    PRIMARY KEY (panel, discord_id),
    UNIQUE (panel, panel_user_id)
);

CREATE INDEX links_by_member ON links (discord_id);

-- Every ended link, kept for relink cooldowns: a member who unlinked waits before linking another account, and an
-- unlinked account waits before another member may claim it.
CREATE TABLE link_history (
    id             INTEGER PRIMARY KEY,
    panel          TEXT    NOT NULL,
    discord_id     INTEGER NOT NULL,
    panel_user_id  TEXT    NOT NULL,
    panel_username TEXT,
    method         TEXT    NOT NULL,
    linked_by      INTEGER,
    linked_at      TEXT    NOT NULL,
    unlinked_at    TEXT    NOT NULL,
    reason         TEXT    NOT NULL
);

CREATE INDEX link_history_by_member ON link_history (panel, discord_id, unlinked_at);
CREATE INDEX link_history_by_account ON link_history (panel, panel_user_id, unlinked_at);

-- What staff and members did through the bot, including what was refused or failed. `details` is a JSON object
-- from which storage.audit strips anything named like a secret before it is written.
CREATE TABLE audit_log (
    id                INTEGER PRIMARY KEY,
    at                TEXT    NOT NULL,
    actor_id          INTEGER,       -- NULL when the bot acted on its own (a watcher, a scheduled task)
    action            TEXT    NOT NULL,
    panel             TEXT,
    target_user_id    TEXT,
    target_label      TEXT,          -- username or email, readable after the account is gone
    target_discord_id INTEGER,
    outcome           TEXT    NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    details           TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_by_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_by_target_user ON audit_log (target_user_id, id);
CREATE INDEX audit_log_by_target_member ON audit_log (target_discord_id, id);

-- The last balance the credit watcher saw per account, to tell a top-up or a drop from the previous poll.
CREATE TABLE credit_balances (
    panel         TEXT NOT NULL,
    panel_user_id TEXT NOT NULL,
    credits       TEXT NOT NULL,     -- a decimal string, so it compares exactly with the panel's next answer
    seen_at       TEXT NOT NULL,
    PRIMARY KEY (panel, panel_user_id)
) WITHOUT ROWID;

-- A member's choices about direct messages; a member without a row gets the defaults.
CREATE TABLE notification_prefs (
    discord_id     INTEGER PRIMARY KEY,
    credit_notices INTEGER NOT NULL DEFAULT 1 CHECK (credit_notices IN (0, 1)),
    updated_at     TEXT    NOT NULL
);

-- Notices to deliver exactly once. `dedupe_key` names the event, so recording it twice (a watcher restarted
-- mid-poll) adds nothing. `nonce` is the Discord message nonce, chosen at enqueue time and reused by every resend:
-- sent with enforce_nonce, it lets Discord drop the repeat of a send that reached it just before a crash.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    created_at TEXT    NOT NULL,
    panel      TEXT    NOT NULL,
    discord_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL DEFAULT '{}',
    dedupe_key TEXT    NOT NULL UNIQUE,
    nonce      TEXT    NOT NULL UNIQUE CHECK (length(nonce) BETWEEN 1 AND 25),
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at    TEXT,
    message_id INTEGER
);

CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Small facts the bot keeps between runs, such as the hash of the last slash-command payload synced to Discord.
CREATE TABLE bot_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- What each linked account's member was last told about its state (today: suspended or not), so a suspension or
-- its lifting is told once, in the transaction that records it, whoever finds it (a staff command or the watcher).
CREATE TABLE account_states (
    panel         TEXT    NOT NULL,
    panel_user_id TEXT    NOT NULL,
    suspended     INTEGER NOT NULL CHECK (suspended IN (0, 1)),
    seen_at       TEXT    NOT NULL,
    PRIMARY KEY (panel, panel_user_id)
);

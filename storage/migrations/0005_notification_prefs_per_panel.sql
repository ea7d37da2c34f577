-- A member with accounts on several panels may want credit notices from one and not another. A row here overrides
-- the member's choice in notification_prefs for that panel; choosing without a panel clears these rows.
CREATE TABLE notification_panel_prefs (
    discord_id     INTEGER NOT NULL,
    panel          TEXT    NOT NULL,
    credit_notices INTEGER NOT NULL CHECK (credit_notices IN (0, 1)),
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (discord_id, panel)
);

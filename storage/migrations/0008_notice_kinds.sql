-- Members choose per kind of notice: "warnings" (low or running-out credits) and "account" (suspension, deletion)
-- beside the credit notices of notification_prefs. `panel` '' is the choice for every panel; a row for a panel
-- overrides it there. A member without a row: warnings follow their credit-notice choice, account notices are on.
CREATE TABLE notice_kind_prefs (
    discord_id INTEGER NOT NULL,
    panel      TEXT    NOT NULL DEFAULT '',
    kind       TEXT    NOT NULL CHECK (kind IN ('warnings', 'account')),
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (discord_id, panel, kind)
);

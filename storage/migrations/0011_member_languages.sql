-- Each member's language as last seen (the `locale` of their latest interaction), for the DMs and notices the bot
-- sends them later; kept beside their notification choices. A member without a row gets the server's language.
CREATE TABLE member_languages (
    discord_id INTEGER PRIMARY KEY,
    locale     TEXT    NOT NULL,
    seen_at    TEXT    NOT NULL
);

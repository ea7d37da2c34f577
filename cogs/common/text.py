"""Showing panel- and user-supplied text in Discord without it pinging anyone or breaking the layout."""

from __future__ import annotations

import discord

# Every reply is sent with this: a username such as "@everyone" or "<@&role>" must ping nobody.
NO_MENTIONS = discord.AllowedMentions.none()


def safe(text: object, *, limit: int = 1024) -> str:
    """Escape Markdown and mentions in `text` and cut it to `limit` characters (a Discord field value's limit)."""
    value = discord.utils.escape_mentions(discord.utils.escape_markdown(str(text)))
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value

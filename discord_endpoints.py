"""Where discord.py sends its REST calls and opens its gateway.

Production leaves both settings empty and talks to Discord itself; a deployment with a REST proxy in front
of Discord, or the offline test stand-in, points them elsewhere. discord.py 2.7.1 builds every REST URL,
including interaction callbacks and webhook follow-ups (``discord.webhook.async_`` imports the same
``Route``), from ``discord.http.Route.BASE``, and opens the gateway at ``DiscordWebSocket.DEFAULT_GATEWAY``:
``Client.connect`` never asks ``GET /gateway/bot`` (only ``AutoShardedClient`` does, and uses the URL that
returns), and it falls back to ``DEFAULT_GATEWAY`` after an invalidated session.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE = f"https://discord.com/api/v{discord.http.INTERNAL_API_VERSION}"
DISCORD_GATEWAY = yarl.URL("wss://gateway.discord.gg/")


def point_discord_at(api_base: str | None, gateway_url: str | None) -> None:
    """Send discord.py's traffic to ``api_base`` (e.g. ``https://proxy.example/api/v10``, version included)
    and ``gateway_url``; ``None`` or ``""`` means Discord's own endpoint."""
    discord.http.Route.BASE = api_base.rstrip("/") if api_base else DISCORD_API_BASE
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else DISCORD_GATEWAY

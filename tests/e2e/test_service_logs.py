"""What the bot's log says at start and through a Discord outage, read from `python bot.py` as its own process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from simulators.discord import DiscordStandIn
from simulators.pterodactyl import PterodactylSimulator
from tests.e2e.bot_process import BotProcess, environment
from tests.e2e.harness import TOKEN, desk_settings, open_standin
from version import __version__


class Outage(DiscordStandIn):
    """The stand-in, able to go away: the gateway drops every connection and then refuses new ones (HTTP 503, as
    Discord's edge does in an outage) until it comes back."""

    down = False

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            raise web.HTTPServiceUnavailable()
        return await super()._gateway(request)

    async def go_down(self) -> None:
        self.down = True
        for session in list(self._sessions):
            await session.ws.close(code=1001, message=b"outage")


@pytest.fixture
async def standin() -> AsyncIterator[Outage]:
    discord, _ = await open_standin(Outage)
    try:
        yield discord
    finally:
        await discord.close()


async def test_start_up_summary_a_dead_panel_and_a_gateway_outage_in_json_lines(
    tmp_path: Path, standin: Outage, pterodactyl: PterodactylSimulator, unused_tcp_port: int
) -> None:
    """One run of the bot, for speed: it starts with one dead panel, then loses Discord for a while."""
    values = desk_settings(standin, pterodactyl, tmp_path / "desk.sqlite3") | {"admin_role_ids": []}
    dead_key = "ptla_" + "d" * 43
    dead = {"kind": "pterodactyl", "url": f"http://127.0.0.1:{unused_tcp_port}", "api_key": dead_key, "timeout": 2}
    values["panels"] = {"backup": dead}
    process = await BotProcess(environment(values, LOG_FORMAT="json"), tmp_path).start()
    try:
        await process.wait_for_line(r"Ready: logged in as")
        await process.wait_for_line(r"failed its start-up check")
        await standin.go_down()
        await process.wait_for_line(r"Lost the connection to Discord")
        await asyncio.sleep(0.5)
        standin.down = False
        await process.wait_for_line(r"The connection to Discord is back after", timeout=20)
    finally:
        assert await process.stop() == 0, process.text

    entries = [json.loads(line) for line in process.lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    messages = [entry["message"] for entry in entries]
    assert any(m.startswith(f"Panel Desk {__version__} starting") for m in messages), messages
    assert any(f"Pterodactyl at 127.0.0.1:{unused_tcp_port}" in m for m in messages if m.startswith("Panel '"))
    assert any("Optional features on:" in m for m in messages)
    [probe] = [entry for entry in entries if "failed its start-up check" in entry["message"]]
    assert probe["level"] == "WARNING" and probe["panel"] == "backup"
    assert probe["message"].startswith("Panel 'backup' (Pterodactyl at 127.0.0.1:")
    assert "python bot.py --check" in probe["message"]
    assert any(e["level"] == "WARNING" and "ADMIN_ROLE_IDS is empty" in e["message"] for e in entries)

    [lost] = [entry for entry in entries if entry["message"].startswith("Lost the connection to Discord")]
    [back] = [entry for entry in entries if entry["message"].startswith("The connection to Discord is back")]
    assert (lost["level"], back["level"]) == ("WARNING", "INFO")
    assert not [e for e in entries if "Attempting a reconnect" in e["message"] or "exception" in e], process.text
    assert any("stopped cleanly" in m for m in messages)
    for secret in (TOKEN, pterodactyl.api_key, dead_key):
        assert secret not in process.text
    assert "\x1b" not in process.text

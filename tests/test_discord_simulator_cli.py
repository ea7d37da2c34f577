"""`python -m simulators discord`: the stand-in with the demo server, and the settings lines that reach it."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp

from settings import load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent


async def test_discord_prints_settings_the_bot_accepts_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators", "discord", "--port", "0", cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    output = ""
    try:
        async with asyncio.timeout(20):
            while "Press Ctrl-C to stop." not in output:
                line = await process.stdout.readline()
                assert line, f"exited early: {output}"
                output += line.decode()
        shown = re.search(r"^Settings: (.+)$", output, re.M)
        assert shown is not None, output
        values = dict(pair.split("=", 1) for pair in shown.group(1).split())
        needed = {"DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "DISCORD_TOKEN", "GUILD_IDS", "ADMIN_ROLE_IDS"}
        assert needed <= set(values)
        settings = load_settings(
            **{name.lower(): value for name, value in values.items()},
            panel_kind="pterodactyl",
            panel_url="http://127.0.0.1:1",
            panel_api_key="ptla_" + "x" * 43,
        )
        assert settings.guild_ids and settings.admin_role_ids and settings.staff_role_ids
        headers = {"Authorization": f"Bot {values['DISCORD_TOKEN']}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(values["DISCORD_API_BASE"] + "/users/@me", headers=headers) as me:
                assert me.status == 200 and (await me.json())["bot"] is True
            async with http.get(values["DISCORD_API_BASE"] + f"/guilds/{settings.guild_ids[0]}", headers=headers) as g:
                assert (await g.json())["name"] == "Panel Desk demo"
        assert re.search(r"^Member bob \(member\): id \d+$", output, re.M)
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            code = await process.wait()
    assert code == 0

"""The unchanged bot against the Discord stand-in: it starts, registers its commands, answers, and stops."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import pytest

from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.pterodactyl import PterodactylSimulator
from tests.e2e.conftest import DeskFactory
from tests.e2e.harness import ADMIN, GUILD, MEMBER, Desk, start_desk


async def test_commands_are_registered_in_the_guild_and_pass_discords_checks(desk: Desk) -> None:
    registered = {command["name"]: command for command in desk.discord.registered_commands(GUILD)}
    assert {"panel", "user", "audit"} <= set(registered)
    user_subcommands = {option["name"] for option in registered["user"]["options"]}
    # Pterodactyl has no suspension, credits or server limits: those commands are not offered at all.
    assert user_subcommands == {"list", "info", "create", "edit", "delete"}
    assert not {"credits", "server-limit"} & set(registered)
    assert "notifications" in registered  # account notices (a deleted account) exist on every panel
    assert registered["user"]["default_member_permissions"] == str(1 << 5)  # Manage Server
    assert desk.discord.registered_commands(None) == []  # GUILD_IDS set: nothing global
    assert desk.discord.errors_returned == []
    assert desk.discord.unhandled_requests == []


async def test_a_staff_command_answers_an_admin(desk: Desk) -> None:
    record = await desk.run("panel status", by=ADMIN)
    responses = await record.wait_for(2)
    assert responses[0].kind == "defer"
    message = await record.wait_for_message()
    assert message.ephemeral
    assert "reachable, key accepted, 1 users" in message.text()
    assert "main (default): Pterodactyl" in message.text()


async def test_a_member_without_the_role_is_refused(desk: Desk) -> None:
    message = await desk.reply("panel status", by=MEMBER)
    assert message.ephemeral
    assert "You need a staff or admin role to use this command" in message.content
    assert desk.panel.requests == []  # refused before the panel was asked anything


async def test_commands_are_not_registered_again_on_restart(desk: Desk) -> None:
    puts = [r for r in desk.discord.requests if r[0] == "PUT" and "/commands" in r[1]]
    assert len(puts) == 1
    assert await desk.bot.sync_commands() == len(desk.discord.registered_commands(GUILD))
    puts = [r for r in desk.discord.requests if r[0] == "PUT" and "/commands" in r[1]]
    assert len(puts) == 1  # unchanged payload: no second registration


async def test_the_bot_shuts_down_cleanly(
    tmp_path: Path, pterodactyl: PterodactylSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    running = start_desk(tmp_path, pterodactyl)
    desk = await anext(running)
    message = await desk.reply("user list", by=ADMIN)
    assert "1 users" in message.text()
    client = desk.bot.panels.default
    # discord.py holds READY back for 2 s after the last guild and leaves that wait pending if closed sooner.
    await asyncio.wait_for(desk.bot.wait_until_ready(), 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await running.aclose()  # closes the bot, then the stand-in
        gc.collect()
    assert desk.bot.is_closed()
    assert client.transport._session is not None and client.transport._session.closed
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert desk.discord.gateway_closes == [] or all(code in (1000, 1001) for code, _ in desk.discord.gateway_closes)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert others == []
    assert desk.discord.errors_returned == [] and desk.discord.unhandled_requests == []


async def test_commands_a_panel_can_serve_are_registered(desk_with: DeskFactory, ctrlpanel: CtrlPanelSimulator) -> None:
    desk = await desk_with(
        panels={"billing": {"kind": "ctrlpanel", "url": ctrlpanel.url, "api_key": ctrlpanel.api_key}}
    )
    registered = {command["name"]: command for command in desk.discord.registered_commands(GUILD)}
    user_subcommands = {option["name"] for option in registered["user"]["options"]}
    assert {"suspend", "unsuspend"} <= user_subcommands
    assert {"credits", "server-limit", "notifications"} <= set(registered)

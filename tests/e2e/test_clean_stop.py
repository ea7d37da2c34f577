"""SIGTERM (what `docker stop` and systemd send) in the middle of interactions and of a notice being sent: the bot
answers every interaction it had taken, refuses new ones with a sentence, exits 0 well inside 15 s, and after the
restart every notice has reached the member exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import STOPPING_ANSWER
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.discord import DiscordStandIn
from tests.e2e.bot_process import BotProcess, environment
from tests.e2e.harness import ADMIN, GENERAL, GUILD, MEMBER, desk_settings, open_standin


class SlowDMs(DiscordStandIn):
    """The stand-in, with DMs that take `dm_delay` seconds to post: a notice is in flight for that long."""

    dm_delay = 0.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dm_posting = asyncio.Event()

    async def _create_message(self, call: Any, channel: int) -> dict[str, Any]:
        if any(dm.id == channel for dm in self.dm_channels.values()):
            self.dm_posting.set()
            await asyncio.sleep(self.dm_delay)
        return await super()._create_message(call, channel)


@pytest.fixture
async def standin() -> AsyncIterator[SlowDMs]:
    discord, _ = await open_standin(SlowDMs)
    try:
        yield discord
    finally:
        await discord.close()


async def run(discord: DiscordStandIn, path: str, *, by: int = ADMIN, **options: Any) -> Any:
    return await discord.run_command(path, user=by, guild=GUILD, channel=GENERAL, options=options)


def notice_titles(discord: DiscordStandIn) -> list[str]:
    return [dm.embeds[0]["title"] for dm in discord.dms(MEMBER)]


async def test_sigterm_mid_interactions_and_mid_notice_loses_and_doubles_nothing(
    tmp_path: Path, standin: SlowDMs
) -> None:
    async with CtrlPanelSimulator(rate_limit=100_000) as panel:
        values = desk_settings(standin, panel, tmp_path / "desk.sqlite3", panel_kind="ctrlpanel")
        env = environment(values, PANEL_RATE_LIMIT="100000", LOG_LEVEL="INFO")
        customer = panel.add_user(name="customer", email="customer@example.com", credits=100, discord_id=MEMBER)

        first = await BotProcess(env, tmp_path).start()
        try:
            await first.wait_for_line(r"Ready: logged in as")
            linked = await (await run(standin, "link", by=MEMBER)).wait_for_message()
            assert "you connected this Discord account on the panel" in linked.content, first.text

            # A notice in flight: its DM is being posted when the signal lands.
            standin.dm_delay = 1.0
            added = await (await run(standin, "credits add", user=str(customer.id), amount="50")).wait_for_message()
            assert "Added 50 credits" in added.content
            async with asyncio.timeout(5):
                await standin.dm_posting.wait()

            # Interactions in flight: each waits half a second on each panel request. One of them makes a second notice.
            panel.faults.latency = 0.5
            in_flight = [
                await run(standin, "credits show", user=str(customer.id)),
                await run(standin, "credits show", user=str(customer.id)),
                await run(standin, "credits add", user=str(customer.id), amount="7"),
            ]
            await asyncio.sleep(0.2)
            signalled = first.send()
            await first.wait_for_line(r"SIGTERM: stopping")
            refused = await (await run(standin, "credits show", user=str(customer.id))).wait_for_message()
            code = await first.wait(timeout=15)
            stop_seconds = time.monotonic() - signalled
        finally:
            if first.returncode is None:
                await first.stop()

        assert code == 0, first.text
        assert stop_seconds < 15, stop_seconds
        print(f"SIGTERM to exit: {stop_seconds:.2f} s")  # a figure the closing note quotes
        answers = [await record.wait_for_message(timeout=1) for record in in_flight]
        assert all("restarting" not in answer.text() for answer in answers), [a.text() for a in answers]
        assert "Added 7 credits" in answers[2].content
        assert refused.content == STOPPING_ANSWER
        assert "stopped cleanly" in first.text and "Traceback" not in first.text, first.text
        assert "\x1b" not in first.text  # a pipe, not a terminal: no colour codes
        assert notice_titles(standin) == ["+50 credits"]  # the one being posted finished before the exit

        # After the restart, the notice the stop held back goes out, and the one already sent is not sent again.
        panel.faults.latency = 0.0
        standin.dm_delay = 0.0
        second = await BotProcess(env, tmp_path).start()
        try:
            await second.wait_for_line(r"Ready: logged in as")
            async with asyncio.timeout(10):
                while len(standin.dms(MEMBER)) < 2:  # noqa: ASYNC110 - the stand-in's DMs have no event
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
        finally:
            assert await second.stop() == 0, second.text
        assert notice_titles(standin) == ["+50 credits", "+7 credits"]

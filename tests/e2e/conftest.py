"""Fixtures for the end-to-end tests; the machinery lives in `harness.py`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.pterodactyl import PterodactylSimulator
from tests.e2e.harness import AUDIT_CHANNEL, Desk, start_desk


@pytest.fixture
async def desk(
    tmp_path: Path, pterodactyl: PterodactylSimulator, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Desk]:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    async for running in start_desk(tmp_path, pterodactyl, audit_channel_id=AUDIT_CHANNEL):
        yield running


DeskFactory = Callable[..., Awaitable[Desk]]


@pytest.fixture
async def desk_with(
    tmp_path: Path, pterodactyl: PterodactylSimulator, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DeskFactory]:
    """Start the bot with settings of the test's choosing: `desk = await desk_with(link_cooldown_hours=0)`."""
    monkeypatch.chdir(tmp_path)
    running: list[AsyncGenerator[Desk, None]] = []

    async def start(**overrides: object) -> Desk:
        generator = start_desk(tmp_path, pterodactyl, **overrides)
        running.append(generator)
        return await anext(generator)

    yield start
    for generator in reversed(running):
        await generator.aclose()


@pytest.fixture
async def every_command(desk_with: DeskFactory, ctrlpanel: CtrlPanelSimulator) -> Desk:
    """Pterodactyl as the default panel and CtrlPanel beside it, sign-up open: every command is registered. (The
    mail server is a closed port: no command here gets as far as sending a code.)"""
    return await desk_with(
        panels={"billing": {"kind": "ctrlpanel", "url": ctrlpanel.url, "api_key": ctrlpanel.api_key}},
        registration="open",
        smtp_host="127.0.0.1",
        smtp_port=9,
        smtp_security="none",
        smtp_from="noreply@example.com",
    )

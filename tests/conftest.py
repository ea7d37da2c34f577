"""Shared fixtures: panel simulators on loopback and clients pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from panel_api import PanelClient, create_client
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.pterodactyl import PterodactylSimulator

# Retries in tests wait milliseconds, not seconds; the behaviour is the same.
FAST = {"backoff_base": 0.01, "backoff_max": 0.05, "timeout": 2.0, "connect_timeout": 1.0}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain session, for tests that send a simulator raw requests (`simulators.loopback.call`)."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def pterodactyl() -> AsyncIterator[PterodactylSimulator]:
    async with PterodactylSimulator() as sim:
        yield sim


@pytest.fixture
async def pelican() -> AsyncIterator[PterodactylSimulator]:
    async with PterodactylSimulator(flavor="pelican") as sim:
        yield sim


@pytest.fixture
async def ptero_client(pterodactyl: PterodactylSimulator) -> AsyncIterator[PanelClient]:
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        yield client


@pytest.fixture
async def pelican_client(pelican: PterodactylSimulator) -> AsyncIterator[PanelClient]:
    async with create_client("pelican", pelican.url, pelican.admin_key, **FAST) as client:
        yield client


@pytest.fixture
async def ctrlpanel() -> AsyncIterator[CtrlPanelSimulator]:
    """CtrlPanel 1.2.0; tests of other versions build `CtrlPanelSimulator(version=...)` themselves."""
    async with CtrlPanelSimulator() as sim:
        yield sim


@pytest.fixture
async def ctrlpanel_client(ctrlpanel: CtrlPanelSimulator) -> AsyncIterator[PanelClient]:
    async with create_client("ctrlpanel", ctrlpanel.url, ctrlpanel.api_key, **FAST) as client:
        yield client

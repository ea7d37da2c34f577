"""The web server's /healthz, /readyz and /metrics, fetched over loopback from a real bot, and /panel status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from simulators.ctrlpanel import CtrlPanelSimulator
from tests.e2e.conftest import DeskFactory
from tests.e2e.harness import MEMBER, Desk, billing
from web_server import WebServer, WebServerError

if TYPE_CHECKING:
    from cogs.notifications import Notifications


async def fetch(desk: Desk, path: str) -> tuple[int, str]:
    assert desk.bot.web is not None
    async with aiohttp.ClientSession() as session, session.get(desk.bot.web.url + path) as response:
        return response.status, await response.text()


async def fetch_json(desk: Desk, path: str) -> tuple[int, Any]:
    assert desk.bot.web is not None
    async with aiohttp.ClientSession() as session, session.get(desk.bot.web.url + path) as response:
        return response.status, await response.json()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics answer, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


async def test_healthz_and_readyz_and_a_panel_that_goes_down(desk_with: DeskFactory) -> None:
    desk = await desk_with(http_port=0)
    assert await fetch_json(desk, "/healthz") == (200, {"status": "alive"})
    # Nothing asked the panel yet: /readyz asks it once, and is ready.
    assert await fetch_json(desk, "/readyz") == (200, {"status": "ready"})

    # Maintenance mode: the panel answers 503 with a long Retry-After, which the bot passes on without retrying.
    desk.panel.faults.fail_next = 2
    desk.panel.faults.fail_status = 503
    desk.panel.faults.fail_retry_after = 600
    await desk.reply("panel status")
    status, body = await fetch_json(desk, "/readyz")
    assert status == 503 and body["status"] == "not ready"
    assert list(body["failing"]) == ["panel main"]
    assert "Panel 'main' failed the last time the bot asked" in body["failing"]["panel main"]
    assert "maintenance" in body["failing"]["panel main"]
    assert desk.panel.api_key not in str(body)
    assert (await fetch(desk, "/healthz"))[0] == 200  # alive all along: a panel outage is no reason to restart

    desk.panel.faults.fail_next = 0
    message = await desk.reply("panel status")
    assert "Before this check: failing since" in message.text()
    assert await fetch_json(desk, "/readyz") == (200, {"status": "ready"})


async def test_readyz_names_the_gateway_when_discord_goes_away(desk_with: DeskFactory) -> None:
    desk = await desk_with(http_port=0)
    assert (await fetch(desk, "/readyz"))[0] == 200
    await desk.discord.close()  # Discord is gone: the bot keeps trying to reconnect
    async with asyncio.timeout(5):
        while (answer := await fetch_json(desk, "/readyz"))[0] != 503:  # noqa: ASYNC110 - polled over HTTP
            await asyncio.sleep(0.02)
    assert list(answer[1]["failing"]) == ["discord"]
    assert "not connected to Discord's gateway" in answer[1]["failing"]["discord"]
    status, text = await fetch(desk, "/metrics")
    assert status == 200 and value(text, "discord_connected") == 0
    assert (await fetch(desk, "/healthz"))[0] == 200


async def test_metrics_count_commands_and_panel_requests(desk_with: DeskFactory) -> None:
    desk = await desk_with(http_port=0)
    status, before = await fetch(desk, "/metrics")
    assert status == 200
    assert value(before, "discord_connected") == 1
    assert value(before, "discord_stat_total_guilds") == 1
    assert value(before, "panel_desk_links", panel="main") == 0
    assert value(before, "panel_desk_outbox_depth") == 0
    commands = {"interaction": "application_command"}
    assert value(before, "discord_event_on_interaction_total", **commands, command="panel status") is None

    await desk.reply("panel status")
    await desk.reply("panel status")
    await desk.reply("user list")
    started = time.perf_counter()
    status, after = await fetch(desk, "/metrics")
    scrape_ms = (time.perf_counter() - started) * 1000
    assert status == 200
    print(f"/metrics: {len(after.encode())} bytes in {scrape_ms:.1f} ms")

    assert value(after, "discord_event_on_interaction_total", **commands, command="panel status") == 2
    assert value(after, "discord_event_on_interaction_total", **commands, command="user list") == 1
    answered = value(after, "panel_desk_panel_requests_total", panel="main", method="GET", status="2xx")
    assert answered is not None and answered >= 3
    assert value(after, "panel_desk_panel_request_duration_seconds_count", panel="main") == answered
    assert value(after, "panel_desk_panel_up", panel="main") == 1
    # Label values come from bounded sets: no member's id or email ever appears.
    assert str(MEMBER) not in after and "@" not in after


@pytest.fixture
async def ctrlpanel() -> AsyncIterator[CtrlPanelSimulator]:
    async with CtrlPanelSimulator(rate_limit=100_000) as sim:
        yield sim


async def test_panel_status_and_metrics_show_the_watcher_and_the_outbox(
    tmp_path: Path, ctrlpanel: CtrlPanelSimulator, desk_with: DeskFactory
) -> None:
    desk = await desk_with(http_port=0, panels={"billing": {**billing(ctrlpanel), "rate_limit": 100_000}})
    notices = cast("Notifications", desk.bot.get_cog("Notifications"))
    customer = ctrlpanel.add_user(name="customer", email="customer@example.com", credits=100, discord_id=MEMBER)
    linked = await desk.reply("link", by=MEMBER, panel="billing")
    assert "you connected this Discord account on the panel" in linked.content, linked.content
    await notices.sweep_all()
    ctrlpanel.set_credits(customer.id, 150)  # a payment on the website
    await notices.sweep_all()
    async with asyncio.timeout(5):
        while not desk.discord.dms(MEMBER):  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    text = (await desk.reply("panel status")).text()
    assert "Outbox: nothing waiting." in text
    assert "Panel watcher on billing: last sweep <t:" in text and "took 0." in text
    assert "Panel watcher on main" not in text  # Pterodactyl has no credits: nothing to watch

    _, metrics = await fetch(desk, "/metrics")
    assert value(metrics, "panel_desk_links", panel="billing") == 1
    assert value(metrics, "panel_desk_notices_queued_total", panel="billing", kind="credit_topup") == 1
    async with asyncio.timeout(5):  # the DM is out; marking it sent follows
        while value(metrics, "panel_desk_notices_sent_total", panel="billing", kind="credit_topup") != 1:
            await asyncio.sleep(0.02)
            _, metrics = await fetch(desk, "/metrics")
    swept = value(metrics, "panel_desk_watcher_last_sweep_timestamp_seconds", watcher="credits", panel="billing")
    assert swept is not None and time.time() - 10 < swept <= time.time()
    assert value(metrics, "panel_desk_watcher_last_sweep_ok", watcher="credits", panel="billing") == 1
    assert value(metrics, "panel_desk_outbox_oldest_age_seconds") == 0


async def test_no_web_server_without_http_port(desk: Desk) -> None:
    assert desk.bot.web is None


async def test_a_taken_port_is_refused_with_the_setting_to_change() -> None:
    first = WebServer("127.0.0.1", 0)
    await first.start()
    try:
        second = WebServer("127.0.0.1", first.port)
        with pytest.raises(WebServerError, match=r"cannot listen on 127\.0\.0\.1 port .*Set HTTP_PORT to a free port"):
            await second.start()
    finally:
        await first.close()

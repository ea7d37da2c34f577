"""Pelican's own outbound webhooks (Admin > Webhooks, type Regular) through the bot's web server: the body Pelican
sends, authenticated by the X-Panel-Desk-Secret header the admin adds to the webhook, the account read from the
panel's API and handled as a sweep would, with no sweep running."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from simulators.pterodactyl import PterodactylSimulator
from tests.e2e.harness import MEMBER, Desk
from tests.e2e.test_roles import CUSTOMER, SERVER_RULES, role_desk, roles_of

SECRET = "a-long-random-webhook-secret-for-pelican"


@pytest.fixture
async def pelican() -> AsyncIterator[PterodactylSimulator]:
    async with PterodactylSimulator(flavor="pelican") as sim:
        yield sim


@pytest.fixture
async def desk(tmp_path: Path, pelican: PterodactylSimulator, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.chdir(tmp_path)
    async with role_desk(
        tmp_path, pelican, SERVER_RULES, panel_kind="pelican", http_port=0, panel_options={"webhook_secret": SECRET}
    ) as running:
        yield running


def delivery(event: str, model: dict[str, Any]) -> bytes:
    """What Pelican's ProcessWebhook posts for a global model event (2025-11 and later)."""
    return json.dumps({"event": event, "data": model, "timestamp": "2026-12-03T10:00:00+00:00"}).encode()


async def deliver(desk: Desk, body: bytes, *, secret: str | None = SECRET) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", "User-Agent": "GuzzleHttp/7"}
    if secret is not None:
        headers["X-Panel-Desk-Secret"] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{desk.bot.web.url}/webhooks/main", data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def until(predicate: Any) -> None:
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_server_event_gives_the_owner_the_role_at_once(desk: Desk) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    assert CUSTOMER not in roles_of(desk, MEMBER)
    server = desk.panel.add_server(account.id)
    status, answer = await deliver(desk, delivery("created: Server", {"id": server, "owner_id": account.id}))
    assert (status, answer) == (202, {"status": "accepted"})
    await until(lambda: CUSTOMER in roles_of(desk, MEMBER))  # no sweep runs in these tests
    desk.panel.remove_server(server)
    await deliver(desk, delivery("deleted: Server", {"id": server, "owner_id": account.id}))
    await until(lambda: CUSTOMER not in roles_of(desk, MEMBER))


async def test_a_deleted_user_event_ends_the_link_and_tells_the_member_once(desk: Desk) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    desk.panel._remove_user(account)
    body = delivery("deleted: User", {"id": account.id, "username": "owner", "email": "o@example.com"})
    for _ in range(20):  # a burst: Pelican sends one per webhook configuration, an admin may click twice
        assert (await deliver(desk, body))[0] == 202
    dm = await desk.discord.wait_for_dm(MEMBER)
    assert dm.embeds[0]["title"] == "Your linked account no longer exists"
    await desk.bot.get_cog("Notifications").wait_for_looks()
    await asyncio.sleep(0.3)
    assert len(desk.discord.dms(MEMBER)) == 1
    assert await desk.bot.links.get_for_member("main", MEMBER) is None


async def test_the_older_body_with_the_attributes_at_the_top_is_read_too(desk: Desk) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    server = desk.panel.add_server(account.id)
    body = json.dumps({"id": server, "owner_id": account.id, "name": "mc", "event": "created: Server"}).encode()
    assert (await deliver(desk, body))[0] == 202
    await until(lambda: CUSTOMER in roles_of(desk, MEMBER))


async def test_a_wrong_or_missing_secret_or_a_foreign_body_changes_nothing(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    server = desk.panel.add_server(account.id)
    body = delivery("created: Server", {"id": server, "owner_id": account.id})
    before = len(desk.panel.requests)
    assert (await deliver(desk, body, secret="not-the-secret-at-all-1234"))[0] == 401
    assert (await deliver(desk, body, secret=None))[0] == 401
    assert (await deliver(desk, b'{"no": "event"}'))[0] == 400
    assert (await deliver(desk, delivery("created: Server", {"id": server})))[0] == 400  # no owner
    assert await deliver(desk, delivery("updated: Node", {"id": 1})) == (202, {"status": "ignored"})
    await asyncio.sleep(0.3)
    assert len(desk.panel.requests) == before and CUSTOMER not in roles_of(desk, MEMBER)
    assert SECRET not in caplog.text and "o@example.com" not in caplog.text

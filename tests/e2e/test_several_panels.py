"""Two panels at once (say two regions): commands take `panel`, links are kept per panel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import LinkMethod
from tests.e2e.conftest import DeskFactory
from tests.e2e.harness import ADMIN, GUILD, MEMBER, Desk
from tests.fakes.pterodactyl import PterodactylSimulator


@pytest.fixture
async def second_panel() -> AsyncIterator[PterodactylSimulator]:
    async with PterodactylSimulator(flavor="pelican") as sim:
        yield sim


@pytest.fixture
async def two_panels(desk_with: DeskFactory, second_panel: PterodactylSimulator) -> Desk:
    eu = {"kind": "pelican", "url": second_panel.url, "api_key": second_panel.admin_key}
    return await desk_with(panels={"eu": eu})


async def test_panel_autocomplete_lists_both(two_panels: Desk) -> None:
    choices = await two_panels.discord.autocomplete(
        "user info", user=ADMIN, guild=GUILD, focused="panel", options={"panel": ""}
    )
    assert [(c["name"], c["value"]) for c in choices] == [("main (Pterodactyl)", "main"), ("eu (Pelican)", "eu")]


async def test_user_info_reads_the_named_panel(two_panels: Desk, second_panel: PterodactylSimulator) -> None:
    two_panels.panel.add_user(username="same", email="main@example.com")
    second_panel.add_user(username="same", email="eu@example.com")
    main = await two_panels.reply("user info", user="same")
    eu = await two_panels.reply("user info", user="same", panel="eu")
    assert "main@example.com" in main.text() and "main · Pterodactyl" in main.text()
    assert "eu@example.com" in eu.text() and "eu · Pelican" in eu.text()
    unknown = await two_panels.reply("user info", user="same", panel="asia")
    assert "There is no panel called 'asia'; configured panels: main, eu." in unknown.content


async def test_user_create_goes_to_the_named_panel(two_panels: Desk, second_panel: PterodactylSimulator) -> None:
    message = await two_panels.reply(
        "user create", email="new@example.com", username="newbie", first_name="N", last_name="B", panel="eu"
    )
    assert "Created newbie" in message.text()
    assert any(u.username == "newbie" for u in second_panel.users.values())
    assert not any(u.username == "newbie" for u in two_panels.panel.users.values())
    [entry] = await two_panels.bot.audit.recent()
    assert entry.panel == "eu"


async def test_links_are_kept_per_panel(two_panels: Desk, second_panel: PterodactylSimulator) -> None:
    main_account = two_panels.panel.add_user(username="m", email="m@example.com", external_id=str(MEMBER))
    eu_account = second_panel.add_user(username="e", email="e@example.com", external_id=str(MEMBER))
    eu = await two_panels.reply("link", by=MEMBER, panel="eu")
    assert "Linked to **e** on the eu panel" in eu.content
    main = await two_panels.reply("link", by=MEMBER)
    assert "Linked to **m** on the main panel" in main.content
    links = await two_panels.bot.links.links_of_member(MEMBER)
    assert [(link.panel, link.panel_user_id, link.method) for link in links] == [
        ("eu", str(eu_account.id), LinkMethod.EXTERNAL_ID),
        ("main", str(main_account.id), LinkMethod.EXTERNAL_ID),
    ]
    account = await two_panels.reply("account", by=MEMBER, panel="eu")
    assert account.embeds[0]["title"] == "e"


async def test_panel_status_reports_every_panel(two_panels: Desk) -> None:
    message = await two_panels.reply("panel status")
    text = message.text()
    assert "main (default): Pterodactyl" in text and "eu: Pelican" in text
    assert text.count("reachable, key accepted") == 2

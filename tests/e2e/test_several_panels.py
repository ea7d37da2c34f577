"""Two panels at once (say two regions): commands take `panel`, links are kept per panel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.pterodactyl import PterodactylSimulator
from storage import LinkMethod
from tests.e2e.conftest import DeskFactory
from tests.e2e.harness import ADMIN, GUILD, MEMBER, Desk, start_desk


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
    account = await two_panels.reply("account show", by=MEMBER, panel="eu")
    assert account.embeds[0]["title"] == "e"


async def test_panel_status_reports_every_panel(two_panels: Desk) -> None:
    message = await two_panels.reply("panel status")
    text = message.text()
    assert "main (default): Pterodactyl" in text and "eu: Pelican" in text
    assert text.count("reachable, key accepted") == 2


# --- CtrlPanel for billing in front of Pterodactyl -------------------------------------------------------------


@pytest.fixture
async def billing_and_servers(desk_with: DeskFactory, ctrlpanel: CtrlPanelSimulator) -> Desk:
    """The default panel is Pterodactyl (servers); `billing` is CtrlPanel (credits)."""
    billing = {"kind": "ctrlpanel", "url": ctrlpanel.url, "api_key": ctrlpanel.api_key, "rate_limit": 100_000}
    return await desk_with(panels={"billing": billing})


async def test_ctrlpanel_in_front_of_pterodactyl(billing_and_servers: Desk, ctrlpanel: CtrlPanelSimulator) -> None:
    desk = billing_and_servers
    desk.panel.add_user(username="max", email="max@example.com")
    customer = ctrlpanel.add_user(name="max", email="max@example.com", credits=40, discord_id=MEMBER)
    servers = await desk.reply("user info", user="max@example.com")
    billed = await desk.reply("user info", user="max@example.com", panel="billing")
    assert "Credits" not in servers.text() and "main · Pterodactyl" in servers.text()
    fields = {f["name"]: f["value"] for f in billed.embeds[0]["fields"]}
    assert fields["Credits"] == "40.00" and "billing · CtrlPanel" in billed.text()
    linked = await desk.reply("link", by=MEMBER, panel="billing")
    assert "Linked to **max** on the billing panel" in linked.content
    no_credits = await desk.reply("credits show", user="max@example.com")
    assert no_credits.content == "Pterodactyl panels have no credits."
    cog = desk.bot.get_cog("Notifications")
    ctrlpanel.set_credits(customer.id, 65)
    [report] = await cog.sweep_all()  # only the panel with credits is watched
    assert (report.panel, report.notices) == ("billing", 1)
    async with asyncio.timeout(5):
        while not desk.discord.dms(MEMBER):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert desk.discord.dms(MEMBER)[0].embeds[0]["title"] == "+25 credits"


async def test_two_credit_panels_are_both_watched_and_notices_chosen_per_panel(
    tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with CtrlPanelSimulator(version="1.1") as eu_sim:
        eu = {"kind": "ctrlpanel", "url": eu_sim.url, "api_key": eu_sim.api_key, "rate_limit": 100_000}
        async for desk in start_desk(
            tmp_path, ctrlpanel, panel_kind="ctrlpanel", panel_rate_limit=100_000, panels={"eu": eu}
        ):
            main_account = ctrlpanel.add_user(name="max", email="max@example.com", credits=10, discord_id=MEMBER)
            eu_account = eu_sim.add_user(name="max", email="max@example.com", credits=10, discord_id=MEMBER)
            await desk.reply("link", by=MEMBER)
            await desk.reply("link", by=MEMBER, panel="eu")
            quiet = await desk.reply("notifications off", by=MEMBER, panel="eu")
            assert (
                "no longer get messages from the bot (credits, warnings and your account) on the eu panel"
                in quiet.content
            )
            ctrlpanel.set_credits(main_account.id, 30)
            eu_sim.set_credits(eu_account.id, 30)
            reports = await desk.bot.get_cog("Notifications").sweep_all()
            assert sorted((r.panel, r.notices) for r in reports) == [("eu", 0), ("main", 1)]
            await asyncio.sleep(0.3)
            [dm] = desk.discord.dms(MEMBER)
            assert (
                dm.embeds[0]["title"] == "+20 credits" and "the main (CtrlPanel) panel" in dm.embeds[0]["description"]
            )
            await desk.reply("notifications off", by=MEMBER)  # every panel; replaces the choice for eu
            await desk.reply("notifications on", by=MEMBER, panel="eu")
            ctrlpanel.set_credits(main_account.id, 50)
            eu_sim.set_credits(eu_account.id, 50)
            reports = await desk.bot.get_cog("Notifications").sweep_all()
            assert sorted((r.panel, r.notices) for r in reports) == [("eu", 1), ("main", 0)]

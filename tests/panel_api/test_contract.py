"""One contract, every panel kind: each client against its own simulator, over loopback.

Every operation a client declares works; every refusal maps to the same error class; every operation it lacks
raises NotSupported with a sentence naming the panel. The per-panel test files cover each panel's quirks; this
file is what makes the clients interchangeable behind `PanelClient`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from panel_api import (
    Capability,
    Conflict,
    NewUser,
    NotFound,
    NotSupported,
    PanelClient,
    UserChanges,
    UserHasServers,
    create_client,
)
from tests.conftest import FAST
from tests.fakes.calagopus import CalagopusSimulator
from tests.fakes.convoy import ConvoySimulator
from tests.fakes.ctrlpanel import CtrlPanelSimulator
from tests.fakes.pterodactyl import PterodactylSimulator
from tests.fakes.pterodactyl_legacy import LegacyPterodactylSimulator


@dataclass(frozen=True)
class Panel:
    kind: str
    simulator: Callable[[], Any]
    # Adds a user the way the panel's own admin would; returns the simulator's user.
    add_user: Callable[..., Any]


def _named(sim: Any, username: str, email: str, external_id: str | None = None) -> Any:
    extra = {"external_id": external_id} if external_id else {}
    return sim.add_user(username=username, email=email, **extra)


PANELS = [
    Panel("pterodactyl", lambda: PterodactylSimulator(), _named),
    Panel("pelican", lambda: PterodactylSimulator(flavor="pelican"), _named),
    Panel(
        "ctrlpanel", lambda: CtrlPanelSimulator(rate_limit=100_000), lambda s, u, e, x=None: s.add_user(name=u, email=e)
    ),
    Panel("convoy", lambda: ConvoySimulator(), lambda s, u, e, x=None: s.add_user(username=u, email=e)),
    Panel("calagopus", lambda: CalagopusSimulator(), _named),
    Panel("pterodactyl-legacy", lambda: LegacyPterodactylSimulator(), lambda s, u, e, x=None: s.add_user(email=e)),
]


@dataclass
class Subject:
    panel: Panel
    sim: Any
    client: PanelClient

    def add_user(self, username: str, email: str, external_id: str | None = None) -> Any:
        return self.panel.add_user(self.sim, username, email, external_id)


@pytest.fixture(params=PANELS, ids=lambda panel: panel.kind)
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    panel: Panel = request.param
    async with panel.simulator() as sim:
        options = {**FAST, "rate_limit": 100_000}
        async with create_client(panel.kind, sim.url, sim.api_key, **options) as client:
            yield Subject(panel, sim, client)


def new_user(subject: Subject, name: str) -> NewUser:
    names = {"first_name": "Con", "last_name": "Tract"} if subject.client.supports(Capability.NAMES) else {}
    return NewUser(email=f"{name}@example.com", username=name, password="Correct-horse-battery-9", **names)


async def test_listing_and_every_page(subject: Subject) -> None:
    subject.sim.seed_users(30)
    page = await subject.client.list_users(page=1, per_page=10)
    assert page.total == len(subject.sim.users) and page.page == 1
    assert 1 <= len(page.items) <= page.per_page  # Pterodactyl 0.5 picks its own page size
    every = [user.id async for user in subject.client.iter_users()]
    assert sorted(every) == sorted(str(key) for key in subject.sim.users)


async def test_get_and_find(subject: Subject) -> None:
    added = subject.add_user("contract", "contract@example.com")
    user = await subject.client.get_user(str(added.id))
    assert user.id == str(added.id) and user.email == "contract@example.com"
    found = await subject.client.find_user("Contract@Example.com")
    assert found is not None and found.id == str(added.id)
    assert await subject.client.find_user("nobody@example.com") is None
    with pytest.raises(NotFound):
        await subject.client.get_user("99999" if str(added.id).isdigit() else "00000000-0000-4000-8000-000000000000")


async def test_create_then_refuse_a_taken_email(subject: Subject) -> None:
    subject.add_user("regular", "regular@example.com")  # CtrlPanel 1.2 gives new accounts an existing user's role
    created = await subject.client.create_user(new_user(subject, "fresh"))
    assert created.email == "fresh@example.com"
    assert any(str(key) == created.id for key in subject.sim.users)
    with pytest.raises(Conflict):
        await subject.client.create_user(new_user(subject, "fresh"))


async def test_update_only_the_given_field(subject: Subject) -> None:
    added = subject.add_user("mover", "mover@example.com")
    before = await subject.client.get_user(str(added.id))
    after = await subject.client.update_user(str(added.id), UserChanges(email="moved@example.com"))
    assert after.email == "moved@example.com"
    if before.username != before.email:  # Pterodactyl 0.5 has no usernames: its accounts go by their email
        assert after.username == before.username
    assert (await subject.client.get_user(str(added.id))).email == "moved@example.com"


async def test_delete_and_servers(subject: Subject) -> None:
    added = subject.add_user("leaver", "leaver@example.com")
    await subject.client.delete_user(str(added.id))
    with pytest.raises(NotFound):
        await subject.client.get_user(str(added.id))
    owner = subject.add_user("owner", "owner@example.com")
    subject.sim.add_server(owner.id)
    if subject.client.deletes_servers_with_user:
        await subject.client.delete_user(str(owner.id))  # CtrlPanel takes the servers with the user
    else:
        with pytest.raises(UserHasServers):
            await subject.client.delete_user(str(owner.id))


async def test_a_refused_key(subject: Subject) -> None:
    async with create_client(subject.panel.kind, subject.sim.url, _wrong_key(subject), **FAST) as client:
        report = await client.check()
    assert report.reachable and report.key_accepted is False


async def test_reads_survive_one_server_error(subject: Subject) -> None:
    added = subject.add_user("steady", "steady@example.com")
    subject.sim.faults.fail_next = 1
    assert (await subject.client.get_user(str(added.id))).email == "steady@example.com"


async def test_what_a_panel_lacks_says_so(subject: Subject) -> None:
    client = subject.client
    added = subject.add_user("lacks", "lacks@example.com")
    uid = str(added.id)
    optional = {
        Capability.SUSPENSION: lambda: client.suspend_user(uid),
        Capability.CREDITS: lambda: client.change_credits(uid, 5),
        Capability.SERVER_LIMIT: lambda: client.change_server_limit(uid, 1),
        Capability.ACCOUNT_FOR_KEY: lambda: client.account_for_key("x" * 48),
        Capability.EXTERNAL_ID: lambda: client.get_user_by_external_id("e-1"),
        Capability.DISCORD_ACCOUNT: lambda: client.find_by_discord_id(123456789012345678),
    }
    lacking = [capability for capability in optional if capability not in client.capabilities]
    for capability in lacking:
        with pytest.raises(NotSupported) as refused:
            await optional[capability]()
        assert refused.value.message.startswith(f"{client.display_name} panels cannot"), capability


async def test_what_a_panel_has_works(subject: Subject) -> None:
    client = subject.client
    if client.supports(Capability.EXTERNAL_ID):
        added = subject.add_user("ext", "ext@example.com", external_id="contract-1")
        assert (await client.get_user_by_external_id("contract-1")).id == str(added.id)
    if client.supports(Capability.ACCOUNT_FOR_KEY):
        owner = subject.add_user("keyowner", "keyowner@example.com")
        key = subject.sim.create_client_key(owner.id)
        assert (await client.account_for_key(key)).id == str(owner.id)
    if client.supports(Capability.SUSPENSION):
        target = subject.add_user("susp", "susp@example.com")
        assert (await client.suspend_user(str(target.id))).suspended is True
        assert (await client.unsuspend_user(str(target.id))).suspended is False
    if client.supports(Capability.CREDITS):
        rich = subject.add_user("rich", "rich@example.com")
        before = (await client.get_user(str(rich.id))).credits
        assert (await client.change_credits(str(rich.id), 5)).credits == before + 5


def _wrong_key(subject: Subject) -> str:
    key = subject.sim.api_key
    if subject.panel.kind == "pterodactyl-legacy":
        public, _, secret = key.partition(":")
        return f"{public}:{'x' * len(secret)}"
    return key[:-6] + ("abcdef" if not key.endswith("abcdef") else "ghijkl")

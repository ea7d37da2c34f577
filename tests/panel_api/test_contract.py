"""One contract, every panel kind: each client against its own simulator, over loopback.

Every operation a client declares works; every refusal maps to the same error class; every operation it lacks
raises NotSupported with a sentence naming the panel. The per-panel test files cover each panel's quirks; this
file is what makes the clients interchangeable behind `PanelClient`. CtrlPanel runs at each version the simulator
plays, since its answers change shape from one to the next.
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
    ValidationFailed,
    create_client,
)
from simulators.calagopus import CalagopusSimulator
from simulators.convoy import ConvoySimulator
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.pterodactyl import PterodactylSimulator
from simulators.pterodactyl_legacy import LegacyPterodactylSimulator
from tests.conftest import FAST


@dataclass(frozen=True)
class Panel:
    kind: str
    simulator: Callable[[], Any]
    # Adds a user the way the panel's own admin would; returns the simulator's user.
    add_user: Callable[..., Any]
    # Ties a Discord account to the simulator's user as the panel's own Discord login does (DISCORD_ACCOUNT only).
    link_discord: Callable[[Any, Any, int], Any] | None = None
    version: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.version}" if self.version else self.kind


def _named(sim: Any, username: str, email: str, external_id: str | None = None) -> Any:
    extra = {"external_id": external_id} if external_id else {}
    return sim.add_user(username=username, email=email, **extra)


def _ctrlpanel(version: str) -> Panel:
    return Panel(
        "ctrlpanel",
        lambda: CtrlPanelSimulator(version=version, rate_limit=100_000),
        lambda s, u, e, x=None: s.add_user(name=u, email=e),
        link_discord=lambda s, user, snowflake: s.link_discord(user.id, snowflake, user.name),
        version=version,
    )


PANELS = [
    Panel("pterodactyl", lambda: PterodactylSimulator(), _named),
    Panel("pelican", lambda: PterodactylSimulator(flavor="pelican"), _named),
    *(_ctrlpanel(version) for version in ("0.9", "1.0", "1.1", "1.2")),
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


@pytest.fixture(params=PANELS, ids=lambda panel: panel.label)
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


async def test_a_walk_asks_for_pages_the_panel_answers_in_full(subject: Subject) -> None:
    client = subject.client
    if subject.panel.kind == "pterodactyl-legacy":
        pytest.skip("Pterodactyl 0.5 has no per_page: it picks its own page size (test_listing_and_every_page)")
    size = client.iter_page_size
    subject.sim.seed_users(size + 5 - len(subject.sim.users))
    page = await client.list_users(per_page=size)
    assert (page.per_page, len(page.items), page.total_pages) == (size, size, 2)
    subject.sim.requests.clear()
    assert len([user async for user in client.iter_users()]) == size + 5
    assert len(subject.sim.requests) == 2


async def test_a_watchers_page_counts_servers_where_the_panel_counts_them(subject: Subject) -> None:
    owner = subject.add_user("owner", "owner@example.com")
    for _ in range(2):
        subject.sim.add_server(owner.id)
    await subject.client.list_users(per_page=1)  # CtrlPanel learns its version once, on its first request
    subject.sim.requests.clear()
    page = await subject.client.sweep_page(1, servers=True)
    [seen] = [user for user in page.items if user.id == str(owner.id)]
    if subject.client.supports(Capability.SERVERS_COUNT):
        assert seen.servers_count == 2  # what a has_servers role rule reads, from the same one request
    assert len(subject.sim.requests) == 1


async def test_suggestions_are_what_the_panel_lists(subject: Subject) -> None:
    client = subject.client
    for name in ("steve", "stevenson", "stella", "bob"):
        subject.add_user(name, f"{name}@mine.example")

    async def listed(term: str) -> list[str]:
        return [user.id for user in (await client.list_users(per_page=25, search=term)).items]

    await client.suggest_users("st")  # everything matching "st": a complete answer
    subject.sim.requests.clear()
    narrowed = {term: [user.id for user in await client.suggest_users(term)] for term in ("ste", "Stev", "steven")}
    assert subject.sim.requests == []  # each answered from "st" alone
    for term, answer in narrowed.items():
        assert answer == await listed(term), term
    assert narrowed["steven"]
    for term in ("@mi", "@min", "@mine.example"):  # addresses: some panels search them differently
        assert [user.id for user in await client.suggest_users(term)] == await listed(term), term


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


async def test_server_limit_goes_up_and_down_but_not_below_zero(subject: Subject) -> None:
    client = subject.client
    if not client.supports(Capability.SERVER_LIMIT):
        pytest.skip(f"{client.display_name} has no server limits (NotSupported: test_what_a_panel_lacks_says_so)")
    uid = str(subject.add_user("limits", "limits@example.com").id)
    before = (await client.get_user(uid)).server_limit
    assert before is not None
    assert (await client.change_server_limit(uid, 3)).server_limit == before + 3
    assert (await client.change_server_limit(uid, -2)).server_limit == before + 1
    assert (await client.get_user(uid)).server_limit == before + 1
    with pytest.raises(ValidationFailed) as refused:
        await client.change_server_limit(uid, -(before + 2))
    assert type(refused.value) is ValidationFailed and list(refused.value.fields) == ["server_limit"]
    assert refused.value.fields["server_limit"][0]
    assert (await client.get_user(uid)).server_limit == before + 1


async def test_credits_are_never_taken_below_zero(subject: Subject) -> None:
    # CtrlPanel, the one panel with credits, refuses a decrement past zero in every version (reference A.3.5:
    # 422 `errors.credits`); on 1.1, whose increments are unreliable, the client checks the balance itself.
    client = subject.client
    if not client.supports(Capability.CREDITS):
        pytest.skip(f"{client.display_name} holds no credits (NotSupported: test_what_a_panel_lacks_says_so)")
    uid = str(subject.add_user("spender", "spender@example.com").id)
    start = (await client.get_user(uid)).credits
    assert start == 0
    assert (await client.change_credits(uid, 5)).credits == 5
    with pytest.raises(ValidationFailed) as refused:
        await client.change_credits(uid, -7.5)
    assert type(refused.value) is ValidationFailed and list(refused.value.fields) == ["credits"]
    assert refused.value.fields["credits"][0]
    assert (await client.get_user(uid)).credits == 5
    assert (await client.change_credits(uid, -5)).credits == 0  # down to zero exactly is allowed


async def test_find_by_discord_id(subject: Subject) -> None:
    client = subject.client
    snowflake = 123456789012345678
    if not client.supports(Capability.DISCORD_ACCOUNT):
        with pytest.raises(NotSupported) as refused:
            await client.find_by_discord_id(snowflake)
        assert refused.value.message == f"{client.display_name} panels cannot record which Discord account a user has."
        return
    assert subject.panel.link_discord is not None
    subject.add_user("unlinked", "unlinked@example.com")
    linked = subject.add_user("linked", "linked@example.com")
    subject.panel.link_discord(subject.sim, linked, snowflake)
    found = await client.find_by_discord_id(snowflake)
    assert found is not None
    assert (found.id, found.email, found.discord_id) == (str(linked.id), "linked@example.com", snowflake)
    assert await client.find_by_discord_id(snowflake + 1) is None


async def test_invalid_input_is_a_validation_refusal_with_field_messages(subject: Subject) -> None:
    client = subject.client
    added = subject.add_user("valid", "valid@example.com")  # CtrlPanel 1.2 gives new accounts this user's role
    before = len(subject.sim.users)
    with pytest.raises(ValidationFailed) as on_create:
        await client.create_user(new_user(subject, "invalid").model_copy(update={"email": "not-an-email"}))
    assert type(on_create.value) is ValidationFailed  # not a Conflict: nothing is taken
    assert "email" in on_create.value.fields
    assert all("email" in message.lower() for message in on_create.value.fields["email"])
    assert len(subject.sim.users) == before

    with pytest.raises(ValidationFailed) as on_update:
        await client.update_user(str(added.id), UserChanges(email="still-not-an-email"))
    assert type(on_update.value) is ValidationFailed
    assert "email" in on_update.value.fields
    assert all("email" in message.lower() for message in on_update.value.fields["email"])
    assert (await client.get_user(str(added.id))).email == "valid@example.com"


async def test_a_password_of_spaces_is_refused_by_the_check(subject: Subject) -> None:
    # Some panels would take one (Pterodactyl, Pelican and Calagopus do not trim passwords), none should get one.
    refused = {"password": ["The password must not be empty or only spaces."]}
    assert (
        subject.client.check_new_user(new_user(subject, "spaces").model_copy(update={"password": " " * 12})) == refused
    )
    assert subject.client.check_changes(UserChanges(password=" \t " * 4)) == refused


async def test_suspending_twice_and_lifting_no_suspension_are_conflicts(subject: Subject) -> None:
    client = subject.client
    if not client.supports(Capability.SUSPENSION):
        pytest.skip(f"{client.display_name} has no suspension (NotSupported: test_what_a_panel_lacks_says_so)")
    uid = str(subject.add_user("twice", "twice@example.com").id)
    with pytest.raises(Conflict, match="not suspended") as lifting_nothing:
        await client.unsuspend_user(uid)
    assert lifting_nothing.value.message == "This account is not suspended, so there is no suspension to lift."
    assert (await client.suspend_user(uid)).suspended is True
    with pytest.raises(Conflict) as again:
        await client.suspend_user(uid)
    assert again.value.message == "This account is already suspended."
    assert (await client.get_user(uid)).suspended is True
    assert (await client.unsuspend_user(uid)).suspended is False
    with pytest.raises(Conflict, match="not suspended"):
        await client.unsuspend_user(uid)
    assert (await client.get_user(uid)).suspended is False


async def test_clearing_the_external_id(subject: Subject) -> None:
    client = subject.client
    added = subject.add_user("cleared", "cleared@example.com", external_id="clear-me")
    uid = str(added.id)
    if not client.supports(Capability.EXTERNAL_ID):
        with pytest.raises(NotSupported) as refused:
            await client.update_user(uid, UserChanges(external_id=None))
        assert refused.value.message.startswith(f"{client.display_name} panels cannot store")
        assert refused.value.message.endswith("external id.") or refused.value.message.endswith("external ids.")
        return
    assert (await client.get_user(uid)).external_id == "clear-me"
    cleared = await client.update_user(uid, UserChanges(external_id=None))
    assert (cleared.id, cleared.external_id, cleared.email) == (uid, None, "cleared@example.com")
    assert (await client.get_user(uid)).external_id is None
    assert await client.get_user_by_external_id("clear-me") is None
    # Leaving the field out leaves it alone.
    await client.update_user(uid, UserChanges(external_id="again"))
    kept = await client.update_user(uid, UserChanges(email="kept@example.com"))
    assert (kept.external_id, kept.email) == ("again", "kept@example.com")


def _wrong_key(subject: Subject) -> str:
    key = subject.sim.api_key
    if subject.panel.kind == "pterodactyl-legacy":
        public, _, secret = key.partition(":")
        return f"{public}:{'x' * len(secret)}"
    return key[:-6] + ("abcdef" if not key.endswith("abcdef") else "ghijkl")

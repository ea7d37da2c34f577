"""The CtrlPanel client against the simulator over loopback, for every version where shapes differ: every
operation and every refusal."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from panel_api import (
    Capability,
    Conflict,
    CtrlPanelClient,
    Forbidden,
    NewUser,
    NotFound,
    NotSupported,
    PanelClient,
    PanelUnavailable,
    PanelUser,
    RateLimited,
    Unauthorized,
    UserChanges,
    ValidationFailed,
    create_client,
)
from simulators.ctrlpanel import CtrlPanelSimulator
from tests.conftest import FAST
from tests.panel_api.agreement import create_agrees, update_agrees
from tests.panel_api.test_seed_examples import CTRLPANEL_REFERENCE_USER

VERSIONS = ("0.9", "1.0", "1.1", "1.2")
SNOWFLAKE = 123456789012345678
SEEDS = Path(__file__).parent.parent / "data" / "seeds"


@pytest.fixture(params=VERSIONS)
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[CtrlPanelSimulator]:
    async with CtrlPanelSimulator(version=request.param) as simulator:
        yield simulator


@pytest.fixture
async def client(sim: CtrlPanelSimulator) -> AsyncIterator[PanelClient]:
    """Left to find the version itself, as a client configured without one does."""
    async with create_client("ctrlpanel", sim.url, sim.api_key, **FAST) as panel:
        yield panel


def requests_to(sim: CtrlPanelSimulator, method: str, path_part: str = "") -> list:
    return [r for r in sim.requests if r.method == method and path_part in r.path]


# --- the version ------------------------------------------------------------------------------------------------


async def test_the_version_is_learnt_once_from_one_probe(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    await client.list_users()
    await client.get_user("1")
    probes = [r for r in sim.requests if r.query.get("per_page") == "1"]
    assert len(probes) == 1 and probes[0].query["include"] == "roles"
    assert len(sim.requests) == 3
    # 0.9 has no roles relation: after its 400 to the probe, no request asks for one.
    if sim.version.line == (0, 9):
        assert [r.status for r in sim.requests] == [400, 200, 200]
        assert all("roles" not in r.query.get("include", "") for r in sim.requests[1:])


async def test_a_given_version_needs_no_probe(sim: CtrlPanelSimulator) -> None:
    version = f"{sim.version.major}.{sim.version.minor}"
    async with create_client("ctrlpanel", sim.url, sim.api_key, version=version, **FAST) as client:
        assert (await client.list_users()).total == 1
    assert len(sim.requests) == 1


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.9, 1\.0, 1\.1 or 1\.2"):
        CtrlPanelClient("https://panel.example", "key", version="2.0")


async def test_an_empty_1_1_panel_is_told_apart_from_1_0_by_its_first_user() -> None:
    async with CtrlPanelSimulator(version="1.1") as sim:
        sim.users.clear()  # not even the admin: the probe sees no credits
        async with create_client("ctrlpanel", sim.url, sim.api_key, **FAST) as client:
            assert (await client.list_users()).total == 0
            member = sim.add_user(name="first", email="first@example.com", credits=2.5)
            assert (await client.get_user(str(member.id))).credits == 2.5
            updated = await client.change_credits(str(member.id), 1)
    assert updated.credits == 3.5 and member.credits == 3.5


# --- reading ----------------------------------------------------------------------------------------------------


async def test_list_users_pages_and_totals(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.seed_users(120)
    first = await client.list_users(page=1, per_page=50)
    last = await client.list_users(page=3, per_page=50)
    assert (first.total, first.total_pages, first.page, first.per_page) == (121, 3, 1, 50)
    assert len(first.items) == 50 and first.has_next
    assert len(last.items) == 21 and not last.has_next
    assert first.items[0].username == "admin" and first.items[0].admin
    assert first.items[1].servers_count == 0 and first.items[1].credits == 0


async def test_list_users_search_matches_names_or_emails(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="steve", email="steve@mine.example")
    sim.add_user(name="Stevenson", email="other@example.com")
    sim.add_user(name="alex", email="alex@steve.example")
    sim.add_user(name="false", email="f@example.com")
    by_name = await client.list_users(search="STEVE")
    by_mail = await client.list_users(search="@steve.example")
    word = await client.list_users(search="false")  # not the boolean that matches everyone
    assert sorted(u.username for u in by_name.items) == ["Stevenson", "steve"]
    assert [u.username for u in by_mail.items] == ["alex"]
    assert [u.username for u in word.items] == ["false"]


async def test_iter_users_reads_every_page_with_few_requests(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.seed_users(1100)
    await client.list_users(per_page=1)  # the probe, out of the way
    sim.requests.clear()
    ids = [user.id async for user in client.iter_users()]
    assert len(ids) == 1101 == len(set(ids))
    assert len(sim.requests) == 3  # 500 per page
    assert all(r.query.get("per_page") == "500" for r in sim.requests)


async def test_get_user_has_every_field(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(
        name="maria",
        email="Maria@Example.com",
        credits=10.5,
        server_limit=3,
        suspended=True,
        discord_id=SNOWFLAKE,
        discord_username="maria",
    )
    sim.add_server(member.id)
    sim.add_server(member.id)
    user = await client.get_user(str(member.id))
    assert (user.id, user.username, user.email) == (str(member.id), "maria", "Maria@Example.com")
    assert (user.credits, user.server_limit, user.suspended, user.servers_count) == (10.5, 3, True, 2)
    assert user.discord_id == SNOWFLAKE
    assert user.role == ("member" if sim.version.line == (0, 9) else "User") and not user.admin
    assert user.created_at is not None and user.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - user.created_at).total_seconds()) < 60
    assert user.uuid is None and user.external_id is None and user.first_name is None
    admin = await client.get_user("1")
    assert admin.admin and admin.discord_id is None and admin.suspended is False


async def test_get_user_unknown_and_malformed_ids(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    with pytest.raises(NotFound):
        await client.get_user("999")
    sim.requests.clear()
    for bad in ("../1", "abc", "0", "-1", str(SNOWFLAKE)):
        with pytest.raises(NotFound):
            await client.get_user(bad)
    assert sim.requests == []  # never sent: a Discord id would resolve to its linked user before 1.2.0


async def test_an_answer_for_another_user_is_not_taken(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    """Before 1.2.0 the panel tries the path id as a Discord id first. Make a Discord id equal user 2's id: the
    panel then answers with the other account, and the client must neither show it nor change it."""
    second = sim.add_user(name="second", email="second@example.com")
    other = sim.add_user(name="other", email="other@example.com")
    sim.link_discord(other.id, second.id, "other")
    if sim.version.resources:
        assert (await client.get_user(str(second.id))).username == "second"
        assert (await client.suspend_user(str(second.id))).username == "second"
        assert second.suspended and not other.suspended
        return
    with pytest.raises(NotFound):
        await client.get_user(str(second.id))
    with pytest.raises(NotFound):
        await client.suspend_user(str(second.id))
    assert not other.suspended and not second.suspended
    assert requests_to(sim, "PATCH") == []


async def test_find_user_is_exact_despite_substring_filters(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="user1", email="one@example.com")
    target = sim.add_user(name="user10", email="a_b@example.com")
    sim.add_user(name="user100", email="axb@example.com")
    assert (await client.find_user("USER10")).id == str(target.id)
    assert (await client.find_user("A_B@EXAMPLE.COM")).id == str(target.id)  # `_` is a wildcard on 0.9
    assert (await client.find_user("user1")).username == "user1"
    assert await client.find_user("user") is None
    assert await client.find_user("nobody@example.com") is None
    assert await client.find_user("   ") is None


# --- the Discord account the panel records -------------------------------------------------------------------------


async def test_find_by_discord_id_scans_the_include_not_the_path(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.seed_users(2400)
    member = sim.add_user(name="linked", email="linked@example.com", credits=7, discord_id=SNOWFLAKE)
    sim.add_server(member.id)
    await client.list_users(per_page=1)
    sim.requests.clear()
    user = await client.find_by_discord_id(SNOWFLAKE)
    assert user is not None and user.id == str(member.id)
    assert user.discord_id == SNOWFLAKE and user.servers_count == 1 and user.credits == 7
    scans = requests_to(sim, "GET", "/api/users")[:-1]
    assert [(r.query["page"], r.query["per_page"], r.query["include"]) for r in scans] == [
        ("1", "1000", "discordUser"),
        ("2", "1000", "discordUser"),
        ("3", "1000", "discordUser"),
    ]
    assert not any(str(SNOWFLAKE) in r.path for r in sim.requests)


async def test_find_by_discord_id_without_an_account_on_the_panel(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="unlinked", email="u@example.com")
    sim.add_user(name="other", email="o@example.com", discord_id=SNOWFLAKE + 1)
    assert await client.find_by_discord_id(SNOWFLAKE) is None
    assert await client.find_by_discord_id(0) is None
    assert not any(str(SNOWFLAKE) in r.path for r in sim.requests)


# --- create -----------------------------------------------------------------------------------------------------


async def test_create_user_returns_the_new_account(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="member", email="member@example.com")  # an ordinary user, whose role 1.2 new users get
    user = await client.create_user(
        NewUser(email="new@example.com", username="NewUser1", first_name="Ignored", password="hunter2hunter2")
    )
    stored = sim.users[int(user.id)]
    assert (user.username, user.email, user.credits, user.server_limit) == ("NewUser1", "new@example.com", 250, 1)
    assert user.suspended is False and user.servers_count == 0 and user.discord_id is None
    assert stored.password_matches("hunter2hunter2")
    post = requests_to(sim, "POST")[0].json
    assert post["name"] == "NewUser1" and "first_name" not in post and "username" not in post
    if sim.version.resources:
        assert post["role_id"] == 4 and stored.role_ids == {4}  # "User", the least powerful ordinary role
    else:
        assert "role_id" not in post


async def test_create_without_a_password_sets_a_random_one(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="member", email="member@example.com")
    user = await client.create_user(NewUser(email="nopw@example.com", username="nopw1"))
    sent = requests_to(sim, "POST")[0].json["password"]
    assert len(sent) >= 16 and sim.users[int(user.id)].password_matches(sent)


async def test_1_2_role_for_new_users(caplog: pytest.LogCaptureFixture) -> None:
    async with CtrlPanelSimulator() as sim:
        async with create_client("ctrlpanel", sim.url, sim.api_key, **FAST) as client:
            with pytest.raises(ValidationFailed, match="set default_role_id") as failure:
                await client.create_user(NewUser(email="a@example.com", username="first1"))  # only the admin exists
            assert "role_id" in failure.value.fields
            client_role = 3
            sim.add_user(name="buyer", email="buyer@example.com", role=client_role)
            sim.add_user(name="plain", email="plain@example.com")  # "User", power 10 < Client's 20
            caplog.set_level("INFO", logger="panel_api.ctrlpanel")
            created = await client.create_user(NewUser(email="b@example.com", username="second2"))
            await client.create_user(NewUser(email="c@example.com", username="third3"))
        assert sim.users[int(created.id)].role_ids == {4}
        assert "role 'User' (id 4)" in caplog.text
        role_scans = [r for r in sim.requests if r.query.get("include") == "roles" and r.query.get("per_page") != "1"]
        assert len(role_scans) == 2  # one failed search, one that found it; the third create reused it
        async with create_client("ctrlpanel", sim.url, sim.api_key, default_role_id=client_role, **FAST) as chosen:
            third = await chosen.create_user(NewUser(email="d@example.com", username="fourth4"))
        assert sim.users[int(third.id)].role_ids == {client_role}


async def test_create_user_reports_the_panels_field_messages(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="member", email="member@example.com")
    with pytest.raises(ValidationFailed) as failure:
        await client.create_user(NewUser(email="not-an-email", username="a_b", password="short"))
    fields = failure.value.fields
    word = " field" if sim.version.laravel11 else ""
    assert fields["username"] == [
        f"The name{word} must be between 4 and 30 characters.",
        f"The name{word} must only contain letters and numbers.",
    ]
    assert fields["email"] == [f"The email{word} must be a valid email address."]
    assert fields["password"] == [f"The password{word} must be between 8 and 191 characters."]
    assert not isinstance(failure.value, Conflict)


async def test_create_user_taken_name_and_email_is_a_conflict(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="Taken1", email="taken@example.com")
    with pytest.raises(Conflict) as conflict:
        await client.create_user(NewUser(email="TAKEN@example.com", username="taken1", password="longenough"))
    assert conflict.value.fields == {
        "username": ["The name has already been taken."],
        "email": ["The email has already been taken."],
    }
    with pytest.raises(ValidationFailed) as mixed:  # taken, but also invalid: not a conflict
        await client.create_user(NewUser(email="taken@example.com", username="ab", password="longenough"))
    assert not isinstance(mixed.value, Conflict) and list(mixed.value.fields) == ["username", "email"]


async def test_create_user_refusals(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="member", email="member@example.com")
    with pytest.raises(NotSupported, match="CtrlPanel panels cannot make an admin"):
        await client.create_user(NewUser(email="a@example.com", username="boss1", admin=True))
    with pytest.raises(NotSupported, match="external id"):
        await client.create_user(NewUser(email="a@example.com", username="ext12", external_id="x"))
    sim.user_creation_enabled = False
    with pytest.raises(Forbidden, match="creation of new users"):
        await client.create_user(NewUser(email="a@example.com", username="late1", password="longenough"))
    sim.user_creation_enabled = True
    sim.pterodactyl_error = ("The username has already been taken.", 422)
    with pytest.raises(ValidationFailed, match="Pterodactyl panel \\(HTTP 422\\)") as relayed:
        await client.create_user(NewUser(email="a@example.com", username="ptero1", password="longenough"))
    assert relayed.value.fields == {"pterodactyl": ["The username has already been taken."]}
    assert len(sim.users) == 2


# --- update and delete ------------------------------------------------------------------------------------------


async def test_update_one_field_keeps_the_others(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="keep", email="keep@example.com", credits=5, discord_id=SNOWFLAKE)
    sim.add_server(member.id)
    sim.requests.clear()
    user = await client.update_user(str(member.id), UserChanges(email="new@example.com"))
    assert (user.username, user.email, user.credits) == ("keep", "new@example.com", 5)
    assert user.servers_count == 1 and user.discord_id == SNOWFLAKE and user.role is not None
    assert requests_to(sim, "PATCH")[0].json == {"name": "keep", "email": "new@example.com"}
    renamed = await client.update_user(str(member.id), UserChanges(username="kept"))
    assert (renamed.username, renamed.email, member.name) == ("kept", "new@example.com", "kept")


async def test_update_password_on_1_2_only(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="secret", email="secret@example.com", password="oldpassword")
    if sim.version.resources:
        await client.update_user(str(member.id), UserChanges(password="newpassword1"))
        assert member.password_matches("newpassword1")
    else:
        with pytest.raises(NotSupported, match=r"before version 1\.2"):
            await client.update_user(str(member.id), UserChanges(password="newpassword1"))
        assert member.password_matches("oldpassword") and requests_to(sim, "PATCH") == []


async def test_update_refuses_what_ctrlpanel_lacks(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    for changes, text in (
        (UserChanges(first_name="X"), "first or last names"),
        (UserChanges(admin=True), "admin rights"),
        (UserChanges(language="de"), "language"),
        (UserChanges(external_id="x"), "external id"),
    ):
        with pytest.raises(NotSupported, match=text):
            await client.update_user("1", changes)
    assert sim.requests == []
    await client.update_user("1", UserChanges())
    assert requests_to(sim, "PATCH") == []


async def test_update_to_a_bad_name_reports_the_field(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="mine", email="mine@example.com")
    with pytest.raises(ValidationFailed) as failure:
        await client.update_user(str(member.id), UserChanges(username="abc"))
    assert list(failure.value.fields) == ["username"]
    assert member.name == "mine"


async def test_delete_user_deletes_their_servers_too(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    assert client.deletes_servers_with_user
    member = sim.add_user(name="gone", email="gone@example.com", discord_id=SNOWFLAKE)
    sim.add_server(member.id)
    await client.delete_user(str(member.id))
    assert member.id not in sim.users and sim.servers == {} and sim.discord_users == {}
    assert requests_to(sim, "DELETE")[0].status == (204 if sim.version.resources else 200)
    with pytest.raises(NotFound):
        await client.delete_user(str(member.id))
    with pytest.raises(NotFound):
        await client.delete_user(str(SNOWFLAKE))
    assert len(requests_to(sim, "DELETE")) == 2


# --- suspension -------------------------------------------------------------------------------------------------


async def test_suspend_twice_is_a_conflict(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="held", email="held@example.com")
    sim.add_server(member.id)
    user = await client.suspend_user(str(member.id), "unpaid invoice")
    assert user.suspended is True and user.servers_count == 1
    with pytest.raises(Conflict, match="already suspended") as conflict:
        await client.suspend_user(str(member.id))
    assert conflict.value.status == (400 if sim.version.resources else 422)
    body = requests_to(sim, "PATCH", "/suspend")[0].json
    assert body == ({"reason": "unpaid invoice"} if sim.version.resources else None)


async def test_unsuspend_a_user_who_is_not_suspended_is_a_conflict(
    sim: CtrlPanelSimulator, client: PanelClient
) -> None:
    member = sim.add_user(name="free", email="free@example.com", suspended=True)
    assert (await client.unsuspend_user(str(member.id))).suspended is False
    with pytest.raises(Conflict, match="not suspended"):
        await client.unsuspend_user(str(member.id))
    with pytest.raises(NotFound):
        await client.unsuspend_user("999")


async def test_a_suspend_whose_answer_was_lost_is_not_reported_as_a_conflict(
    sim: CtrlPanelSimulator, client: PanelClient
) -> None:
    member = sim.add_user(name="lost", email="lost@example.com")
    sim.lost_write_answers = 1  # the panel suspends, a proxy loses the answer, the retry meets "already suspended"
    assert (await client.suspend_user(str(member.id))).suspended is True
    assert [r.status for r in requests_to(sim, "PATCH", "/suspend")] == [504, 400 if sim.version.resources else 422]


# --- credits and server limits ----------------------------------------------------------------------------------


async def test_credits_add_and_remove(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="rich", email="rich@example.com", credits=100)
    added = await client.change_credits(str(member.id), 50)
    removed = await client.change_credits(str(member.id), -30)
    assert (added.credits, removed.credits, member.credits) == (150, 120, 120)
    assert removed.servers_count == 0 and removed.role is not None
    writes = [r for r in sim.requests if r.method == "PATCH"]
    if sim.version.line == (1, 1):
        # 1.1's increment would not convert to thousandths; its update does.
        assert [(r.path, r.json) for r in writes] == [
            (f"/api/users/{member.id}", {"name": "rich", "email": "rich@example.com", "credits": 150}),
            (f"/api/users/{member.id}", {"name": "rich", "email": "rich@example.com", "credits": 120}),
        ]
    else:
        assert [(r.path, r.json) for r in writes] == [
            (f"/api/users/{member.id}/increment", {"credits": 50}),
            (f"/api/users/{member.id}/decrement", {"credits": 30}),
        ]


async def test_decimal_credits(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="cents", email="cents@example.com", credits=10.5)
    assert (await client.get_user(str(member.id))).credits == 10.5
    user = await client.change_credits(str(member.id), 2.25)
    assert user.credits == 12.75 and member.credits == 12.75
    user = await client.change_credits(str(member.id), -1.75)
    assert user.credits == 11 and member.credits == 11


async def test_1_1_credits_stay_right_even_if_its_increment_is_unconverted() -> None:
    async with CtrlPanelSimulator(version="1.1") as sim:
        sim.unconverted_increments = True
        member = sim.add_user(name="bug11", email="bug@example.com", credits=1.5)
        async with create_client("ctrlpanel", sim.url, sim.api_key, version="1.1", **FAST) as client:
            user = await client.change_credits(str(member.id), 10)
    assert user.credits == 11.5 and member.credits == 11.5


async def test_removing_more_credits_than_the_balance_is_refused(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="poor", email="poor@example.com", credits=25.5)
    with pytest.raises(ValidationFailed) as refused:
        await client.change_credits(str(member.id), -100)
    assert not isinstance(refused.value, Conflict)
    if sim.version.resources:
        message = "Cannot remove 100 credits. User has 25 credits available."
    elif sim.version.line == (1, 1):
        message = "Cannot remove 100 credits. The account has 25.5 credits."  # refused before any write
    else:
        message = "You can't remove this amount of credits because you would exceed the minimum credit limit"
    assert refused.value.fields == {"credits": [message]}
    assert member.credits == 25.5
    assert len(requests_to(sim, "PATCH")) == (0 if sim.version.line == (1, 1) else 1)


async def test_increments_are_never_sent_twice(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="once", email="once@example.com", credits=1, server_limit=1)
    sim.lost_write_answers = 1
    with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
        await client.change_server_limit(str(member.id), 1)
    assert len(requests_to(sim, "PATCH")) == 1 and member.server_limit == 2  # applied once, not twice
    sim.lost_write_answers = 1
    if sim.version.line == (1, 1):
        # A new balance, not a step: sending it again is harmless, so the update is retried.
        assert (await client.change_credits(str(member.id), 5)).credits == 6
    else:
        with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
            await client.change_credits(str(member.id), 5)
    assert member.credits == 6
    sim.requests.clear()
    assert (await client.change_credits(str(member.id), 0)).credits == 6  # nothing to do, nothing sent
    assert requests_to(sim, "PATCH") == []


async def test_server_limit_up_down_and_not_below_zero(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = sim.add_user(name="slots", email="slots@example.com", server_limit=2)
    assert (await client.change_server_limit(str(member.id), 3)).server_limit == 5
    assert (await client.change_server_limit(str(member.id), -4)).server_limit == 1
    with pytest.raises(ValidationFailed) as refused:
        await client.change_server_limit(str(member.id), -2)
    assert list(refused.value.fields) == ["server_limit"]
    assert member.server_limit == 1


# --- keys, rate limits, faults ----------------------------------------------------------------------------------


async def test_wrong_and_missing_keys_are_unauthorized(sim: CtrlPanelSimulator) -> None:
    for key, text in (("x" * 48, "did not accept"), ("", "received no API key")):
        async with create_client("ctrlpanel", sim.url, key, **FAST) as client:
            with pytest.raises(Unauthorized, match=text):
                await client.list_users()
            report = await client.check()
        assert report.reachable and report.key_accepted is False
    statuses = [r.status for r in sim.requests if r.status != 200]
    assert statuses == [401, 401, 403, 403]


async def test_health_check(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    report = await client.check()
    assert report.ok and report.users_total == 1


@pytest.mark.parametrize(("version", "html"), [("0.9", False), ("1.2", True)])
async def test_a_429_is_waited_out(version: str, html: bool) -> None:
    async with CtrlPanelSimulator(version=version, rate_limit=3, rate_window=0.4) as sim:
        async with create_client("ctrlpanel", sim.url, sim.api_key, version=version, rate_limit=1000, **FAST) as client:
            started = time.monotonic()
            for _ in range(5):
                await client.list_users(per_page=1)
            elapsed = time.monotonic() - started
        limited = [r for r in sim.requests if r.status == 429]
    assert limited and len([r for r in sim.requests if r.status == 200]) == 5
    assert elapsed >= 0.3
    assert sim.version.themed_errors is html  # 1.2 answers the 429 with a page and no Retry-After


async def test_a_long_429_is_raised_with_when_to_retry() -> None:
    async with (
        CtrlPanelSimulator(version="0.9", rate_limit=1, rate_window=120) as sim,
        create_client("ctrlpanel", sim.url, sim.api_key, version="0.9", rate_limit=1000, **FAST) as client,
    ):
        await client.list_users()
        with pytest.raises(RateLimited) as limited:
            await client.list_users()
    assert 100 < limited.value.retry_after <= 120


async def test_an_html_429_without_headers_is_still_a_rate_limit() -> None:
    options = {**FAST, "max_rate_limit_retries": 1}
    async with (
        CtrlPanelSimulator(version="1.2", rate_limit=1, rate_window=120) as sim,
        create_client("ctrlpanel", sim.url, sim.api_key, version="1.2", rate_limit=1000, **options) as client,
    ):
        await client.list_users()
        started = time.monotonic()
        with pytest.raises(RateLimited) as limited:
            await client.list_users()
    # Nothing says when the window ends: one short wait, then "try again" names the panel's whole minute.
    assert 0.9 < time.monotonic() - started < 5
    assert limited.value.retry_after == 60 and "try again in 60 s" in limited.value.message


def test_the_client_keeps_under_sixty_a_minute() -> None:
    client = create_client("ctrlpanel", "https://panel.example", "key")
    assert client.transport.options.rate_limit == 60 and client.transport.options.rate_window == 60


async def test_a_5xx_is_retried_for_a_read_not_for_a_create(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    sim.add_user(name="member", email="member@example.com")
    await client.create_user(NewUser(email="w@example.com", username="warm1"))  # 1.2: the role is found now
    sim.faults.fail_next = 2
    sim.faults.fail_status = 503
    assert (await client.get_user("1")).username == "admin"
    assert [r.status for r in sim.requests[-3:]] == [503, 503, 200]
    sim.faults.fail_next = 1
    with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
        await client.create_user(NewUser(email="c@example.com", username="create1", password="longenough"))
    assert [r.json["name"] for r in requests_to(sim, "POST")] == ["warm1", "create1"]  # sent once


async def test_a_proxy_page_and_a_malformed_body(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    await client.list_users()
    sim.faults.html_errors_next = 1
    assert (await client.list_users()).total == 1
    sim.faults.malformed_next = 1  # a read cut short is asked again
    assert (await client.list_users()).total == 1
    assert [r.status for r in sim.requests[-2:]] == [200, 200]


async def test_a_wrong_base_url_is_reported_as_such(sim: CtrlPanelSimulator) -> None:
    async with create_client("ctrlpanel", sim.url + "/panel", sim.api_key, **FAST) as client:
        with pytest.raises(PanelUnavailable) as wrong:
            await client.list_users()
    assert "base address" in str(wrong.value)  # an HTML 404 page from 1.0.3, the JSON "route" message before


async def test_the_api_key_never_reaches_logs_or_errors(
    sim: CtrlPanelSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    sim.faults.fail_next = 1
    async with create_client("ctrlpanel", sim.url, sim.api_key, **FAST) as client:
        await client.list_users()
        assert sim.api_key not in repr(client)
    sim.revoke_key(sim.api_key)
    async with create_client("ctrlpanel", sim.url, sim.api_key, **FAST) as client:
        with pytest.raises(Unauthorized) as refused:
            await client.list_users()
    assert caplog.records
    for text in (caplog.text, str(refused.value), repr(refused.value)):
        assert sim.api_key not in text and sim.api_key[8:] not in text


# --- input checks -----------------------------------------------------------------------------------------------


def test_check_fields_applies_ctrlpanels_rules() -> None:
    client = CtrlPanelClient("https://panel.example", "key", version="1.1")
    problems = client.check_new_user(NewUser(email="x" * 60 + "@example.com", username="a_b", password="p" * 192))
    assert problems == {
        "email": ["The email must not be greater than 64 characters."],
        "username": [
            "The username must be between 4 and 30 characters.",
            "The username must only contain letters and numbers (no spaces, dots, dashes or underscores).",
        ],
        "password": ["The password must not be greater than 191 characters."],
    }
    assert client.check_new_user(NewUser(email="ok@example.com", username="Müller42")) == {}
    # Updates keep the length rule only; 1.2 has no email length limit.
    assert client.check_changes(UserChanges(username="a.b.c.d")) == {}
    latest = CtrlPanelClient("https://panel.example", "key", version="1.2")
    assert latest.check_new_user(NewUser(email="x" * 60 + "@example.com", username="abcd")) == {}


def test_capabilities() -> None:
    assert CtrlPanelClient.capabilities == {
        Capability.CREDITS,
        Capability.SERVER_LIMIT,
        Capability.SUSPENSION,
        Capability.ROLES,
        Capability.DISCORD_ACCOUNT,
        Capability.SERVERS_COUNT,
        Capability.PASSWORD,
    }
    assert CtrlPanelClient.display_name == "CtrlPanel" and CtrlPanelClient.default_rate_limit == 60


# --- the documents users read (seed 000) ------------------------------------------------------------------------


def seed_000() -> str:
    return (SEEDS / "000_5e0fb8aef9807278.txt").read_text()


def test_seed_000_shows_no_bodies_so_the_reference_example_stands_in() -> None:
    """Seed 000 documents parameters only; the 1.2.0 example of the reference (A.6) is what an answer looks like."""
    assert "```json" not in seed_000() and "{" not in seed_000()
    example = {
        "data": [CTRLPANEL_REFERENCE_USER],
        "links": {"first": "https://panel.example/api/users?page=1", "last": None, "prev": None, "next": None},
        "meta": {"current_page": 1, "from": 1, "last_page": 1, "links": [], "per_page": 50, "to": 1, "total": 1},
    }
    page = CtrlPanelClient("https://panel.example", "key")._page(json.loads(json.dumps(example)))
    user = page.items[0]
    assert isinstance(user, PanelUser) and user.raw == example["data"][0]
    assert (user.id, user.username, user.email, user.credits, user.server_limit) == (
        "7",
        "alice",
        "alice@example.com",
        150,
        2,
    )
    assert (user.suspended, user.servers_count, user.discord_id) == (False, 1, 123456789012345678)
    assert user.created_at == datetime(2026, 1, 2, 9, 58, tzinfo=UTC)
    assert (page.total, page.total_pages, page.per_page) == (1, 1, 50)


def test_what_seed_000_documents_matches_what_the_client_sends() -> None:
    text = seed_000()
    filters = re.search(r"Filters & Includes\n\n(.*?)includes:", text, re.S).group(1)
    documented = {line.split(":")[0] for line in filters.strip().splitlines()}
    assert {"name", "email"} <= documented  # the only filters the client uses
    includes = re.search(r"Available Includes: \[(.*?)\]", text).group(1)
    assert {"'serversCount'", "'discordUser'"} <= {part.strip() for part in includes.split(",")}
    roles = re.search(r"Available Roles: \[(.*?)\]", text).group(1)
    # 0.9's role strings: only `admin` makes an admin.
    for role in (part.strip(" '") for part in roles.split(",")):
        user = CtrlPanelClient("https://panel.example", "key")._single(
            {"id": 1, "name": "n", "email": "e", "role": role}
        )
        assert user.role == role and user.admin is (role == "admin")


@pytest.mark.parametrize(
    ("raw", "credits"),
    [({"credits": 10500}, 10.5), ({"credits": 10.5}, 10.5), ({"credits": "10.50"}, 10.5), ({"credits": None}, None)],
)
def test_raw_model_credits_by_their_json_type(raw: dict, credits: float | None) -> None:
    """1.1 shows stored thousandths as an integer; 0.9/1.0 a float of credits (a decimal column, a string)."""
    user = CtrlPanelClient("https://panel.example", "key")._single({"id": 1, "name": "n", "email": "e", **raw})
    assert user.credits == credits


# --- the checks agree with the panel --------------------------------------------------------------------------------

# What staff might type, and the field the panel refuses it for (None: the panel takes it, so the check must too).
CTRLPANEL_INPUT = {
    "a name padded with spaces": ({"username": "  abcd  "}, None),
    "a name of three letters once trimmed": ({"username": "  abc  "}, "username"),
    "a password of seven characters": ({"password": "short12"}, "password"),
    "a password of spaces": ({"password": " " * 10}, "password"),  # `required` trims, though TrimStrings does not
    "an email of spaces": ({"email": "   "}, "email"),
}


@pytest.mark.parametrize(("change", "field"), CTRLPANEL_INPUT.values(), ids=list(CTRLPANEL_INPUT))
async def test_the_checks_agree_with_ctrlpanel(
    sim: CtrlPanelSimulator, client: PanelClient, change: dict, field: str | None
) -> None:
    sim.add_user(name="regular", email="regular@example.com")  # 1.2 gives new accounts an ordinary user's role
    new = NewUser(email="agree@example.com", username="agree1", password="longenough")
    await create_agrees(client, new.model_copy(update=change), field)


async def test_the_email_length_is_checked_once_the_version_is_known(
    sim: CtrlPanelSimulator, client: PanelClient
) -> None:
    sim.add_user(name="regular", email="regular@example.com")
    await client.list_users()  # any request tells the version
    long_email = "e" * 53 + "@example.com"  # 65 characters: too many before 1.2
    new = NewUser(email=long_email, username="agree1", password="longenough")
    await create_agrees(client, new, None if sim.version.resources else "email")


async def test_the_update_checks_agree_with_ctrlpanel(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    member = str(sim.add_user(name="member", email="member@example.com").id)
    await update_agrees(client, member, UserChanges(username="   "), "username")
    await update_agrees(client, member, UserChanges(username="  renamed  "), None)
    assert sim.users[int(member)].name == "renamed"
    if sim.version.resources:  # passwords change through the API from 1.2
        await update_agrees(client, member, UserChanges(password="short12"), "password")


# Credit and server-limit changes: (balance, change, refused?) by version. The client's change_credits and
# change_server_limit do not check, so the panel's own answer is what the check is compared with.
CREDIT_CASES = {
    "1.2": [
        (10, "-0.01", True),  # decrement is `min:1`
        (10, "-0.99", True),
        (10, "-1", False),
        (10, "-1.5", False),
        (10, "-10.01", True),
        (10, "-10", False),
        (10, "0.01", False),  # an increment has no minimum
        (10, "9223372036854765", False),  # up to the ceiling exactly
        (10, "9223372036854766", True),
        (0, "9223372036854776", True),  # the amount itself is too large
    ],
    "1.1": [(10, "-0.01", False), (10, "-10.01", True), (999_990, "10", False), (999_990, "10.5", True)],
    "1.0": [
        (10, "-0.01", False),
        (10, "-10.01", True),
        (10, "1000001", True),
        (99_000_000, "999998.99", False),
        (99_000_000, "999999", True),  # 99999999 is already over
    ],
}
CREDIT_CASES["0.9"] = CREDIT_CASES["1.0"]
SERVER_LIMIT_CASES = {
    "1.2": [(2, -3, True), (2, -2, False), (999_998, 2, False), (999_998, 3, True), (0, 1_000_001, True)],
    "1.1": [
        (2, -3, True),
        (2, -2, False),
        (0, 1_000_001, True),
        (2_147_483_000, 646, False),
        (2_147_483_000, 647, True),
    ],
}
SERVER_LIMIT_CASES["1.0"] = SERVER_LIMIT_CASES["0.9"] = SERVER_LIMIT_CASES["1.1"]


async def test_the_credit_checks_agree_with_ctrlpanel(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    line = f"{sim.version.major}.{sim.version.minor}"
    for balance, change, refused in CREDIT_CASES[line]:
        member = sim.add_user(
            name=f"credit{len(sim.users)}", email=f"credit{len(sim.users)}@example.com", credits=balance
        )
        account = await client.get_user(str(member.id))
        problems = client.check_credit_change(account, Decimal(change))
        assert (list(problems) == ["credits"]) is refused and (problems == {}) is not refused, (balance, change)
        try:
            await client.change_credits(account.id, float(change))
        except ValidationFailed as panel:
            assert refused and list(panel.fields) == ["credits"], (balance, change, panel.fields)
        else:
            assert not refused, (balance, change)


async def test_the_server_limit_checks_agree_with_ctrlpanel(sim: CtrlPanelSimulator, client: PanelClient) -> None:
    line = f"{sim.version.major}.{sim.version.minor}"
    for limit, change, refused in SERVER_LIMIT_CASES[line]:
        member = sim.add_user(
            name=f"limit{len(sim.users)}", email=f"limit{len(sim.users)}@example.com", server_limit=limit
        )
        account = await client.get_user(str(member.id))
        problems = client.check_server_limit_change(account, change)
        assert (list(problems) == ["server_limit"]) is refused and (problems == {}) is not refused, (limit, change)
        try:
            await client.change_server_limit(account.id, change)
        except ValidationFailed as panel:
            assert refused and list(panel.fields) == ["server_limit"], (limit, change, panel.fields)
        else:
            assert not refused, (limit, change)


async def test_credit_checks_before_the_version_is_known_keep_to_what_every_version_refuses() -> None:
    client = CtrlPanelClient("https://panel.example", "key")  # no version given, none learnt
    account = PanelUser(id="7", username="poor", email="poor@example.com", credits=12.5, server_limit=2)
    assert client.check_credit_change(account, Decimal("-0.01")) == {}
    assert client.check_credit_change(account, Decimal("-20")) == {
        "credits": [
            "Cannot remove 20 credits: the account has 12.5, and CtrlPanel does not let a balance go below zero. "
            "Remove at most 12.5."
        ]
    }
    assert client.check_server_limit_change(account, -3) == {
        "server_limit": [
            "Cannot remove 3: the account may have 2 servers, and CtrlPanel does not let the limit go below zero. "
            "Remove at most 2."
        ]
    }
    latest = CtrlPanelClient("https://panel.example", "key", version="1.2")
    assert latest.check_credit_change(account, Decimal("-0.01")) == {
        "credits": ["The credits must be at least 1: CtrlPanel 1.2 does not remove less than 1 credit at a time."]
    }

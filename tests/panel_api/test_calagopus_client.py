"""The Calagopus client against the simulator over loopback: every operation and every refusal."""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from panel_api import (
    Capability,
    Conflict,
    Forbidden,
    NewUser,
    NotFound,
    NotSupported,
    PanelError,
    PanelKind,
    PanelUnavailable,
    PanelUser,
    RateLimited,
    TransportOptions,
    Unauthorized,
    UserChanges,
    UserHasServers,
    ValidationFailed,
)
from panel_api.calagopus import CalagopusClient, error_messages
from simulators.calagopus import CalagopusSimulator
from simulators.loopback import call
from tests.conftest import FAST

SEED = Path(__file__).parent.parent / "data" / "seeds" / "004_b632d9c2a52b6d7c.txt"
OPTIONS = TransportOptions(rate_limit=1000, **FAST)


def requests_to(sim: CalagopusSimulator, method: str, path_part: str = "") -> list:
    return [r for r in sim.requests if r.method == method and path_part in r.path]


def client_for(sim: CalagopusSimulator, key: str, **options: Any) -> CalagopusClient:
    return CalagopusClient(sim.url, key, options=replace(OPTIONS, **options))


@pytest.fixture
async def sim() -> AsyncIterator[CalagopusSimulator]:
    async with CalagopusSimulator() as simulator:
        yield simulator


@pytest.fixture
async def client(sim: CalagopusSimulator) -> AsyncIterator[CalagopusClient]:
    async with client_for(sim, sim.api_key) as panel:
        yield panel


def new_user(**overrides: Any) -> NewUser:
    values: dict[str, Any] = {
        "email": "new@example.com",
        "username": "New_User",
        "first_name": "New",
        "last_name": "User",
    }
    return NewUser(**{**values, **overrides})


# --- what the client declares -----------------------------------------------------------------------------------


def test_kind_name_and_capabilities() -> None:
    assert (CalagopusClient.kind, CalagopusClient.display_name) == (PanelKind.CALAGOPUS, "Calagopus")
    assert CalagopusClient.capabilities == {
        Capability.EXTERNAL_ID,
        Capability.ACCOUNT_FOR_KEY,
        Capability.NAMES,
        Capability.LANGUAGE,
        Capability.PASSWORD,
        Capability.SUSPENSION,
    }
    assert not CalagopusClient.deletes_servers_with_user
    # Any 30 s holds at most default_rate_limit requests of the 60 s window: under the panel's 359.
    assert CalagopusClient.default_rate_limit < 360 and CalagopusClient.iter_page_size == 100


async def test_what_calagopus_lacks_is_said_in_a_sentence(client: CalagopusClient, sim: CalagopusSimulator) -> None:
    member = sim.add_user(username="member", email="member@example.com")
    cases = [
        (client.change_credits(member.uuid, 5), "Calagopus panels cannot hold credits."),
        (client.change_server_limit(member.uuid, 1), "Calagopus panels cannot set server limits."),
        (client.find_by_discord_id(42), "Calagopus panels cannot record which Discord account a user has."),
    ]
    for operation, sentence in cases:
        with pytest.raises(NotSupported) as refused:
            await operation
        assert str(refused.value) == sentence
    assert sim.requests == []


# --- the panel's own examples -----------------------------------------------------------------------------------

# Reference C.9: the create answer as the panel's source writes it.
REFERENCE_USER = {
    "uuid": "0f8c7f3e-4b1a-4c7e-9a55-2d8f1f0b6a11",
    "external_id": "whmcs-42",
    "username": "alice_1",
    "role": None,
    "avatar": None,
    "email": "alice@example.com",
    "name_first": "Alice",
    "name_last": "Liddell",
    "admin": False,
    "frozen": False,
    "suspended": False,
    "totp_enabled": False,
    "totp_last_used": None,
    "require_two_factor": False,
    "language": "en",
    "toast_position": "top_right",
    "start_on_grouped_servers": False,
    "has_password": False,
    "created": "2026-08-22T10:00:00.123456Z",
}


def seed_user_fields() -> list[str]:
    """The field names seed 004 lists under "User object fields" (each name is followed by its type line)."""
    section = SEED.read_text().split("User object fields", 1)[1]
    lines = [line.strip() for line in section.splitlines() if line.strip()]
    return [
        name
        for name, kind in itertools.pairwise(lines)
        if re.fullmatch(r"[a-z_]+", name) and (kind.split(" ")[0] in {"string", "boolean", "object"})
    ]


def seed_create_example() -> dict[str, Any]:
    """The JSON body of the seed's curl example for creating a user."""
    return json.loads(re.search(r"-d '(\{.*?\})'", SEED.read_text(), re.S)[1])


def test_seed_004_lists_the_fields_we_read() -> None:
    fields = seed_user_fields()
    assert fields == [
        "uuid",
        "external_id",
        "username",
        "email",
        "name_first",
        "name_last",
        "admin",
        "totp_enabled",
        "language",
        "role",
        "created",
    ]
    assert set(fields) <= set(REFERENCE_USER)


@pytest.mark.parametrize("shape", ["reference", "seed fields only", "seed role object"])
def test_the_documented_user_objects_parse_unchanged(shape: str) -> None:
    example = dict(REFERENCE_USER)
    if shape != "reference":
        example = {name: REFERENCE_USER[name] for name in seed_user_fields()}
    if shape == "seed role object":
        example["role"] = {"uuid": "9b1d", "name": "Support", "admin_permissions": ["users.read"]}
    user = CalagopusClient("https://panel.example.com", "c7sp_" + "x" * 43)._user(example)
    assert isinstance(user, PanelUser)
    assert user.raw == example
    assert (user.id, user.uuid) == (example["uuid"], example["uuid"])
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "alice_1",
        "alice@example.com",
        "Alice",
        "Liddell",
    )
    assert (user.admin, user.two_factor, user.language, user.external_id) == (False, False, "en", "whmcs-42")
    assert user.created_at == datetime.fromisoformat("2026-08-22T10:00:00.123456+00:00")
    assert user.role == (None if shape != "seed role object" else "Support")
    assert user.suspended is (False if shape == "reference" else None)


async def test_the_seeds_create_example_lacks_what_the_current_panel_requires(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    # The seed documents `admin` as defaulting to false and `language` as optional; the source (release 1.1.4) has
    # no serde default for either, so its example body is refused. The client always sends both.
    example = seed_create_example()
    assert example == {
        "username": "newuser",
        "email": "newuser@example.com",
        "name_first": "New",
        "name_last": "User",
        "admin": False,
    }
    headers = {"Authorization": f"Bearer {sim.api_key}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{sim.url}/api/admin/users", json=example, headers=headers) as answer,
    ):
        assert answer.status == 400
        assert "missing field `language`" in (await answer.json())["errors"][0]
    user = await client.create_user(NewUser(**{"first_name": "New", "last_name": "User", **example}))
    assert user.language == "en" and requests_to(sim, "POST")[-1].json["language"] == "en"


def test_nested_error_documents_are_decoded() -> None:
    body = {"errors": ['{"errors":["username: length is lower than 3","language: invalid language: xx"]}', "plain"]}
    assert error_messages(body) == ["username: length is lower than 3", "language: invalid language: xx", "plain"]
    assert error_messages({"errors": ["{not json"]}) == ["{not json"]
    assert error_messages(None) == []


# --- reading ----------------------------------------------------------------------------------------------------


async def test_list_users_pages_and_totals(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim.seed_users(120)
    first = await client.list_users(page=1, per_page=50)
    last = await client.list_users(page=3, per_page=50)
    assert (first.total, first.total_pages, first.page, first.per_page) == (121, 3, 1, 50)
    assert len(first.items) == 50 and first.has_next
    assert len(last.items) == 21 and not last.has_next
    assert first.items[0].username == "admin" and first.items[0].admin
    capped = await client.list_users(per_page=500)
    assert capped.per_page == 100 and requests_to(sim, "GET")[-1].query["per_page"] == "100"


async def test_a_page_past_the_end_is_empty(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    past = await client.list_users(page=5, per_page=50)
    assert past.items == [] and past.total == 0 and not past.has_next


async def test_iter_users_reads_every_page_with_few_requests(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim.seed_users(250)
    sim.requests.clear()
    ids = [user.id async for user in client.iter_users()]
    assert len(ids) == 251 == len(set(ids))
    assert [r.query["per_page"] for r in sim.requests] == ["100"] * 3


async def test_search_is_a_substring_match_and_find_user_is_exact(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    target = sim.add_user(username="a_b", email="A_B@Example.com", external_id="ext/42")
    sim.add_user(username="axb", email="axb@example.com")
    sim.add_user(username="a_bc", email="abc@example.com")
    listed = await client.list_users(search="a_b")
    assert sorted(u.username for u in listed.items) == ["a_b", "a_bc", "axb"]  # `_` is a wildcard on the panel
    assert (await client.find_user("A_B")).id == target.uuid
    assert (await client.find_user("a_b@example.com")).id == target.uuid
    assert (await client.find_user("ext/42")).id == target.uuid
    assert await client.find_user("EXT/42") is None  # external ids are compared as they are
    assert await client.find_user("a_") is None
    assert await client.find_user("   ") is None


async def test_find_user_by_an_email_longer_than_the_search_limit(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    address = "a" * 140 + "@example.com"
    target = sim.add_user(username="longmail", email=address)
    assert (await client.find_user(address)).id == target.uuid
    assert all(len(r.query.get("search", "")) <= 128 for r in sim.requests)


async def test_get_user_has_every_field(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    support = sim.add_role("Support", admin_permissions=("users.read",))
    sim_user = sim.add_user(
        username="maria",
        email="Maria@Example.com",
        name_first="Maria",
        name_last="Lopez",
        external_id="whmcs-7",
        language="de",
        totp_enabled=True,
        role_uuid=support,
    )
    user = await client.get_user(sim_user.uuid)
    assert (user.id, user.uuid) == (sim_user.uuid, sim_user.uuid)
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "maria",
        "Maria@Example.com",
        "Maria",
        "Lopez",
    )
    assert (user.external_id, user.language, user.role) == ("whmcs-7", "de", "Support")
    assert (user.admin, user.two_factor, user.suspended) == (False, True, False)
    assert user.created_at is not None and user.created_at.utcoffset().total_seconds() == 0
    assert user.raw["has_password"] is False


async def test_get_user_unknown_and_malformed_ids(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    with pytest.raises(NotFound):
        await client.get_user("0f8c7f3e-4b1a-4c7e-9a55-2d8f1f0b6a11")
    sim.requests.clear()
    for bad in ("42", "../users", "0f8c7f3e-4b1a-4c7e-9a55"):
        with pytest.raises(NotFound, match="ids are UUIDs"):
            await client.get_user(bad)
    assert sim.requests == []  # never sent
    braced = await client.get_user("{" + sim.admin.uuid.upper() + "}")
    assert braced.id == sim.admin.uuid and requests_to(sim, "GET")[-1].path.endswith(sim.admin.uuid)


async def test_external_id_lookup(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    target = sim.add_user(username="member", email="member@example.com", external_id="billing/7 x")
    assert (await client.get_user_by_external_id("billing/7 x")).id == target.uuid
    assert await client.get_user_by_external_id("billing") is None
    assert await client.get_user_by_external_id("") is None


# --- writing ----------------------------------------------------------------------------------------------------


async def test_create_user_returns_the_new_account(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    user = await client.create_user(new_user(password="hunter2hunter2", external_id="billing-1"))
    assert (user.username, user.email, user.external_id, user.language) == (
        "New_User",
        "new@example.com",
        "billing-1",
        "en",
    )
    assert sim.users[user.id].password_matches("hunter2hunter2")
    assert "hunter2" not in str(user.raw)
    assert requests_to(sim, "POST")[0].json == {
        "username": "New_User",
        "email": "new@example.com",
        "name_first": "New",
        "name_last": "User",
        "admin": False,
        "language": "en",
        "password": "hunter2hunter2",
        "external_id": "billing-1",
    }


async def test_create_user_in_another_language_and_as_admin(sim: CalagopusSimulator) -> None:
    async with CalagopusClient(sim.url, sim.api_key, options=OPTIONS, default_language="de") as panel:
        german = await panel.create_user(new_user())
        admin = await panel.create_user(new_user(username="boss", email="boss@example.com", admin=True, language="fr"))
    assert german.language == "de" and not german.admin
    assert admin.language == "fr" and admin.admin and sim.users[admin.id].admin


async def test_create_user_is_checked_before_the_request(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    with pytest.raises(ValidationFailed) as failure:
        await client.create_user(NewUser(email="not-an-email", username="a-b", first_name=" ", password="   "))
    assert failure.value.fields == {
        "email": ["The email must be a valid email address."],
        "password": ["The password must not be empty or only spaces."],
        "username": ["The username must be 3 to 15 characters: letters, digits and underscores only."],
        "first_name": ["The first name field is required."],
        "last_name": ["The last name field is required."],
    }
    with pytest.raises(ValidationFailed, match="external id may not be longer than 255"):
        await client.create_user(new_user(external_id="x" * 256))
    assert sim.requests == []


async def test_create_user_reports_the_panels_field_messages(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    with pytest.raises(ValidationFailed) as failure:
        await client.create_user(new_user(language="xx"))
    assert failure.value.fields == {"language": ["invalid language: xx"]}
    assert failure.value.status == 400 and not isinstance(failure.value, Conflict)
    assert "language: invalid language: xx" in str(failure.value)
    with pytest.raises(ValidationFailed) as renamed:
        await client.update_user(sim.admin.uuid, UserChanges(language="qq"))
    assert renamed.value.fields == {"language": ["invalid language: qq"]}


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"username": "TAKEN"}, {"username": ["The username is already taken by another account."]}),
        ({"email": "Taken@Example.com"}, {"email": ["The email is already taken by another account."]}),
        ({"external_id": "ext-1"}, {"external_id": ["The external id is already taken by another account."]}),
        (
            {"username": "taken", "email": "taken@example.com"},
            {
                "username": ["The username is already taken by another account."],
                "email": ["The email is already taken by another account."],
            },
        ),
    ],
)
async def test_create_user_taken_values_are_conflicts_naming_the_field(
    sim: CalagopusSimulator, client: CalagopusClient, overrides: dict[str, str], fields: dict[str, list[str]]
) -> None:
    sim.add_user(username="taken", email="taken@example.com", external_id="ext-1")
    with pytest.raises(Conflict) as conflict:
        await client.create_user(new_user(**overrides))
    assert conflict.value.fields == fields and conflict.value.status == 409
    assert len(sim.users) == 2


async def test_a_conflict_the_lookups_cannot_explain_still_reads_well(sim: CalagopusSimulator) -> None:
    sim.add_user(username="taken", email="taken@example.com")
    only_create = sim.create_api_key(sim.admin.uuid, admin_permissions=("users.create",))
    async with client_for(sim, only_create) as panel:
        with pytest.raises(Conflict) as conflict:
            await panel.create_user(new_user(username="taken"))
    assert conflict.value.fields == {}
    assert str(conflict.value) == "The panel says one of these is already taken by another account: username, email."


async def test_update_one_field_sends_only_it_and_reads_the_user_back(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    sim_user = sim.add_user(username="keep", email="keep@example.com", name_first="Kee", name_last="P")
    sim.requests.clear()
    user = await client.update_user(sim_user.uuid, UserChanges(last_name="Changed"))
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "keep",
        "keep@example.com",
        "Kee",
        "Changed",
    )
    assert requests_to(sim, "PATCH")[0].json == {"name_last": "Changed"}
    assert [(r.method, r.status) for r in sim.requests] == [("PATCH", 200), ("GET", 200)]


async def test_update_clears_external_id_and_sets_admin_password_and_names(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    sim_user = sim.add_user(username="edit", email="edit@example.com", external_id="old", password="oldpassword")
    user = await client.update_user(
        sim_user.uuid, UserChanges(external_id=None, admin=True, password="newpassword1", first_name="Ed")
    )
    assert user.external_id is None and user.admin is True and user.first_name == "Ed"
    assert sim_user.password_matches("newpassword1")
    await client.update_user(sim_user.uuid, UserChanges(password=None, external_id=""))
    assert requests_to(sim, "PATCH")[-1].json == {"external_id": None}
    assert sim_user.password_matches("newpassword1")  # None never removes the password


async def test_update_to_a_taken_value_is_a_conflict_but_not_ones_own(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    sim.add_user(username="taken", email="taken@example.com", external_id="x-1")
    sim_user = sim.add_user(username="mine", email="mine@example.com")
    with pytest.raises(Conflict) as conflict:
        await client.update_user(sim_user.uuid, UserChanges(username="Taken", external_id="x-1"))
    assert conflict.value.fields == {
        "username": ["The username is already taken by another account."],
        "external_id": ["The external id is already taken by another account."],
    }
    assert sim_user.username == "mine"
    with pytest.raises(Conflict) as only_email:  # the username sent is the user's own: not reported
        await client.update_user(sim_user.uuid, UserChanges(username="Mine", email="taken@example.com"))
    assert only_email.value.fields == {"email": ["The email is already taken by another account."]}
    assert (await client.update_user(sim_user.uuid, UserChanges(username="MINE"))).username == "MINE"


async def test_update_without_changes_sends_nothing(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim_user = sim.add_user(username="same", email="same@example.com")
    assert (await client.update_user(sim_user.uuid, UserChanges())).username == "same"
    assert (await client.update_user(sim_user.uuid, UserChanges(email=None))).email == "same@example.com"
    assert requests_to(sim, "PATCH") == []
    with pytest.raises(ValidationFailed, match="first name field is required"):
        await client.update_user(sim_user.uuid, UserChanges(first_name=""))
    with pytest.raises(NotFound):
        await client.update_user("0f8c7f3e-4b1a-4c7e-9a55-2d8f1f0b6a11", UserChanges(first_name="X"))


async def test_delete_user(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim_user = sim.add_user(username="gone", email="gone@example.com")
    await client.delete_user(sim_user.uuid)
    assert sim_user.uuid not in sim.users
    with pytest.raises(NotFound):
        await client.delete_user(sim_user.uuid)


async def test_delete_user_who_owns_servers_is_refused(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim_user = sim.add_user(username="owner", email="owner@example.com")
    sim.add_server(sim_user.uuid)
    with pytest.raises(UserHasServers, match="owns servers"):
        await client.delete_user(sim_user.uuid)
    assert sim_user.uuid in sim.users


async def test_suspend_and_unsuspend(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim_user = sim.add_user(username="naughty", email="naughty@example.com")
    member_key = sim.create_api_key(sim_user.uuid)
    suspended = await client.suspend_user(sim_user.uuid, reason="spam")
    assert suspended.suspended is True and sim_user.suspended
    assert requests_to(sim, "PATCH")[-1].json == {"suspended": True}
    async with client_for(sim, member_key) as members_own:
        with pytest.raises(Forbidden, match="suspended"):
            await members_own.list_users()
    assert (await client.unsuspend_user(sim_user.uuid)).suspended is False


# --- proof of ownership -----------------------------------------------------------------------------------------


async def test_account_for_a_members_key(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim_user = sim.add_user(username="member", email="member@example.com", external_id="e-1")
    key = sim.create_client_key(sim_user.uuid)  # no permissions at all: the account route needs none
    user = await client.account_for_key(f"  {key}\n")
    assert user.id == sim_user.uuid and user.external_id == "e-1"  # the admin view, with the external id
    assert sim.key_record(key).last_used is not None


async def test_account_for_a_wrong_revoked_or_malformed_key(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim_user = sim.add_user(username="member", email="member@example.com")
    key = sim.create_client_key(sim_user.uuid)
    with pytest.raises(Unauthorized, match="wrong, expired or was deleted"):
        await client.account_for_key(key[:-1] + ("a" if key[-1] != "a" else "b"))
    sim.revoke_key(key)
    with pytest.raises(Unauthorized, match="wrong, expired or was deleted"):
        await client.account_for_key(key)
    sim.requests.clear()
    for malformed, reason in [
        (key[:-1], "48 characters long .* this one has 47"),
        ("two words" + "x" * 39, "only contain letters"),
        (key[:-1] + "é", "only contain letters"),
    ]:
        with pytest.raises(Unauthorized, match=reason):
            await client.account_for_key(malformed)
    assert sim.requests == []  # refused before the panel


async def test_account_for_a_key_fenced_to_other_addresses(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim_user = sim.add_user(username="member", email="member@example.com")
    key = sim.create_api_key(sim_user.uuid, allowed_ips=["10.9.9.9/32"])
    with pytest.raises(Forbidden, match="certain IP addresses"):
        await client.account_for_key(key)


# --- keys and permissions ---------------------------------------------------------------------------------------


async def test_refused_keys_say_why(sim: CalagopusSimulator) -> None:
    member = sim.add_user(username="plain", email="plain@example.com")
    cases = [
        (sim.api_key + "x", Unauthorized, "exactly 48 characters"),
        ("c7sp_" + "x" * 43, Unauthorized, "wrong, expired or was deleted"),
        (sim.create_api_key(member.uuid), Forbidden, "neither a Calagopus admin nor holds a role"),
        (sim.create_api_key(sim.admin.uuid, allowed_ips=["10.0.0.0/8"]), Forbidden, "certain IP addresses"),
    ]
    for key, error, text in cases:
        async with client_for(sim, key) as panel:
            with pytest.raises(error, match=text):
                await panel.list_users()


async def test_a_403_names_the_missing_permission(sim: CalagopusSimulator) -> None:
    member = sim.add_user(username="member", email="member@example.com")
    read_only = sim.create_api_key(sim.admin.uuid, admin_permissions=("users.read",))
    async with client_for(sim, read_only) as panel:
        await panel.list_users()
        for operation, permission in [
            (panel.create_user(new_user()), "users.create"),
            (panel.update_user(member.uuid, UserChanges(first_name="X")), "users.update"),
            (panel.delete_user(member.uuid), "users.delete"),
        ]:
            with pytest.raises(Forbidden) as refused:
                await operation
            assert str(refused.value) == (
                f"The API key lacks the {permission} permission: add it to the key's admin permissions on the panel "
                "(its owner must hold it too)."
            )
    assert member.name_first == "First" and member.uuid in sim.users


async def test_a_role_based_admin_may_not_make_admins(sim: CalagopusSimulator) -> None:
    support = sim.add_role("Support", admin_permissions=("users.read", "users.create", "users.update"))
    staff = sim.add_user(username="staff", email="staff@example.com", role_uuid=support)
    async with client_for(sim, sim.create_api_key(staff.uuid)) as panel:
        assert (await panel.create_user(new_user())).admin is False
        with pytest.raises(Forbidden, match="Only a full Calagopus admin may create admins"):
            await panel.create_user(new_user(username="boss", email="boss@example.com", admin=True))
        with pytest.raises(Forbidden, match="Only a full Calagopus admin may change an admin's account"):
            await panel.update_user(sim.admin.uuid, UserChanges(first_name="X"))


async def test_key_permissions_are_the_keys_bounded_by_its_owner(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    assert await client.key_permissions() == sorted(
        [
            "users.create",
            "users.read",
            "users.update",
            "users.disable-two-factor",
            "users.delete",
            "users.email",
            "users.activity",
            "users.oauth-links",
            "users.impersonate",
        ]
    )
    support = sim.add_role("Support", admin_permissions=("users.read", "users.update", "nodes.read"))
    staff = sim.add_user(username="staff", email="staff@example.com", role_uuid=support)
    staff_key = sim.create_api_key(staff.uuid, admin_permissions=("users.read", "users.delete", "nodes.read"))
    async with client_for(sim, staff_key) as panel:
        assert await panel.key_permissions() == ["nodes.read", "users.read"]
    unreadable = sim.create_api_key(sim.admin.uuid, user_permissions=())
    async with client_for(sim, unreadable) as panel:
        assert await panel.key_permissions() is None


async def test_check_reports_what_the_key_lacks(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    healthy = await client.check()
    assert healthy.ok and healthy.users_total == 1
    assert healthy.detail == (
        "reachable, key accepted, 1 users; the key holds users.read, users.create, users.update, users.delete"
    )
    partial = sim.create_api_key(sim.admin.uuid, admin_permissions=("users.read", "users.update"))
    async with client_for(sim, partial) as panel:
        report = await panel.check()
    assert report.ok and report.detail.endswith("; the key lacks users.create, users.delete")
    unreadable = sim.create_api_key(sim.admin.uuid, user_permissions=())
    async with client_for(sim, unreadable) as panel:
        assert "give the key api-keys.read" in (await panel.check()).detail
    no_read = sim.create_api_key(sim.admin.uuid, admin_permissions=("users.create",))
    async with client_for(sim, no_read) as panel:
        refused = await panel.check()
    assert refused.reachable and not refused.ok and "lacks the users.read permission" in refused.detail
    async with client_for(sim, "c7sp_short") as panel:
        bad = await panel.check()
    assert bad.reachable and bad.key_accepted is False and "(401)" in bad.detail and "48 characters" in bad.detail


# --- transport: rate limits, retries, faults --------------------------------------------------------------------


async def test_a_429_is_waited_out() -> None:
    async with CalagopusSimulator(rate_limit=3, rate_window=1.0) as sim, client_for(sim, sim.api_key) as panel:
        started = time.monotonic()
        for _ in range(4):
            await panel.list_users(per_page=1)
        elapsed = time.monotonic() - started
        statuses = [r.status for r in sim.requests]
    assert statuses.count(429) == 1 and statuses.count(200) == 4
    assert elapsed >= 0.5


async def test_a_long_429_is_raised_with_when_to_retry() -> None:
    async with CalagopusSimulator(rate_limit=2, rate_window=120) as sim, client_for(sim, sim.api_key) as panel:
        await panel.list_users()
        with pytest.raises(RateLimited) as limited:
            await panel.list_users()
    assert 100 < limited.value.retry_after <= 120
    assert "try again in" in str(limited.value)


async def test_a_5xx_is_retried_for_a_read(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 2, 503
    assert (await client.get_user(sim.admin.uuid)).username == "admin"
    assert [r.status for r in sim.requests] == [503, 503, 200]


async def test_a_5xx_is_not_retried_for_a_create(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim.faults.fail_next = 1
    with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
        await client.create_user(new_user())
    assert len(requests_to(sim, "POST")) == 1 and len(sim.users) == 1


async def test_a_dropped_connection_is_retried_for_a_read_only(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    sim.faults.drop_next = 1
    assert (await client.list_users()).total == 1
    sim.faults.drop_next = 1
    with pytest.raises(PanelUnavailable):
        await client.create_user(new_user())
    assert len(requests_to(sim, "POST")) == 1 and len(sim.users) == 1


async def test_a_proxy_error_page_is_retried(sim: CalagopusSimulator, client: CalagopusClient) -> None:
    sim.faults.html_errors_next = 1
    assert (await client.list_users()).total == 1
    assert [r.status for r in sim.requests] == [502, 200]


async def test_a_read_answered_once_with_a_cut_short_body_is_asked_again(
    sim: CalagopusSimulator, client: CalagopusClient
) -> None:
    sim.faults.malformed_next = 1
    assert [user.username for user in (await client.list_users()).items] == ["admin"]
    assert [r.status for r in sim.requests] == [200, 200]


async def test_a_wrong_base_url_is_explained(sim: CalagopusSimulator) -> None:
    async with CalagopusClient(sim.url + "/panel", sim.api_key, options=OPTIONS) as panel:
        with pytest.raises(PanelError, match="no such API route") as refused:
            await panel.list_users()
    assert type(refused.value) is PanelError


async def test_a_panel_that_is_down(unused_tcp_port: int) -> None:
    async with CalagopusClient(f"http://127.0.0.1:{unused_tcp_port}", "c7sp_" + "x" * 43, options=OPTIONS) as panel:
        with pytest.raises(PanelUnavailable, match="Could not connect to the Calagopus panel"):
            await panel.list_users()
        report = await panel.check()
    assert not report.reachable and not report.ok


async def test_the_api_keys_never_reach_logs_or_errors(
    sim: CalagopusSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = sim.api_key
    sim.faults.fail_next = 1
    async with client_for(sim, secret) as panel:
        await panel.list_users()
        member = sim.add_user(username="m_1", email="m@example.com")
        client_key = sim.create_client_key(member.uuid)
        await panel.account_for_key(client_key)
        sim.revoke_key(client_key)
        with pytest.raises(Unauthorized) as refused:
            await panel.account_for_key(client_key)
        assert secret not in repr(panel)
    assert caplog.records  # the transport did log the requests
    for text in (caplog.text, str(refused.value), repr(refused.value)):
        assert secret not in text and client_key not in text
        assert secret[16:] not in text and client_key[16:] not in text


# --- the checks agree with the panel --------------------------------------------------------------------------------
# create_user and update_user check first, so what the panel says is asked of it directly.


async def test_a_short_password_is_fine_on_create_but_not_on_update(
    sim: CalagopusSimulator, client: CalagopusClient, http: aiohttp.ClientSession
) -> None:
    assert client.check_new_user(new_user(password="abc")) == {}  # garde: 1–512 on create
    created = await client.create_user(new_user(password="abc"))
    assert sim.users[created.id].password_matches("abc")
    assert client.check_changes(UserChanges(password="short12")) == {
        "password": ["The password must be at least 8 characters."]  # 8–512 on update
    }
    answer = await call(http, sim, "PATCH", f"/api/admin/users/{created.id}", body={"password": "short12"})
    assert answer.status == 400 and error_messages(answer.json()) == ["password: length is lower than 8"]
    assert client.check_changes(UserChanges(password="longer12")) == {}
    await client.update_user(created.id, UserChanges(password="longer12"))
    assert sim.users[created.id].password_matches("longer12")


async def test_a_language_code_of_one_letter_is_refused_as_the_panel_does(
    sim: CalagopusSimulator, client: CalagopusClient, http: aiohttp.ClientSession
) -> None:
    assert list(client.check_new_user(new_user(language="x"))) == ["language"]
    body = {"username": "lang1", "email": "l@example.com", "name_first": "L", "name_last": "X", "admin": False}
    answer = await call(http, sim, "POST", "/api/admin/users", body={**body, "language": "x"})
    assert answer.status == 400 and "language: length is lower than 2" in error_messages(answer.json())
    assert client.check_new_user(new_user(language="de")) == {}

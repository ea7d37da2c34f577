"""The Convoy client against the Convoy simulator over loopback: every operation and every refusal."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
    Unauthorized,
    UserChanges,
    UserHasServers,
    ValidationFailed,
)
from panel_api.convoy import ConvoyClient
from panel_api.transport import TransportOptions
from simulators.convoy import ConvoySimulator
from simulators.laravel import RecordedRequest
from tests.conftest import FAST
from tests.panel_api.agreement import create_agrees, update_agrees

SEED = Path(__file__).parent.parent / "data" / "seeds" / "003_b479e22abfe35456.txt"


def client_for(sim: ConvoySimulator, key: str | None = None, **options: Any) -> ConvoyClient:
    settings = {"rate_limit": ConvoyClient.default_rate_limit, **FAST, **options}
    return ConvoyClient(sim.url, key or sim.api_key, options=TransportOptions(**settings))


@pytest.fixture
async def convoy() -> AsyncIterator[ConvoySimulator]:
    async with ConvoySimulator() as sim:
        yield sim


@pytest.fixture
async def client(convoy: ConvoySimulator) -> AsyncIterator[ConvoyClient]:
    async with client_for(convoy) as panel:
        yield panel


def requests_to(sim: ConvoySimulator, method: str) -> list[RecordedRequest]:
    return [r for r in sim.requests if r.method == method]


def new_user(**overrides: Any) -> NewUser:
    fields: dict[str, Any] = {"email": "new@example.com", "username": "New User", "password": "hunter2hunter2"}
    return NewUser(**{**fields, **overrides})


# --- reading ----------------------------------------------------------------------------------------------------


async def test_list_users_pages_and_totals(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.seed_users(120)
    first = await client.list_users(page=1, per_page=50)
    last = await client.list_users(page=3, per_page=50)
    assert (first.total, first.total_pages, first.page, first.per_page) == (121, 3, 1, 50)
    assert len(first.items) == 50 and first.has_next
    assert len(last.items) == 21 and not last.has_next
    admin = first.items[0]
    assert (admin.username, admin.email, admin.admin, admin.servers_count) == ("Admin", "admin@example.com", True, 0)


async def test_per_page_never_exceeds_the_panels_cap(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.seed_users(150)
    page = await client.list_users(per_page=500)
    assert (page.per_page, len(page.items), page.total_pages) == (100, 100, 2)
    assert convoy.requests[-1].query["per_page"] == "100"


async def test_search_is_the_panels_search_box(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    jobs = convoy.add_user(username="Steve Jobs", email="sj@apple.example")
    convoy.add_user(username="Stevenson", email="other@example.com")
    alex = convoy.add_user(username="Alex", email="alex@steve.example")
    by_name = await client.list_users(search="steve")
    by_email = await client.list_users(search="ALEX@steve.example")
    by_id = await client.list_users(search=str(jobs.id))
    assert [u.username for u in by_name.items] == ["Steve Jobs", "Stevenson"]  # an email is matched whole only
    assert [u.id for u in by_email.items] == [str(alex.id)]
    assert [u.id for u in by_id.items] == [str(jobs.id)]
    assert all("filter[*]" in r.query for r in convoy.requests)


async def test_search_with_a_comma_uses_the_name_filter(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.add_user(username="Alex", email="a@example.com")
    convoy.add_user(username="Steve", email="s@example.com")
    page = await client.list_users(search="alex,steve")  # `filter[*]` would answer 500
    assert sorted(u.username for u in page.items) == ["Alex", "Steve"]
    assert convoy.requests[-1].query["filter[name]"] == "alex,steve"


async def test_iter_users_reads_every_page_with_few_requests(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.seed_users(249)
    convoy.requests.clear()
    ids = [user.id async for user in client.iter_users()]
    assert len(ids) == 250 == len(set(ids))
    assert [r.query["per_page"] for r in convoy.requests] == ["100", "100", "100"]


async def test_get_user_has_every_field_convoy_has(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    sim_user = convoy.add_user(username="Maria Lopez", email="Maria@Example.com", email_verified=True)
    convoy.add_server(sim_user.id)
    convoy.add_server(sim_user.id)
    user = await client.get_user(str(sim_user.id))
    assert (user.id, user.username, user.email) == (str(sim_user.id), "Maria Lopez", "Maria@Example.com")
    assert user.admin is False and user.servers_count == 2
    assert user.first_name is None and user.external_id is None and user.uuid is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z", user.raw["email_verified_at"])


async def test_get_user_unknown_and_malformed_ids(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    with pytest.raises(NotFound) as missing:
        await client.get_user("999")
    assert str(missing.value) == "No such user on the panel."
    convoy.requests.clear()
    for user_id in ("1abc", "../1", "1.0", "١"):  # the panel would read "1abc" and "1.0" as user 1
        with pytest.raises(NotFound, match="ids are numbers"):
            await client.get_user(user_id)
    assert convoy.requests == []


async def test_find_user_is_exact_despite_partial_filters(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.add_user(username="axb", email="axb@example.com")
    target = convoy.add_user(username="a_b", email="Target@Example.com")
    convoy.add_user(username="a_bc", email="abc@example.com")
    named_like_mail = convoy.add_user(username="bob@home", email="bob@example.com")
    assert (await client.find_user("A_B")).id == str(target.id)  # `_` is a LIKE wildcard on the panel
    assert (await client.find_user("target@example.COM")).id == str(target.id)
    assert (await client.find_user("bob@home")).id == str(named_like_mail.id)
    assert await client.find_user("a") is None
    assert await client.find_user("nobody@example.com") is None
    assert await client.find_user("   ") is None


async def test_find_user_refuses_to_guess_between_namesakes(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.add_user(username="Sam", email="sam1@example.com")
    convoy.add_user(username="sam", email="sam2@example.com")
    with pytest.raises(NotFound, match="2 users on the Convoy panel are named 'Sam'; give the account's email"):
        await client.find_user("Sam")
    assert (await client.find_user("sam2@example.com")).email == "sam2@example.com"


# --- writing ----------------------------------------------------------------------------------------------------


async def test_create_user_returns_the_new_account(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    user = await client.create_user(new_user(first_name="Ignored", last_name="Too", admin=True))
    assert (user.username, user.email, user.admin, user.servers_count) == ("New User", "new@example.com", True, 0)
    stored = convoy.users[int(user.id)]
    assert stored.password_matches("hunter2hunter2")
    post = requests_to(convoy, "POST")[0]
    assert post.status == 200  # Convoy answers a create with 200, not 201
    assert post.json == {
        "name": "New User",
        "email": "new@example.com",
        "root_admin": True,
        "password": "hunter2hunter2",
    }
    assert "hunter2" not in str(user.raw)


async def test_create_user_reports_the_panels_field_messages(client: ConvoyClient) -> None:
    with pytest.raises(ValidationFailed) as failure:
        await client.create_user(new_user(email="not-an-email", username="x" * 192, password="short"))
    assert failure.value.fields == {
        "username": ["The name field must be between 1 and 191 characters."],
        "email": ["The email field must be a valid email address."],
        "password": ["The password field must be at least 8 characters."],
    }
    assert not isinstance(failure.value, Conflict)


async def test_a_password_is_required_and_checked_before_sending(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    without = new_user(password=None)
    assert client.check_new_user(without) == {"password": ["The password field is required."]}
    assert client.check_new_user(new_user(username="y" * 192, email=f"{'e' * 190}@x.io")) == {
        "username": ["The name field must be between 1 and 191 characters."],
        "email": ["The email field must be between 1 and 191 characters."],
    }
    assert client.check_new_user(new_user()) == {}
    assert client.check_changes(UserChanges(email="fine@example.com")) == {}
    with pytest.raises(ValidationFailed) as failure:  # and the panel agrees
        await client.create_user(without)
    assert failure.value.fields == {"password": ["The password field is required."]}
    assert len(convoy.users) == 1


async def test_create_user_taken_email_is_a_conflict(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.add_user(username="First", email="Taken@Example.com")
    with pytest.raises(Conflict) as conflict:
        await client.create_user(new_user(email="taken@example.com"))
    assert conflict.value.fields == {"email": ["The email has already been taken."]}
    assert conflict.value.status == 422


async def test_create_refuses_what_convoy_cannot_store(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    with pytest.raises(NotSupported, match=r"^Convoy panels cannot store a language per user\.$"):
        await client.create_user(new_user(language="de"))
    with pytest.raises(NotSupported, match=r"^Convoy panels cannot store an external id\.$"):
        await client.create_user(new_user(external_id="billing-1"))
    assert convoy.requests == []


async def test_update_one_field_sends_the_rest_back(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    sim_user = convoy.add_user(username="Keep Me", email="keep@example.com", password="oldpassword")
    convoy.add_server(sim_user.id)
    convoy.requests.clear()
    user = await client.update_user(str(sim_user.id), UserChanges(email="changed@example.com"))
    assert (user.username, user.email, user.admin, user.servers_count) == ("Keep Me", "changed@example.com", False, 1)
    put = requests_to(convoy, "PUT")[0]
    # Convoy writes name, email and root_admin on every update; a missing one is a 422 or a 500.
    assert put.json == {"name": "Keep Me", "email": "changed@example.com", "root_admin": False}
    assert convoy.users[sim_user.id].password_matches("oldpassword")


async def test_update_username_password_and_admin(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    sim_user = convoy.add_user(username="Edit", email="edit@example.com")
    user = await client.update_user(
        str(sim_user.id), UserChanges(username="Edited Name", admin=True, password="newpassword1")
    )
    assert (user.username, user.admin) == ("Edited Name", True)
    assert convoy.users[sim_user.id].password_matches("newpassword1")
    assert "newpassword1" not in str(user.raw)


async def test_demoting_the_keys_owner_deletes_the_key(convoy: ConvoySimulator) -> None:
    boss = convoy.add_user(username="Boss", email="boss@example.com", root_admin=True)
    async with client_for(convoy, convoy.create_api_key(boss.id)) as bosses_client:
        demoted = await bosses_client.update_user(str(boss.id), UserChanges(admin=False))
        assert demoted.admin is False
        with pytest.raises(Unauthorized, match="stop being a root admin"):
            await bosses_client.list_users()


async def test_update_refuses_what_convoy_cannot_store(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    cases = [
        (UserChanges(first_name="X"), "store first or last names"),
        (UserChanges(last_name="Y", email="a@example.com"), "store first or last names"),
        (UserChanges(language="de"), "store a language per user"),
        (UserChanges(external_id=None), "store an external id"),
    ]
    for changes, what in cases:
        with pytest.raises(NotSupported) as refused:
            await client.update_user("1", changes)
        assert str(refused.value) == f"Convoy panels cannot {what}."
    assert convoy.requests == []


async def test_update_without_changes_sends_no_put(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    user = await client.update_user("1", UserChanges())
    assert user.username == "Admin"
    assert requests_to(convoy, "PUT") == []


async def test_update_to_a_taken_email_is_a_conflict(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.add_user(username="Other", email="taken@example.com")
    sim_user = convoy.add_user(username="Mine", email="mine@example.com")
    with pytest.raises(Conflict) as conflict:
        await client.update_user(str(sim_user.id), UserChanges(email="TAKEN@example.com"))
    assert conflict.value.fields == {"email": ["The email has already been taken."]}
    assert convoy.users[sim_user.id].email == "mine@example.com"


async def test_update_unknown_user(client: ConvoyClient) -> None:
    with pytest.raises(NotFound):
        await client.update_user("999", UserChanges(username="Nobody"))


async def test_delete_user(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    sim_user = convoy.add_user(username="Gone", email="gone@example.com")
    await client.delete_user(str(sim_user.id))
    assert sim_user.id not in convoy.users
    with pytest.raises(NotFound):
        await client.delete_user(str(sim_user.id))
    with pytest.raises(NotFound, match="ids are numbers"):
        await client.delete_user("2abc")


async def test_delete_user_who_owns_servers_is_refused(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    sim_user = convoy.add_user(username="Owner", email="owner@example.com")
    convoy.add_server(sim_user.id)
    with pytest.raises(UserHasServers, match="owns servers"):
        await client.delete_user(str(sim_user.id))
    assert sim_user.id in convoy.users


# --- what Convoy lacks -------------------------------------------------------------------------------------------


async def test_no_key_owner_lookup_so_linking_goes_through_staff(client: ConvoyClient) -> None:
    assert Capability.ACCOUNT_FOR_KEY not in client.capabilities
    with pytest.raises(NotSupported) as refused:
        await client.account_for_key("1|" + "a" * 40)
    assert str(refused.value) == (
        "Convoy panels cannot tell who owns an API key, so accounts on this panel are linked through a request "
        "that staff approve."
    )


async def test_the_rest_of_what_convoy_lacks(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    assert client.kind is PanelKind.CONVOY and client.display_name == "Convoy"
    assert client.capabilities == {Capability.PASSWORD, Capability.SERVERS_COUNT}
    refusals = [
        (client.suspend_user("1"), "suspend users"),
        (client.unsuspend_user("1"), "suspend users"),
        (client.change_credits("1", 5), "hold credits"),
        (client.change_server_limit("1", 1), "set server limits"),
        (client.get_user_by_external_id("x"), "look users up by external id"),
        (client.find_by_discord_id(1), "record which Discord account a user has"),
    ]
    for call, what in refusals:
        with pytest.raises(NotSupported) as refused:
            await call
        assert str(refused.value) == f"Convoy panels cannot {what}."
    assert convoy.requests == []


# --- keys -------------------------------------------------------------------------------------------------------


async def test_refused_keys(convoy: ConvoySimulator) -> None:
    member = convoy.add_user(username="Plain", email="plain@example.com")
    revoked = convoy.create_api_key()
    convoy.revoke_key(revoked)
    cases = [
        (convoy.api_key.split("|")[0] + "|" + "x" * 40, Unauthorized, "did not accept the API key"),
        (revoked, Unauthorized, "did not accept"),
        ("not a token", Unauthorized, "did not accept"),
        (convoy.create_api_key(member.id, type="account"), Forbidden, "not a root admin"),
        (convoy.create_api_key(member.id), Forbidden, "not a root admin"),
    ]
    for key, error, text in cases:
        async with client_for(convoy, key) as refused_client:
            with pytest.raises(error, match=text):
                await refused_client.list_users()


async def test_any_token_of_a_root_admin_works(convoy: ConvoySimulator) -> None:
    async with client_for(convoy, convoy.create_api_key(type="account")) as account_token_client:
        assert (await account_token_client.list_users()).total == 1


async def test_health_check(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    report = await client.check()
    assert report.ok and report.users_total == 1
    async with client_for(convoy, "1|" + "w" * 40) as wrong:
        bad = await wrong.check()
    assert bad.reachable and bad.key_accepted is False and "401" in bad.detail
    member = convoy.add_user(username="Plain", email="plain@example.com")
    async with client_for(convoy, convoy.create_api_key(member.id)) as not_admin:
        forbidden = await not_admin.check()
    assert forbidden.key_accepted is False and "not a root admin" in forbidden.detail


async def test_a_wrong_base_url_is_not_a_missing_user(convoy: ConvoySimulator) -> None:
    async with ConvoyClient(f"{convoy.url}/convoy", convoy.api_key, options=TransportOptions(**FAST)) as misplaced:
        with pytest.raises(PanelError, match="base address") as wrong:
            await misplaced.get_user("1")
        report = await misplaced.check()
    assert not isinstance(wrong.value, NotFound)
    assert report.reachable and report.key_accepted is None and "base address" in report.detail


# --- transport: retries, faults, pacing --------------------------------------------------------------------------


async def test_a_5xx_is_retried_for_a_read(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.faults.fail_next = 2
    convoy.faults.fail_status = 503
    assert (await client.get_user("1")).username == "Admin"
    assert [r.status for r in convoy.requests] == [503, 503, 200]


async def test_a_5xx_is_not_retried_for_a_create(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.faults.fail_next = 1
    with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
        await client.create_user(new_user())
    assert len(requests_to(convoy, "POST")) == 1
    assert len(convoy.users) == 1


async def test_a_lost_create_answer_says_the_change_may_have_been_made(
    convoy: ConvoySimulator, client: ConvoyClient
) -> None:
    convoy.lose_next_changes = 1
    with pytest.raises(PanelUnavailable, match="answered HTTP 504 while handling a change; it may or may not"):
        await client.create_user(new_user())
    assert [u.email for u in convoy.users.values()] == ["admin@example.com", "new@example.com"]  # it was made
    assert len(requests_to(convoy, "POST")) == 1


async def test_an_update_whose_answer_was_lost_is_sent_again(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    sim_user = convoy.add_user(username="Retry", email="retry@example.com")
    convoy.lose_next_changes = 1
    user = await client.update_user(str(sim_user.id), UserChanges(username="Retried"))
    # PUT replaces name, email and root_admin whole, so sending it again is harmless.
    assert user.username == "Retried" == convoy.users[sim_user.id].name
    assert [(r.method, r.status) for r in convoy.requests] == [("GET", 200), ("PUT", 504), ("PUT", 200)]


async def test_a_delete_whose_answer_was_lost_still_succeeds(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    sim_user = convoy.add_user(username="Gone", email="gone@example.com")
    convoy.lose_next_changes = 1
    await client.delete_user(str(sim_user.id))  # the retry's 404 means the first attempt did it
    assert sim_user.id not in convoy.users
    assert [r.status for r in requests_to(convoy, "DELETE")] == [504, 404]


async def test_a_dropped_connection_is_retried_for_a_read_only(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.faults.drop_next = 2  # aiohttp itself retries a GET once after a drop
    assert (await client.list_users()).total == 1
    convoy.faults.drop_next = 1
    with pytest.raises(PanelUnavailable):
        await client.create_user(new_user())
    assert len(convoy.users) == 1
    assert len(requests_to(convoy, "POST")) == 1


async def test_a_proxy_error_page_is_retried(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.faults.html_errors_next = 1
    assert (await client.list_users()).total == 1
    assert [r.status for r in convoy.requests] == [502, 200]


async def test_a_read_answered_once_with_a_cut_short_body_is_asked_again(
    convoy: ConvoySimulator, client: ConvoyClient
) -> None:
    convoy.faults.malformed_next = 1
    assert (await client.list_users()).total == len(convoy.users)
    assert [r.status for r in convoy.requests] == [200, 200]


async def test_retries_give_up_with_a_clear_message(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    convoy.faults.fail_next = 10
    # (?i): the transport's str.capitalize() lowercases the panel's name in this sentence.
    with pytest.raises(PanelUnavailable, match=r"(?i)the Convoy panel answered HTTP 500; please try again later"):
        await client.get_user("1")
    assert len(convoy.requests) == 4  # the first try and three retries


async def test_the_client_paces_itself_since_convoy_never_pushes_back(convoy: ConvoySimulator) -> None:
    async with client_for(convoy, rate_limit=3, rate_window=0.25) as paced:
        started = time.monotonic()
        for _ in range(4):
            await paced.list_users(per_page=1)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.25
    assert [r.status for r in convoy.requests] == [200] * 4


async def test_the_api_key_never_reaches_logs_or_errors(
    convoy: ConvoySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = convoy.create_api_key()
    secret = key.split("|")[1]
    convoy.faults.fail_next = 1
    async with client_for(convoy, key) as keyed:
        await keyed.list_users()
        convoy.revoke_key(key)
        with pytest.raises(Unauthorized) as refused:
            await keyed.list_users()
        assert secret not in repr(keyed)
    assert caplog.records  # the transport did log the requests
    for text in (caplog.text, str(refused.value), repr(refused.value), repr(convoy.requests)):
        assert secret not in text


# --- the seed document's examples (shared/seeds/003) --------------------------------------------------------------


def seed_blocks() -> list[dict[str, Any]]:
    """Each JSON example of the seed, which marks them with a line saying `json` (no code fences)."""
    text = SEED.read_text()
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(text, marker.end())[0] for marker in re.finditer(r"^json\n", text, re.M)]


def seed_users() -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    for block in seed_blocks():
        data = block.get("data")
        users += data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    return users


def seed_payloads() -> list[dict[str, Any]]:
    return [block for block in seed_blocks() if "data" not in block]


def test_seed_003_has_the_examples_we_expect() -> None:
    # 2 listed users + get + update answer + create answer; an update and a create payload.
    assert len(seed_users()) == 5
    assert len(seed_payloads()) == 2


@pytest.mark.parametrize("example", seed_users(), ids=lambda e: f"user-{e['id']}-{e['name']}")
def test_convoy_seed_user_parses_unchanged(example: dict[str, Any]) -> None:
    user = ConvoyClient("https://panel.example.com", "1|x")._user({"data": example})
    assert isinstance(user, PanelUser)
    assert user.raw == example
    assert user.id == str(example["id"])
    assert user.username == example["name"]
    assert user.email == example["email"]
    assert user.admin is example["root_admin"]
    assert user.servers_count == example["servers_count"]
    assert user.first_name is None and user.external_id is None and user.created_at is None


def test_seed_list_parses_with_links_as_an_object() -> None:
    block = seed_blocks()[0]
    assert block["meta"]["pagination"]["links"] == {}  # the panel's source sends `[]`: both must parse
    page = ConvoyClient("https://panel.example.com", "1|x")._page(block)
    assert [u.username for u in page.items] == ["Mike Hawk", "Crystal Larson"]
    assert (page.total, page.total_pages, page.page, page.per_page) == (37, 1, 1, 50)


async def test_our_bodies_have_the_seeds_payload_fields(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    update_payload, create_payload = seed_payloads()
    created = await client.create_user(new_user())
    await client.update_user(created.id, UserChanges(username="Renamed"))
    (post,) = requests_to(convoy, "POST")
    (put,) = requests_to(convoy, "PUT")
    assert post.json.keys() == create_payload.keys()
    assert put.json.keys() == update_payload.keys() - {"password"}  # null there means "keep the password"
    assert update_payload["password"] is None


# --- the checks agree with the panel --------------------------------------------------------------------------------

# What staff might type, and the field the panel refuses it for (None: the panel takes it, so the check must too).
CONVOY_INPUT = {
    "a password of five characters": ({"password": "short"}, "password"),
    "a password of spaces": ({"password": " " * 10}, "password"),
    "a name of spaces": ({"username": "   "}, "username"),
    "a name of 191 characters once trimmed": ({"username": f"  {'n' * 191}  "}, None),
    "an email padded with spaces": ({"email": "  padded@example.com "}, None),
}


@pytest.mark.parametrize(("change", "field"), CONVOY_INPUT.values(), ids=list(CONVOY_INPUT))
async def test_the_checks_agree_with_convoy(client: ConvoyClient, change: dict, field: str | None) -> None:
    await create_agrees(client, new_user().model_copy(update=change), field)


async def test_the_update_checks_agree_with_convoy(convoy: ConvoySimulator, client: ConvoyClient) -> None:
    member = str(convoy.add_user(username="member", email="member@example.com").id)
    await update_agrees(client, member, UserChanges(password="short"), "password")
    await update_agrees(client, member, UserChanges(email="   "), "email")
    await update_agrees(client, member, UserChanges(password="longenough"), None)

"""The CtrlPanel simulator against the documented behaviour (shared/panels/ctrlpanel-convoy-calagopus.md, section a),
over real HTTP, per version.

These pin what a client is most likely to get wrong, so a client test passing against the simulator means
something about the real panels.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from simulators.__main__ import main
from simulators.ctrlpanel import CtrlPanelSimulator, SimVersion
from simulators.loopback import Answer, call

USERS = "/api/users"
SNOWFLAKE = 123456789012345678
RAW_KEYS = [
    "id",
    "name",
    "credits",
    "server_limit",
    "pterodactyl_id",
    "avatar",
    "email",
    "email_verified_at",
    "created_at",
    "updated_at",
    "ip",
    "last_seen",
    "discord_verified_at",
    "suspended",
    "referral_code",
    "email_verified_reward",
]


@pytest.fixture(params=["0.9", "1.0", "1.1", "1.2"])
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[CtrlPanelSimulator]:
    async with CtrlPanelSimulator(version=request.param) as simulator:
        yield simulator


def document(answer: Answer) -> dict[str, Any]:
    """The user object, unwrapped from 1.2.0's `{"data": ...}`."""
    body = answer.json()
    return body["data"] if "data" in body and isinstance(body["data"], dict) else body


# --- Authentication, throttle, routing -----------------------------------------------------------------------------


async def test_missing_token_is_403_and_a_wrong_or_revoked_one_401(http, sim) -> None:
    missing = await call(http, sim, "GET", USERS, key=None)
    empty = await call(http, sim, "GET", USERS, key="")
    wrong = await call(http, sim, "GET", USERS, key="x" * 48)
    assert (missing.status, missing.json()) == (403, {"message": "Missing Authorization header"})
    assert (empty.status, empty.json()) == (403, {"message": "Missing Authorization header"})
    assert (wrong.status, wrong.json()) == (401, {"message": "Invalid Authorization token"})
    key = sim.create_api_key("bot")
    assert len(key) == 48 and (await call(http, sim, "GET", USERS, key=key)).status == 200
    assert sim.key_for(key).last_used is not None
    sim.revoke_key(key)
    assert (await call(http, sim, "GET", USERS, key=key)).status == 401


@pytest.mark.parametrize(("version", "status"), [("1.1", 403), ("1.2", 404)])
async def test_1_2_finds_the_bound_user_before_checking_the_token(http, version: str, status: int) -> None:
    async with CtrlPanelSimulator(version=version) as sim:
        bound = await call(http, sim, "PATCH", f"{USERS}/999/suspend", key=None)
        shown = await call(http, sim, "GET", f"{USERS}/999", key=None)
    assert bound.status == status
    if status == 404:
        assert bound.json() == {"message": "No query results for model [App\\Models\\User] 999"}
    assert shown.status == 403  # show takes an int, not a bound model, in every version


async def test_json_429_before_1_0_3_with_its_headers(http) -> None:
    for version in ("0.9", "1.0.2"):
        async with CtrlPanelSimulator(version=version, rate_limit=2, rate_window=30) as sim:
            first = await call(http, sim, "GET", USERS, key=None)  # refused requests count too: IP, not key
            await call(http, sim, "GET", USERS)
            limited = await call(http, sim, "GET", USERS)
        assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
        assert limited.status == 429
        assert limited.json() == {"message": "Too Many Attempts."}
        assert 0 < int(limited.headers["Retry-After"]) <= 30
        assert int(limited.headers["X-RateLimit-Reset"]) > time.time()


async def test_from_1_0_3_a_429_and_an_unknown_route_are_html_pages(http) -> None:
    for version in ("1.0.3", "1.2"):
        async with CtrlPanelSimulator(version=version, rate_limit=1, rate_window=30) as sim:
            unknown = await call(http, sim, "GET", "/api/nothing")
            await call(http, sim, "GET", USERS)
            limited = await call(http, sim, "GET", USERS)
            sim.reset_rate_limits()
            again = await call(http, sim, "GET", USERS)
        assert unknown.status == 404 and unknown.text.startswith("<!DOCTYPE html>")
        assert limited.status == 429 and "Too Many Requests" in limited.text
        assert "Retry-After" not in limited.headers  # the theme's view is built without the exception's headers
        assert again.status == 200


async def test_unknown_route_is_json_before_1_0_3_and_never_throttled(http) -> None:
    async with CtrlPanelSimulator(version="0.9", rate_limit=1) as sim:
        answers = [await call(http, sim, "GET", "/api/nothing") for _ in range(3)]
        wrong_method = await call(http, sim, "POST", f"{USERS}/1")
    assert [a.status for a in answers] == [404, 404, 404]
    assert answers[0].json() == {"message": "The route api/nothing could not be found."}
    assert wrong_method.status == 405 and wrong_method.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE"


async def test_edit_route_exists_before_1_2_and_fails(http) -> None:
    async with CtrlPanelSimulator(version="1.1") as sim:
        registered = await call(http, sim, "GET", f"{USERS}/1/edit")
    async with CtrlPanelSimulator(version="1.2") as sim:
        unknown = await call(http, sim, "GET", f"{USERS}/1/edit")
    assert (registered.status, registered.json()) == (500, {"message": "Server Error"})
    assert unknown.status == 404 and unknown.text.startswith("<!DOCTYPE html>")


# --- Shapes --------------------------------------------------------------------------------------------------------


async def test_list_shapes_and_pagination_without_a_maximum(http, sim) -> None:
    sim.seed_users(120)
    answer = await call(http, sim, "GET", f"{USERS}?per_page=50&page=2&filter[email]=example")
    body = answer.json()
    path = f"{sim.url}{USERS}"
    if sim.version.resources:
        assert list(body) == ["data", "links", "meta"]
        assert body["links"] == {
            "first": f"{path}?page=1",
            "last": f"{path}?page=3",
            "prev": f"{path}?page=1",
            "next": f"{path}?page=3",
        }
        meta = body["meta"]
        assert list(meta) == ["current_page", "from", "last_page", "links", "path", "per_page", "to", "total"]
    else:
        assert list(body) == [
            "current_page",
            "data",
            "first_page_url",
            "from",
            "last_page",
            "last_page_url",
            "links",
            "next_page_url",
            "path",
            "per_page",
            "prev_page_url",
            "to",
            "total",
        ]
        assert body["next_page_url"] == f"{path}?page=3"  # the filter is not carried along
        meta = body
    assert (meta["current_page"], meta["from"], meta["to"], meta["total"], meta["per_page"]) == (2, 51, 100, 121, 50)
    assert [link["label"] for link in meta["links"]] == ["&laquo; Previous", "1", "2", "3", "Next &raquo;"]
    everything = (await call(http, sim, "GET", f"{USERS}?per_page=5000")).json()
    assert len(everything["data"]) == 121


async def test_long_link_lists_are_windowed_like_laravels(http) -> None:
    async with CtrlPanelSimulator(version="1.1") as sim:
        sim.seed_users(199)
        body = (await call(http, sim, "GET", f"{USERS}?per_page=10&page=10")).json()
    labels = [link["label"] for link in body["links"]]
    assert labels[1:-1] == ["1", "2", "...", "7", "8", "9", "10", "11", "12", "13", "...", "19", "20"]
    assert [link["url"] for link in body["links"] if link["label"] == "..."] == [None, None]
    assert body["last_page"] == 20


async def test_user_fields_and_types_per_version(http, sim) -> None:
    member = sim.add_user(name="alice", email="alice@example.com", credits=10.5, server_limit=3)
    answer = await call(http, sim, "GET", f"{USERS}/{member.id}")
    user = document(answer)
    v = sim.version
    if v.resources:
        assert list(answer.json()) == ["data"]
        assert (
            user["credits"] == 10.5
            and user["server_limit"] == 3
            and user["pterodactyl_id"] == str(member.pterodactyl_id)
        )
        assert user["created_at"].count(":") == 2 and "T" not in user["created_at"]  # toDateTimeString()
        assert "discord_user" not in user  # only when included
    else:
        expected = RAW_KEYS[:2] + (["role"] if v.role_column else []) + RAW_KEYS[2:] + ["discord_user"]
        assert list(user) == expected
        assert user["server_limit"] == 3.0 and isinstance(user["server_limit"], float)
        assert user["created_at"].endswith(".000000Z")
        assert user["discord_user"] is None  # show always loads it before 1.2.0
        if v.raw_thousandths:
            assert user["credits"] == 10500 and isinstance(user["credits"], int)
        else:
            assert user["credits"] == 10.5
        assert isinstance(user["pterodactyl_id"], int if v.line == (0, 9) else str)
    assert user["suspended"] == 0


async def test_the_role_column_lasts_until_1_0_7(http) -> None:
    for version, has_role in (("0.9", True), ("1.0.6", True), ("1.0.7", False), ("1.1", False)):
        async with CtrlPanelSimulator(version=version) as sim:
            user = (await call(http, sim, "GET", f"{USERS}/1")).json()
        assert ("role" in user) is has_role, version
        if has_role:
            assert user["role"] == "admin"


async def test_whole_credits_are_integers_in_1_2_resources(http) -> None:
    async with CtrlPanelSimulator() as sim:
        member = sim.add_user(name="bob123", email="bob@example.com", credits=150)
        user = document(await call(http, sim, "GET", f"{USERS}/{member.id}"))
    assert user["credits"] == 150 and isinstance(user["credits"], int)


# --- Show and the Discord id --------------------------------------------------------------------------------------


async def test_a_discord_id_works_as_a_user_id_before_1_2_only(http, sim) -> None:
    member = sim.add_user(name="carol", email="carol@example.com", discord_id=SNOWFLAKE, discord_username="carol")
    shown = await call(http, sim, "GET", f"{USERS}/{SNOWFLAKE}")
    suspended = await call(http, sim, "PATCH", f"{USERS}/{SNOWFLAKE}/suspend")
    if sim.version.resources:
        assert shown.status == 404
        assert shown.json() == {"message": "No query results for model [App\\Models\\User]."}
        assert suspended.status == 404
        assert not member.suspended
    else:
        assert shown.status == 200 and shown.json()["id"] == member.id
        assert shown.json()["discord_user"]["id"] == str(SNOWFLAKE)
        assert suspended.status == 200 and member.suspended


async def test_include_discord_user_gives_a_string_id_or_null(http, sim) -> None:
    linked = sim.add_user(name="dave", email="dave@example.com", discord_id=SNOWFLAKE, discord_username="dave")
    sim.add_user(name="erin", email="erin@example.com")
    body = (await call(http, sim, "GET", f"{USERS}?include=discordUser,discordUserCount")).json()
    by_name = {user["name"]: user for user in body["data"]}
    assert by_name["dave"]["discord_user"]["id"] == str(SNOWFLAKE)
    assert by_name["dave"]["discord_user"]["user_id"] == linked.id
    assert by_name["dave"]["discord_user_count"] == 1
    assert by_name["erin"]["discord_user"] is None
    assert by_name["erin"]["discord_user_count"] == 0


async def test_includes_counts_and_exists_per_version(http, sim) -> None:
    member = sim.add_user(name="frank", email="frank@example.com")
    sim.add_server(member.id)
    sim.add_server(member.id)
    counted = (await call(http, sim, "GET", f"{USERS}/{member.id}?include=servers,serversCount")).json()
    user = counted["data"] if sim.version.resources else counted
    assert user["servers_count"] == 2 and len(user["servers"]) == 2
    exists = await call(http, sim, "GET", f"{USERS}?include=serversExists")
    roles = await call(http, sim, "GET", f"{USERS}?include=roles")
    if sim.version.laravel11:
        assert exists.status == 200 and [u["servers_exists"] for u in exists.json()["data"]] == [False, True]
        assert roles.status == 200 and roles.json()["data"][0]["roles"][0]["name"] == "Admin"
    else:
        assert exists.status == 400
        assert roles.status == 400
        assert roles.json()["message"].startswith("Requested include(s) `roles` are not allowed. Allowed include(s)")


# --- Filters -------------------------------------------------------------------------------------------------------


async def test_filters_are_case_insensitive_substrings_with_comma_or(http, sim) -> None:
    sim.add_user(name="Steve", email="steve@mine.example")
    sim.add_user(name="stevenson", email="other@example.com")
    sim.add_user(name="alex", email="alex@steve.example")

    async def names(query: str) -> list[str]:
        return [user["name"] for user in (await call(http, sim, "GET", f"{USERS}?{query}")).json()["data"]]

    assert await names("filter[name]=STEVE") == ["Steve", "stevenson"]
    assert await names("filter[email]=alex@steve.example,other@example.com") == ["stevenson", "alex"]
    assert await names("filter[server_limit]=1") == ["admin", "Steve", "stevenson", "alex"]


async def test_filter_suspended_false_matches_everyone(http, sim) -> None:
    sim.add_user(name="held", email="held@example.com", suspended=True)
    sim.add_user(name="free", email="free@example.com")

    async def names(query: str) -> list[str]:
        return [user["name"] for user in (await call(http, sim, "GET", f"{USERS}?{query}")).json()["data"]]

    assert await names("filter[suspended]=false") == ["admin", "held", "free"]
    assert await names("filter[suspended]=true") == ["held"]
    assert await names("filter[suspended]=0") == ["admin", "free"]


async def test_allowed_filters_per_version_and_wildcards_in_0_9_only(http, sim) -> None:
    sim.add_user(name="ab12", email="a_b@example.com")
    sim.add_user(name="axb1", email="axb@example.com")
    role = await call(http, sim, "GET", f"{USERS}?filter[role]=admin")
    unknown = await call(http, sim, "GET", f"{USERS}?filter[discordUser.id]=1")
    wildcard = (await call(http, sim, "GET", f"{USERS}?filter[email]=a_b")).json()["data"]
    if sim.version.line == (0, 9):
        assert role.status == 200 and [u["name"] for u in role.json()["data"]] == ["admin"]
        assert [u["name"] for u in wildcard] == ["ab12", "axb1"]  # `_` is a LIKE wildcard in query-builder 5
    else:
        assert role.status == 400
        assert role.json() == {
            "message": "Requested filter(s) `role` are not allowed. "
            "Allowed filter(s) are `name, server_limit, email, pterodactyl_id, suspended`."
        }
        assert [u["name"] for u in wildcard] == ["ab12"]
    assert unknown.status == 400  # no released version filters on the Discord account


# --- Create --------------------------------------------------------------------------------------------------------


def new_user(sim: CtrlPanelSimulator, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "newbie1", "email": "new@example.com", "password": "s3cretpass"}
    if sim.version.resources:
        body["role_id"] = 4
    return {**body, **overrides}


async def test_create_answers_201_and_validates_with_the_versions_wording(http, sim) -> None:
    created = await call(http, sim, "POST", USERS, body=new_user(sim))
    assert created.status == 201
    user = sim.users[document(created)["id"]]
    assert user.password_matches("s3cretpass") and user.credits == 250 and user.server_limit == 1
    refused = await call(http, sim, "POST", USERS, body={"name": "a_b", "email": "NEW@example.com"})
    assert refused.status == 422
    body = refused.json()
    word = " field" if sim.version.laravel11 else ""  # Laravel 11's wording
    expected = {
        "name": [
            f"The name{word} must be between 4 and 30 characters.",
            f"The name{word} must only contain letters and numbers.",
        ],
        "email": ["The email has already been taken."],
        "password": ["The password field is required."],
    }
    if sim.version.resources:
        expected["role_id"] = ["The role id field is required."]
    assert body["errors"] == expected
    more = sum(len(messages) for messages in expected.values()) - 1
    assert body["message"] == f"The name{word} must be between 4 and 30 characters. (and {more} more errors)"


async def test_fresh_model_before_1_2_shows_only_what_was_set(http) -> None:
    for version in ("0.9", "1.1"):
        async with CtrlPanelSimulator(version=version) as sim:
            created = (await call(http, sim, "POST", USERS, body=new_user(sim, credits=5))).json()
        assert "suspended" not in created and "discord_user" not in created
        assert created["credits"] == (250000 if version == "1.1" else 250.0)  # settings, not the request


async def test_1_2_create_takes_credits_and_needs_an_existing_role(http) -> None:
    async with CtrlPanelSimulator() as sim:
        ok = await call(http, sim, "POST", USERS, body=new_user(sim, credits=25.5, server_limit=2))
        bad = await call(http, sim, "POST", USERS, body=new_user(sim, name="other1", email="o@example.com", role_id=99))
        user = sim.users[document(ok)["id"]]
    assert ok.status == 201 and document(ok)["credits"] == 25.5 and user.server_limit == 2
    assert user.role_ids == {4}
    assert bad.json()["errors"] == {"role_id": ["The selected role id is invalid."]}


async def test_user_creation_switched_off(http) -> None:
    async with CtrlPanelSimulator() as sim:
        sim.user_creation_enabled = False
        blocked = await call(http, sim, "POST", USERS, body={})  # refused before validation
    assert (blocked.status, blocked.json()) == (
        403,
        {"message": "The creation of new users has been temporarily disabled. Please try again later."},
    )
    async with CtrlPanelSimulator(version="1.1") as sim:
        sim.user_creation_enabled = False
        invalid = await call(http, sim, "POST", USERS, body={})
        blocked = await call(http, sim, "POST", USERS, body=new_user(sim))
    assert invalid.status == 422 and "name" in invalid.json()["errors"]  # validation first
    assert blocked.json()["errors"] == {
        "error": ["The creation of new users has been blocked by the system administrator."]
    }


# --- Update --------------------------------------------------------------------------------------------------------


async def test_update_rules_per_version(http, sim) -> None:
    member = sim.add_user(name="grace", email="grace@example.com", credits=10)
    partial = await call(http, sim, "PATCH", f"{USERS}/{member.id}", body={"server_limit": 5})
    if sim.version.resources:
        assert partial.status == 422 and list(partial.json()["errors"]) == ["name", "email"]
    else:
        assert partial.status == 200 and member.server_limit == 5
        assert "discord_user" not in partial.json()
    full = await call(
        http, sim, "PATCH", f"{USERS}/{member.id}", body={"name": "grace", "email": "g@example.com", "credits": 0}
    )
    assert full.status == 200 and member.email == "g@example.com"
    # 1.2.0 runs the input through array_filter(), which drops the falsy 0.
    assert member.credits == (10 if sim.version.resources else 0)


async def test_1_1_update_credits_go_through_the_mutator(http) -> None:
    async with CtrlPanelSimulator(version="1.1") as sim:
        member = sim.add_user(name="henry", email="henry@example.com")
        answer = await call(http, sim, "PATCH", f"{USERS}/{member.id}", body={"credits": 12.25})
    assert member.credits == 12.25
    assert answer.json()["credits"] == 12250


async def test_0_9_role_is_validated_and_1_x_syncs_role_ids(http) -> None:
    async with CtrlPanelSimulator(version="0.9") as sim:
        member = sim.add_user(name="ivan", email="ivan@example.com")
        bad = await call(http, sim, "PATCH", f"{USERS}/{member.id}", body={"role": "owner"})
        good = await call(http, sim, "PATCH", f"{USERS}/{member.id}", body={"role": "client"})
    assert bad.json()["errors"] == {"role": ["The selected role is invalid."]}
    assert good.status == 200 and member.role == "client"
    async with CtrlPanelSimulator(version="1.0") as sim:
        member = sim.add_user(name="ivan", email="ivan@example.com")
        answer = await call(http, sim, "PATCH", f"{USERS}/{member.id}", body={"role": [3]})
    assert answer.status == 200 and member.role_ids == {3}


# --- Increment, decrement ------------------------------------------------------------------------------------------


async def test_decrement_below_zero_is_refused_with_the_versions_message(http, sim) -> None:
    member = sim.add_user(name="judy", email="judy@example.com", credits=25.5)
    answer = await call(http, sim, "PATCH", f"{USERS}/{member.id}/decrement", body={"credits": 100})
    assert answer.status == 422
    if sim.version.resources:
        message = "Cannot remove 100 credits. User has 25 credits available."
    else:
        message = "You can't remove this amount of credits because you would exceed the minimum credit limit"
    assert answer.json() == {"message": message, "errors": {"credits": [message]}}
    assert member.credits == 25.5


async def test_increment_and_decrement_change_balances(http, sim) -> None:
    member = sim.add_user(name="kate", email="kate@example.com", credits=1, server_limit=2)
    up = await call(http, sim, "PATCH", f"{USERS}/{member.id}/increment", body={"credits": 2.5, "server_limit": 3})
    assert up.status == 200 and (member.credits, member.server_limit) == (3.5, 5)
    down = await call(http, sim, "PATCH", f"{USERS}/{member.id}/decrement", body={"server_limit": 5})
    assert down.status == 200 and member.server_limit == 0
    nothing = await call(http, sim, "PATCH", f"{USERS}/{member.id}/decrement", body={"credits": 0})
    if sim.version.resources:
        assert nothing.json()["errors"] == {"credits": ["The credits field must be at least 1."]}
    else:
        assert nothing.status == 200  # a 0 is skipped before 1.2.0
    assert member.credits == 3.5


async def test_1_1_increments_can_play_the_suspected_unconverted_bug(http) -> None:
    async with CtrlPanelSimulator(version="1.1") as sim:
        member = sim.add_user(name="liam", email="liam@example.com", credits=1)
        await call(http, sim, "PATCH", f"{USERS}/{member.id}/increment", body={"credits": 10})
        assert member.credits == 11
        sim.unconverted_increments = True
        await call(http, sim, "PATCH", f"{USERS}/{member.id}/increment", body={"credits": 10})
    assert member.credits == 11.01


async def test_1_2_overflow_message_counts_thousandths(http) -> None:
    async with CtrlPanelSimulator() as sim:
        member = sim.add_user(name="mia1", email="mia@example.com", server_limit=999_999)
        answer = await call(http, sim, "PATCH", f"{USERS}/{member.id}/increment", body={"server_limit": 2})
    assert answer.json()["errors"] == {
        "server_limit": ["Adding 2 would result in 1000001, exceeding the maximum limit of 1000000."]
    }


# --- Suspend, delete -----------------------------------------------------------------------------------------------


async def test_suspend_conflicts_per_version(http, sim) -> None:
    member = sim.add_user(name="nina", email="nina@example.com")
    server = sim.servers[sim.add_server(member.id)]
    first = await call(http, sim, "PATCH", f"{USERS}/{member.id}/suspend")
    again = await call(http, sim, "PATCH", f"{USERS}/{member.id}/suspend")
    assert first.status == 200 and document(first)["suspended"] == 1 and server.suspended is not None
    await call(http, sim, "PATCH", f"{USERS}/{member.id}/unsuspend")
    lifted = await call(http, sim, "PATCH", f"{USERS}/{member.id}/unsuspend")
    assert server.suspended is None
    if sim.version.resources:
        assert (again.status, again.json()) == (400, {"error": "The user is already suspended"})
        assert (lifted.status, lifted.json()) == (400, {"error": "The user is not suspended"})
    else:
        assert again.status == 422 and again.json()["errors"] == {"error": ["The user is already suspended"]}
        assert lifted.json()["errors"] == {"error": ["You cannot unsuspend an User who is not suspended."]}


async def test_1_2_suspend_reason_is_at_most_320_characters(http) -> None:
    async with CtrlPanelSimulator() as sim:
        member = sim.add_user(name="omar", email="omar@example.com")
        long = await call(http, sim, "PATCH", f"{USERS}/{member.id}/suspend", body={"reason": "x" * 321})
        ok = await call(http, sim, "PATCH", f"{USERS}/{member.id}/suspend", body={"reason": "unpaid"})
    assert long.json()["errors"] == {"reason": ["The reason field must not be greater than 320 characters."]}
    assert ok.status == 200


async def test_delete_takes_servers_and_the_discord_link_along(http, sim) -> None:
    member = sim.add_user(name="paul", email="paul@example.com", discord_id=SNOWFLAKE, discord_username="paul")
    sim.add_server(member.id)
    answer = await call(http, sim, "DELETE", f"{USERS}/{member.id}")
    if sim.version.resources:
        assert (answer.status, answer.text) == (204, "")
    else:
        assert answer.status == 200 and answer.json()["name"] == "paul"
    assert member.id not in sim.users and not sim.servers and not sim.discord_users
    assert (await call(http, sim, "DELETE", f"{USERS}/{member.id}")).status == 404


# --- Odds and ends -------------------------------------------------------------------------------------------------


async def test_validation_without_accept_json_redirects(http, sim) -> None:
    answer = await call(http, sim, "POST", USERS, body={}, accept_json=False)
    assert answer.status == 302


async def test_faults_and_a_non_numeric_id(http, sim) -> None:
    sim.faults.fail_next = 1
    failed = await call(http, sim, "GET", USERS)
    assert (failed.status, failed.json()) == (500, {"message": "Server Error"})
    assert (await call(http, sim, "GET", f"{USERS}/abc")).status == 500  # show(int $id) gets a string


def test_seeding_ten_thousand_users_is_fast() -> None:
    sim = CtrlPanelSimulator()
    started = time.perf_counter()
    users = sim.seed_users(10_000)
    assert time.perf_counter() - started < 0.5
    assert len(sim.users) == 10_001 and users[-1].name == "user10001"
    assert len({user.referral_code for user in sim.users.values()}) == 10_001


def test_versions_parse_to_the_last_patch_of_their_line() -> None:
    assert str(SimVersion.parse("1.0")) == "1.0.8" and str(SimVersion.parse("1.0.2")) == "1.0.2"
    with pytest.raises(ValueError, match="unknown CtrlPanel version"):
        SimVersion.parse("2.0")


def test_runnable_by_hand_shows_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["ctrlpanel", "--help"])
    assert done.value.code == 0
    assert "--version" in capsys.readouterr().out

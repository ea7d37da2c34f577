"""The Convoy simulator against the documented behaviour (shared/panels/ctrlpanel-convoy-calagopus.md, section b),
over real HTTP.

These pin the details a client is most likely to trip over, so a client test passing against the simulator means
something about the real panel.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulators.convoy import ConvoySimulator
from simulators.loopback import call

USERS = "/api/application/users"
USER_FIELDS = ["id", "name", "email", "email_verified_at", "root_admin", "servers_count"]


@pytest.fixture
async def convoy() -> AsyncIterator[ConvoySimulator]:
    async with ConvoySimulator() as simulator:
        yield simulator


def new_user(**overrides: Any) -> dict[str, Any]:
    return {"name": "New User", "email": "new@example.com", "password": "password1", "root_admin": False, **overrides}


# --- The control API every simulator shares ------------------------------------------------------------------------


async def test_control_api(convoy) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", convoy.url)
    assert re.fullmatch(r"\d+\|[A-Za-z0-9]{40}", convoy.api_key)
    member = convoy.add_user(username="Mike Hawk", email="mike@example.com")
    assert convoy.users[member.id] is member
    assert (member.username, member.name, member.email, member.external_id) == (
        "Mike Hawk",
        "Mike Hawk",
        "mike@example.com",
        None,
    )
    with pytest.raises(ValueError, match="already taken"):
        convoy.add_user(username="Other", email="MIKE@example.com")
    seeded = convoy.seed_users(2, prefix="player")
    assert [(u.username, u.email) for u in seeded] == [
        ("player3", "player3@example.com"),
        ("player4", "player4@example.com"),
    ]
    server_id = convoy.add_server(member.id)
    assert convoy.servers[server_id].owner_id == member.id
    with pytest.raises(KeyError):
        convoy.add_server(999)
    assert not hasattr(convoy, "create_client_key")  # Convoy has no per-user key that proves ownership


async def test_editing_a_users_email_in_place_keeps_uniqueness_right(http, convoy) -> None:
    member = convoy.add_user(username="Member", email="old@example.com")
    member.email = "new@example.com"
    taken = await call(http, convoy, "POST", USERS, body=new_user(email="NEW@example.com"))
    freed = await call(http, convoy, "POST", USERS, body=new_user(email="old@example.com"))
    assert (taken.status, freed.status) == (422, 200)


# --- Authentication and the order of refusals ----------------------------------------------------------------------


async def test_unauthenticated_bodies(http, convoy) -> None:
    unauthenticated = {"message": "Unauthenticated."}
    token_id = convoy.api_key.split("|")[0]
    for key in (None, f"{token_id}|{'x' * 40}", "x|" + convoy.api_key.split("|")[1], "no-pipe-token", f"{token_id}|"):
        answer = await call(http, convoy, "GET", USERS, key=key)
        assert (answer.status, answer.json()) == (401, unauthenticated), key
    # Laravel's bearerToken() takes what follows the last "Bearer " up to a comma.
    async with http.get(
        convoy.url + USERS,
        headers={"Accept": "application/json", "Authorization": f"Basic x, Bearer {convoy.api_key},extra"},
    ) as response:
        assert response.status == 200


async def test_any_token_of_a_root_admin_works_and_no_other(http, convoy) -> None:
    member = convoy.add_user(username="Plain", email="plain@example.com")
    admin_account_token = convoy.create_api_key(type="account")
    assert (await call(http, convoy, "GET", USERS, key=admin_account_token)).status == 200
    for key in (convoy.create_api_key(member.id), convoy.create_api_key(member.id, type="account")):
        refused = await call(http, convoy, "GET", USERS, key=key)
        assert (refused.status, refused.json()) == (403, {"message": ""})
    convoy.revoke_key(admin_account_token)
    assert (await call(http, convoy, "GET", USERS, key=admin_account_token)).status == 401


async def test_refusals_come_in_middleware_order_401_404_403(http, convoy) -> None:
    member = convoy.add_user(username="Plain", email="plain@example.com")
    member_key = convoy.create_api_key(member.id)
    assert (await call(http, convoy, "GET", f"{USERS}/999", key=None)).status == 401
    assert (await call(http, convoy, "GET", f"{USERS}/999", key=member_key)).status == 404
    assert (await call(http, convoy, "GET", f"{USERS}/1", key=member_key)).status == 403
    assert (await call(http, convoy, "GET", "/api/application/userz", key=None)).status == 404  # no route, no auth


async def test_without_a_json_accept_header_the_panel_answers_a_browser(http, convoy) -> None:
    unauthenticated = await call(http, convoy, "GET", USERS, key=None, accept_json=False)
    assert (unauthenticated.status, unauthenticated.headers["Location"]) == (302, f"{convoy.url}/login")
    invalid = await call(http, convoy, "POST", USERS, body={}, accept_json=False)
    assert (invalid.status, invalid.headers["Location"]) == (302, convoy.url)
    missing = await call(http, convoy, "GET", f"{USERS}/999", accept_json=False)
    assert missing.status == 404 and missing.headers["Content-Type"].startswith("text/html")


# --- Listing -------------------------------------------------------------------------------------------------------


async def test_list_shape_and_links_as_an_empty_array(http, convoy) -> None:
    convoy.add_server(1)
    answer = await call(http, convoy, "GET", USERS)
    assert answer.status == 200
    assert '"links":[]' in answer.text
    assert answer.json() == {
        "data": [
            {
                "id": 1,
                "name": "Admin",
                "email": "admin@example.com",
                "email_verified_at": None,
                "root_admin": True,
                "servers_count": 1,
            }
        ],
        "meta": {
            "pagination": {"total": 1, "count": 1, "per_page": 50, "current_page": 1, "total_pages": 1, "links": []}
        },
    }


async def test_pagination_links_carry_the_whole_query(http, convoy) -> None:
    convoy.seed_users(5)
    base = f"{convoy.url}{USERS}"
    query = "per_page=2&filter[name]=user&page=2&filter[email]="
    page = (await call(http, convoy, "GET", f"{USERS}?{query}")).json()["meta"]["pagination"]
    # `page` is replaced where it stood; the empty filter became null and http_build_query leaves nulls out.
    assert page["links"] == {
        "previous": f"{base}?per_page=2&filter%5Bname%5D=user&page=1",
        "next": f"{base}?per_page=2&filter%5Bname%5D=user&page=3",
    }
    assert (page["total"], page["count"], page["total_pages"]) == (5, 2, 3)
    answer = await call(http, convoy, "GET", f"{USERS}?per_page=2")
    assert "\\/" in answer.text  # response()->json() escapes slashes, as PHP does
    assert answer.json()["meta"]["pagination"]["links"] == {"next": f"{base}?per_page=2&page=2"}


async def test_per_page_is_min_of_the_request_and_100_as_php_compares(http, convoy) -> None:
    convoy.seed_users(120)

    async def pagination(query: str) -> dict[str, Any]:
        answer = await call(http, convoy, "GET", f"{USERS}?{query}")
        assert answer.status == 200, answer.text
        return answer.json()["meta"]["pagination"]

    cases = {
        "": (50, 50),
        "per_page=500": (100, 100),
        "per_page=7": (7, 7),
        "per_page=0": (15, 15),  # "0" is falsy: the model's default
        "per_page=": (15, 15),  # null: smaller than 100, then falsy
        "per_page=-1": (-1, 121),  # no lower bound: a negative LIMIT is dropped
        "per_page=abc": (100, 100),  # "abc" sorts after "100"
        "per_page[]=5": (100, 100),  # an array is larger than any number
    }
    for query, (per_page, count) in cases.items():
        page = await pagination(query)
        assert (page["per_page"], page["count"]) == (per_page, count), query
    assert (await pagination("page=abc"))["current_page"] == 1
    past_the_end = await pagination("page=9")
    assert (past_the_end["count"], past_the_end["total"], past_the_end["current_page"]) == (0, 121, 9)
    crash = await call(http, convoy, "GET", f"{USERS}?per_page=-")  # "-" sorts first and reaches arithmetic
    assert (crash.status, crash.json()) == (500, {"message": "Server Error"})


async def test_filters_exact_partial_and_the_search_box(http, convoy) -> None:
    convoy.add_user(username="Alice Smith", email="Alice@Example.org")
    convoy.add_user(username="Bob", email="bob@example.net")
    convoy.add_user(username="b_b", email="bb@example.net")

    async def names(query: str) -> list[str]:
        answer = await call(http, convoy, "GET", f"{USERS}?{query}")
        assert answer.status == 200, answer.text
        return [user["name"] for user in answer.json()["data"]]

    assert await names("filter[email]=alice@example.ORG") == ["Alice Smith"]  # exact, case-insensitive
    assert await names("filter[email]=example.org") == []
    assert await names("filter[email]=bob@example.net,bb@example.net") == ["Bob", "b_b"]
    assert await names("filter[id]=2,4") == ["Alice Smith", "b_b"]
    assert await names("filter[name]=SMITH") == ["Alice Smith"]
    assert await names("filter[name]=lice,ob") == ["Alice Smith", "Bob"]
    assert await names("filter[name]=b_b") == ["Bob", "b_b"]  # `_` is a LIKE wildcard
    assert await names("filter[name]=b%5C_b") == ["b_b"]  # unless escaped
    assert await names("filter[name]=") == ["Admin", "Alice Smith", "Bob", "b_b"]
    assert await names("filter[*]=3") == ["Bob"]  # the id
    assert await names("filter[*]=BOB@example.net") == ["Bob"]  # the whole email
    assert await names("filter[*]=example") == []  # never part of an email
    assert await names("filter[*]=ali") == ["Alice Smith"]  # part of the name
    assert await names("filter[name]=o&filter[email]=bob@example.net") == ["Bob"]
    search_with_comma = await call(http, convoy, "GET", f"{USERS}?filter[*]=a,b")
    assert (search_with_comma.status, search_with_comma.json()) == (500, {"message": "Server Error"})


async def test_unknown_filter_is_the_query_builders_400(http, convoy) -> None:
    answer = await call(http, convoy, "GET", f"{USERS}?filter[username]=x")
    assert (answer.status, answer.json()) == (
        400,
        {"message": "Requested filter(s) `username` are not allowed. Allowed filter(s) are `id, name, email, *`."},
    )
    assert (await call(http, convoy, "GET", f"{USERS}?sort=-id&include=servers")).status == 200  # both ignored


# --- One user ------------------------------------------------------------------------------------------------------


async def test_show_and_the_mysql_reading_of_ids(http, convoy) -> None:
    member = convoy.add_user(username="Crystal Larson", email="crystal@example.org", email_verified=True)
    answer = await call(http, convoy, "GET", f"{USERS}/{member.id}")
    assert list(answer.json()) == ["data"]
    user = answer.json()["data"]
    assert list(user) == USER_FIELDS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z", user["email_verified_at"])
    assert (await call(http, convoy, "GET", f"{USERS}/1abc")).json()["data"]["name"] == "Admin"  # MySQL: 1
    assert (await call(http, convoy, "GET", f"{USERS}/2.0")).json()["data"]["id"] == 2
    assert (await call(http, convoy, "GET", f"{USERS}/1.5")).status == 404  # no id equals 1.5
    missing = await call(http, convoy, "GET", f"{USERS}/abc")
    assert (missing.status, missing.json()) == (
        404,
        {"message": "No query results for model [Convoy\\Models\\User] abc"},
    )
    assert '"No query results for model [Convoy\\\\Models\\\\User] abc"' in missing.text


async def test_unknown_route_and_wrong_method(http, convoy) -> None:
    unknown = await call(http, convoy, "GET", "/api/application/userz")
    assert unknown.json() == {"message": "The route api/application/userz could not be found."}
    wrong = await call(http, convoy, "POST", f"{USERS}/1", body={})
    assert wrong.status == 405
    assert wrong.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE"
    assert wrong.json()["message"] == (
        "The POST method is not supported for route api/application/users/1. "
        "Supported methods: GET, HEAD, PUT, PATCH, DELETE."
    )


# --- Create --------------------------------------------------------------------------------------------------------


async def test_create_answers_200_and_stores_like_the_panel(http, convoy) -> None:
    body = new_user(name="  Anush K ", email=" Anush.K@Example.com", password="  spaced  ", root_admin="1")
    answer = await call(http, convoy, "POST", USERS, body=body)
    assert answer.status == 200
    user = answer.json()["data"]
    assert list(user) == USER_FIELDS
    assert (user["name"], user["email"], user["root_admin"], user["servers_count"]) == (
        "Anush K",
        "Anush.K@Example.com",  # trimmed, case kept
        True,
        0,
    )
    assert convoy.users[user["id"]].password_matches("  spaced  ")  # passwords are not trimmed


async def test_create_validation_body_and_summary(http, convoy) -> None:
    empty = await call(http, convoy, "POST", USERS, body={"root_admin": True})
    assert empty.status == 422
    assert empty.json() == {
        "message": "The name field is required. (and 2 more errors)",
        "errors": {
            "name": ["The name field is required."],
            "email": ["The email field is required."],
            "password": ["The password field is required."],
        },
    }
    bad = await call(
        http,
        convoy,
        "POST",
        USERS,
        body=new_user(name="x" * 192, email="ADMIN@example.com", password=12, root_admin="yes"),
    )
    assert bad.json() == {
        "message": "The name field must be between 1 and 191 characters. (and 4 more errors)",
        "errors": {
            "name": ["The name field must be between 1 and 191 characters."],
            "email": ["The email has already been taken."],
            "password": ["The password field must be a string.", "The password field must be at least 8 characters."],
            "root_admin": ["The root admin field must be true or false."],
        },
    }
    one = await call(http, convoy, "POST", USERS, body=new_user(email="not-an-email"))
    assert one.json()["message"] == "The email field must be a valid email address."
    assert len(convoy.users) == 1


async def test_create_without_root_admin_is_the_models_500(http, convoy) -> None:
    body = new_user()
    del body["root_admin"]
    answer = await call(http, convoy, "POST", USERS, body=body)
    assert answer.status == 500
    assert answer.json() == {
        "message": 'Could not save Convoy\\Models\\User[]: failed to validate data: {"root_admin":["The root admin '
        'field must be true or false."]}'
    }
    assert len(convoy.users) == 1
    null = await call(http, convoy, "POST", USERS, body=new_user(root_admin=None))  # present but null: the request
    assert null.status == 422


async def test_invalid_json_reads_as_no_input(http, convoy) -> None:
    answer = await call(http, convoy, "POST", USERS, data=b'{"name": ')
    assert answer.status == 422
    assert list(answer.json()["errors"]) == ["name", "email", "password"]


# --- Update --------------------------------------------------------------------------------------------------------


async def test_put_and_patch_both_replace_name_email_and_root_admin(http, convoy) -> None:
    member = convoy.add_user(username="Member", email="member@example.com", password="original1")
    partial = await call(http, convoy, "PATCH", f"{USERS}/{member.id}", body={"name": "Only"})
    assert partial.status == 422
    assert list(partial.json()["errors"]) == ["email"]
    nothing = await call(http, convoy, "PATCH", f"{USERS}/{member.id}", body={})
    assert nothing.json()["message"] == "The name field is required. (and 1 more error)"
    without_admin = await call(
        http, convoy, "PUT", f"{USERS}/{member.id}", body={"name": "N", "email": "member@example.com"}
    )
    assert without_admin.status == 500
    assert f"User[{member.id}]" in without_admin.json()["message"]
    assert member.name == "Member"

    full = {"name": "Renamed", "email": "MEMBER@example.com", "root_admin": False, "password": None}
    for method in ("PUT", "PATCH"):
        answer = await call(http, convoy, method, f"{USERS}/{member.id}", body=full)
        assert answer.status == 200
        assert answer.json()["data"]["name"] == "Renamed"
    assert member.email == "MEMBER@example.com"  # its own email is not "taken"
    assert member.password_matches("original1")  # null keeps the password
    await call(http, convoy, "PUT", f"{USERS}/{member.id}", body={**full, "password": "changed12"})
    assert member.password_matches("changed12")


async def test_demotion_deletes_the_users_tokens_even_the_one_in_use(http, convoy) -> None:
    boss = convoy.add_user(username="Boss", email="boss@example.com", root_admin=True)
    first, second = convoy.create_api_key(boss.id), convoy.create_api_key(boss.id)
    body = {"name": "Boss", "email": "boss@example.com", "root_admin": True}
    assert (await call(http, convoy, "PUT", f"{USERS}/{boss.id}", body=body, key=first)).status == 200
    rolled_back = await call(http, convoy, "PUT", f"{USERS}/{boss.id}", body={**body, "root_admin": None}, key=first)
    assert rolled_back.status == 422
    demoted = await call(http, convoy, "PUT", f"{USERS}/{boss.id}", body={**body, "root_admin": "0"}, key=first)
    assert (demoted.status, demoted.json()["data"]["root_admin"]) == (200, False)
    assert (await call(http, convoy, "GET", USERS, key=first)).status == 401
    assert (await call(http, convoy, "GET", USERS, key=second)).status == 401
    assert (await call(http, convoy, "GET", USERS)).status == 200  # other users' tokens are untouched


# --- Delete --------------------------------------------------------------------------------------------------------


async def test_delete_refuses_owners_of_servers_then_deletes_with_the_tokens(http, convoy) -> None:
    member = convoy.add_user(username="Owner", email="owner@example.com", root_admin=True)
    member_key = convoy.create_api_key(member.id)
    server_id = convoy.add_server(member.id)
    refused = await call(http, convoy, "DELETE", f"{USERS}/{member.id}")
    assert (refused.status, refused.json()) == (
        400,
        {"message": "The user cannot be deleted with servers still associated."},
    )
    convoy.remove_server(server_id)
    deleted = await call(http, convoy, "DELETE", f"{USERS}/{member.id}")
    assert (deleted.status, deleted.text) == (204, "")
    assert member.id not in convoy.users
    assert (await call(http, convoy, "GET", f"{USERS}/{member.id}")).status == 404
    assert (await call(http, convoy, "GET", USERS, key=member_key)).status == 401
    readded = await call(http, convoy, "POST", USERS, body=new_user(email="owner@example.com"))
    assert readded.status == 200  # the email is free again


async def test_sso_token(http, convoy) -> None:
    answer = await call(http, convoy, "POST", f"{USERS}/1/generate-sso-token")
    data = answer.json()["data"]
    assert data["user_id"] == 1
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", data["token"])


# --- No throttle, faults and the request log -----------------------------------------------------------------------


async def test_there_is_no_throttle(http, convoy) -> None:
    answers = await asyncio.gather(*(call(http, convoy, "GET", USERS) for _ in range(60)))
    assert {answer.status for answer in answers} == {200}
    assert not any("X-RateLimit-Limit" in answer.headers for answer in answers)


async def test_fault_switches_apply_to_the_next_requests_only(http, convoy) -> None:
    convoy.faults.fail_next, convoy.faults.fail_status = 1, 503
    unavailable = await call(http, convoy, "GET", USERS)
    assert (unavailable.status, unavailable.json()) == (503, {"message": "Service Unavailable"})
    convoy.faults.fail_next, convoy.faults.fail_status = 1, 500
    assert (await call(http, convoy, "GET", USERS)).json() == {"message": "Server Error"}

    convoy.faults.drop_next = 1  # POST: aiohttp retries idempotent methods once after a drop, so 1 would not show
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, convoy, "POST", USERS, body=new_user())
    assert convoy.requests[-1].status is None
    convoy.faults.malformed_next = 1
    malformed = await call(http, convoy, "POST", USERS, body=new_user())
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    assert len(convoy.users) == 1  # a faulted request never reaches the panel

    convoy.faults.html_errors_next = 1
    proxy = await call(http, convoy, "GET", USERS)
    assert proxy.status == 502 and proxy.headers["Content-Type"].startswith("text/html")

    convoy.faults.latency = 0.1
    started = time.perf_counter()
    assert (await call(http, convoy, "GET", USERS)).status == 200
    assert time.perf_counter() - started >= 0.1


async def test_a_lost_answer_is_a_504_after_the_change_was_made(http, convoy) -> None:
    convoy.lose_next_changes = 1
    assert (await call(http, convoy, "GET", USERS)).status == 200  # reads are not what a proxy times out here
    lost = await call(http, convoy, "POST", USERS, body=new_user())
    assert lost.status == 504 and lost.headers["Content-Type"].startswith("text/html")
    assert [u.email for u in convoy.users.values()] == ["admin@example.com", "new@example.com"]
    assert (await call(http, convoy, "POST", USERS, body=new_user(email="next@example.com"))).status == 200


async def test_request_log_keeps_the_request_but_never_the_key(http, convoy) -> None:
    await call(http, convoy, "POST", f"{USERS}?x=1", body=new_user())
    (recorded,) = convoy.requests
    assert (recorded.method, recorded.path, recorded.query, recorded.status) == ("POST", USERS, {"x": "1"}, 200)
    assert recorded.json == new_user()
    assert convoy.api_key.split("|")[1] not in repr(recorded)


async def test_ten_thousand_users_seed_fast_and_list_in_pages_of_100(http) -> None:
    async with ConvoySimulator() as sim:
        started = time.perf_counter()
        sim.seed_users(10_000)
        assert time.perf_counter() - started < 1.0
        answer = await call(http, sim, "GET", f"{USERS}?per_page=1000&page=101")
        pagination = answer.json()["meta"]["pagination"]
        assert (pagination["per_page"], pagination["total_pages"], pagination["count"]) == (100, 101, 1)
        assert [u["id"] for u in answer.json()["data"]] == [10_001]

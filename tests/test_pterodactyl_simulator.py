"""The panel simulator against the documented behaviour (shared/panels/pterodactyl-pelican.md), over real HTTP.

These pin the details a client is most likely to trip over, so a client test passing against the simulator
means something about the real panel.
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

from simulators.loopback import call
from simulators.pterodactyl import PterodactylSimulator

USERS = "/api/application/users"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


@pytest.fixture
async def ptero() -> AsyncIterator[PterodactylSimulator]:
    async with PterodactylSimulator() as simulator:
        yield simulator


@pytest.fixture
async def pel() -> AsyncIterator[PterodactylSimulator]:
    async with PterodactylSimulator(flavor="pelican") as simulator:
        yield simulator


def error(code: str, status: int, detail: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "status": str(status), "detail": detail}]}


def new_user(**overrides: Any) -> dict[str, Any]:
    return {"email": "new@example.com", "username": "newbie", "first_name": "New", "last_name": "User", **overrides}


# --- Validation ----------------------------------------------------------------------------------------------------


async def test_empty_create_gives_the_documented_422_body(http, ptero) -> None:
    answer = await call(http, ptero, "POST", USERS, body={})

    def required(field: str, name: str) -> dict[str, Any]:
        return {
            "code": "ValidationException",
            "status": "422",
            "detail": f"The {name} field is required.",
            "meta": {"source_field": field, "rule": "required"},
        }

    assert answer.status == 422
    assert answer.json() == {
        "errors": [
            required("email", "email"),
            required("username", "username"),
            required("first_name", "first name"),
            required("last_name", "last name"),
        ]
    }


async def test_username_rule_message_keeps_its_line_break_and_sixteen_spaces(http, ptero) -> None:
    answer = await call(http, ptero, "POST", USERS, body=new_user(username="_username"))
    assert answer.status == 422
    assert answer.json()["errors"] == [
        {
            "code": "ValidationException",
            "status": "422",
            "detail": "The username must start and end with alpha-numeric characters and\n"
            "                contain only letters, numbers, dashes, underscores, and periods.",
            "meta": {"source_field": "username", "rule": "p_username"},
        }
    ]


async def test_validation_follows_laravel_rule_order_names_and_input_cleaning(http, ptero) -> None:
    body = new_user(
        email=" ADMIN@example.com ",  # trimmed, then unique case-insensitively against the admin
        external_id=5,  # must be a JSON string
        root_admin="yes",
        language="de",
        first_name="   ",  # trimmed to "", then null, then required
    )
    answer = await call(http, ptero, "POST", USERS, body=body)
    assert answer.status == 422
    assert [(e["meta"]["source_field"], e["meta"]["rule"], e["detail"]) for e in answer.json()["errors"]] == [
        ("email", "unique", "The email has already been taken."),
        ("external_id", "string", "The Third Party Identifier must be a string."),
        ("root_admin", "boolean", "The Root Administrator Status field must be true or false."),
        ("language", "in", "The selected language is invalid."),
        ("first_name", "required", "The first name field is required."),
    ]


async def test_create_answers_201_with_resource_and_stores_like_the_panel(http, ptero) -> None:
    body = new_user(email="  Mixed.Case@Example.com ", username="NewUser", external_id="", password="  secret ")
    answer = await call(http, ptero, "POST", USERS, body=body)
    assert answer.status == 201
    document = answer.json()
    assert list(document) == ["object", "attributes", "meta"]
    attributes = document["attributes"]
    assert document["meta"] == {"resource": f"{ptero.url}{USERS}/{attributes['id']}"}
    assert attributes["email"] == "Mixed.Case@Example.com"  # trimmed, case kept
    assert attributes["username"] == "newuser"
    assert attributes["external_id"] is None  # "" became null
    assert TIMESTAMP.fullmatch(attributes["created_at"])
    assert list(attributes) == [
        "id",
        "external_id",
        "uuid",
        "username",
        "email",
        "first_name",
        "last_name",
        "language",
        "root_admin",
        "2fa",
        "created_at",
        "updated_at",
    ]
    assert ptero.users[attributes["id"]].password_matches("  secret ")  # passwords are not trimmed
    assert "\\/" in answer.text  # response()->json() escapes slashes, as PHP does


async def test_patch_needs_every_required_field_and_ignores_the_users_own_row(http, ptero) -> None:
    member = ptero.add_user(username="member", email="member@example.com")
    partial = await call(http, ptero, "PATCH", f"{USERS}/{member.id}", body={"first_name": "Only"})
    assert partial.status == 422
    assert [e["meta"]["source_field"] for e in partial.json()["errors"]] == ["email", "username", "last_name"]

    full = new_user(email="MEMBER@example.com", username="member", first_name="Changed", password="pw")
    answer = await call(http, ptero, "PATCH", f"{USERS}/{member.id}", body=full)
    assert answer.status == 200
    assert list(answer.json()) == ["object", "attributes"]
    assert answer.json()["attributes"]["first_name"] == "Changed"
    assert member.email == "MEMBER@example.com" and member.password_matches("pw")


# --- Listing -------------------------------------------------------------------------------------------------------


async def test_pagination_links_are_an_object_and_carry_only_the_page(http, ptero) -> None:
    ptero.seed_users(4)
    single = await call(http, ptero, "GET", USERS)
    assert '"links":{}' in single.text

    base = f"{ptero.url}{USERS}"
    query = "per_page=2&filter[email]=example&sort=id&include=servers"
    pages = [(await call(http, ptero, "GET", f"{USERS}?{query}&page={page}")).json() for page in (1, 2, 3)]
    assert [page["meta"]["pagination"]["links"] for page in pages] == [
        {"next": f"{base}?page=2"},
        {"previous": f"{base}?page=1", "next": f"{base}?page=3"},
        {"previous": f"{base}?page=2"},
    ]
    assert pages[0]["meta"]["pagination"] == {
        "total": 5,
        "count": 2,
        "per_page": 2,
        "current_page": 1,
        "total_pages": 3,
        "links": {"next": f"{base}?page=2"},
    }


async def test_per_page_zero_means_fifteen_negative_means_everything_and_bad_pages_mean_one(http, ptero) -> None:
    ptero.seed_users(20)

    async def pagination(query: str) -> dict[str, Any]:
        answer = await call(http, ptero, "GET", f"{USERS}?{query}")
        return {**answer.json()["meta"]["pagination"], "ids": [u["attributes"]["id"] for u in answer.json()["data"]]}

    zero = await pagination("per_page=0")
    assert (zero["per_page"], zero["count"], zero["total_pages"]) == (15, 15, 2)
    everything = await pagination("per_page=-1")
    assert (everything["per_page"], everything["count"], everything["total_pages"]) == (-1, 21, 1)
    assert everything["links"] == {}
    assert (await pagination("page=abc"))["current_page"] == 1
    past_the_end = await pagination("per_page=10&page=9")
    assert (past_the_end["ids"], past_the_end["total"], past_the_end["current_page"]) == ([], 21, 9)
    assert (await pagination("per_page=3&sort=-id"))["ids"] == [21, 20, 19]


@pytest.mark.parametrize("flavor", ["pterodactyl", "pelican"])
async def test_per_page_has_no_maximum(http, flavor: str) -> None:
    async with PterodactylSimulator(flavor=flavor) as sim:
        sim.seed_users(1200)
        answer = (await call(http, sim, "GET", f"{USERS}?per_page=1000")).json()
    pagination = answer["meta"]["pagination"]
    assert (pagination["per_page"], len(answer["data"]), pagination["total_pages"]) == (1000, 1000, 2)


async def test_filters_are_case_insensitive_substrings_with_comma_as_or(http, ptero) -> None:
    ptero.add_user(username="alice", email="Alice@Example.org", external_id="whmcs-1")
    ptero.add_user(username="bob", email="bob@example.net")

    async def usernames(query: str) -> list[str]:
        answer = await call(http, ptero, "GET", f"{USERS}?{query}")
        assert answer.status == 200, answer.text
        return [user["attributes"]["username"] for user in answer.json()["data"]]

    assert await usernames("filter[email]=EXAMPLE.ORG") == ["alice"]
    assert await usernames("filter[username]=lic,bo") == ["alice", "bob"]
    assert await usernames("filter[username]=o&filter[email]=.net") == ["bob"]
    assert await usernames("filter[email]=") == ["admin", "alice", "bob"]  # empty value: no filter
    assert await usernames("filter[external_id]=%") == ["alice"]  # LIKE wildcard; NULL never matches
    assert await usernames("filter[username]=b_b") == ["bob"]


async def test_unknown_filter_and_sort_give_the_query_builders_400(http, ptero) -> None:
    unknown_filter = await call(http, ptero, "GET", f"{USERS}?filter[name]=x")
    assert unknown_filter.status == 400
    assert unknown_filter.json() == error(
        "InvalidFilterQuery",
        400,
        "Requested filter(s) `name` are not allowed. Allowed filter(s) are `email, uuid, username, external_id`.",
    )
    unknown_sort = await call(http, ptero, "GET", f"{USERS}?sort=email")
    assert unknown_sort.json() == error(
        "InvalidSortQuery", 400, "Requested sort(s) `email` is not allowed. Allowed sort(s) are `id, uuid`."
    )


async def test_include_servers_and_the_null_resource_without_server_permission(http, ptero) -> None:
    member = ptero.add_user(username="owner", email="owner@example.com")
    server_id = ptero.add_server(member.id, "survival")
    answer = await call(http, ptero, "GET", f"{USERS}/{member.id}?include=servers")
    servers = answer.json()["attributes"]["relationships"]["servers"]
    assert servers["object"] == "list"
    assert [(s["object"], s["attributes"]["id"], s["attributes"]["user"]) for s in servers["data"]] == [
        ("server", server_id, member.id)
    ]
    no_servers_key = ptero.create_application_key(r_users=1, r_servers=0)
    hidden = await call(http, ptero, "GET", f"{USERS}/{member.id}?include=servers", key=no_servers_key)
    assert hidden.status == 200
    assert hidden.json()["attributes"]["relationships"]["servers"] == {"object": "null_resource", "attributes": None}


async def test_external_id_lookup_is_exact_but_case_insensitive(http, ptero) -> None:
    member = ptero.add_user(username="linked", email="linked@example.com", external_id="Discord-42")
    found = await call(http, ptero, "GET", f"{USERS}/external/discord-42")
    assert found.json()["attributes"]["id"] == member.id
    partial = await call(http, ptero, "GET", f"{USERS}/external/discord")
    assert partial.status == 404


# --- Errors, authentication and precedence -------------------------------------------------------------------------


async def test_not_found_and_wrong_method_bodies(http, ptero) -> None:
    not_found = error("NotFoundHttpException", 404, "The requested resource could not be found on the server.")
    assert (await call(http, ptero, "GET", f"{USERS}/999")).json() == not_found
    assert (await call(http, ptero, "GET", f"{USERS}/nil")).json() == not_found
    assert (await call(http, ptero, "GET", f"{USERS}/external/nil")).json() == not_found
    legacy = await call(http, ptero, "GET", "/api/users", key=None)
    assert legacy.json() == error("NotFoundHttpException", 404, "The route api/users could not be found.")
    put = await call(http, ptero, "PUT", f"{USERS}/1", body={})
    assert put.status == 405
    assert put.headers["Allow"] == "GET, HEAD, PATCH, DELETE"
    assert put.json()["errors"][0]["detail"] == (
        "The PUT method is not supported for route api/application/users/1. "
        "Supported methods: GET, HEAD, PATCH, DELETE."
    )


async def test_authentication_and_permission_refusals(http, ptero) -> None:
    member = ptero.add_user(username="member", email="member@example.com")
    unauthenticated = error("AuthenticationException", 401, "Unauthenticated.")
    assert (await call(http, ptero, "GET", USERS, key=None)).json() == unauthenticated
    wrong_secret = ptero.admin_key[:16] + "x" * 32
    assert (await call(http, ptero, "GET", USERS, key=wrong_secret)).status == 401

    not_admin = error("AccessDeniedHttpException", 403, "This account does not have permission to access the API.")
    assert (await call(http, ptero, "GET", USERS, key=ptero.create_application_key(member.id))).json() == not_admin
    member_client_key = ptero.create_client_key(member.id)
    assert (await call(http, ptero, "GET", USERS, key=member_client_key)).json() == not_admin

    unauthorized = error("AccessDeniedHttpException", 403, "This action is unauthorized.")
    no_users = ptero.create_application_key(r_users=0)
    read_only = ptero.create_application_key(r_users=1)
    assert (await call(http, ptero, "GET", USERS, key=no_users)).json() == unauthorized
    assert (await call(http, ptero, "GET", USERS, key=read_only)).status == 200
    for method, path in (("POST", USERS), ("PATCH", f"{USERS}/1"), ("DELETE", f"{USERS}/1")):
        assert (await call(http, ptero, method, path, key=read_only, body={})).json() == unauthorized

    wrong_api = await call(http, ptero, "GET", "/api/client/account")
    assert wrong_api.json() == error(
        "AccessDeniedHttpException",
        403,
        "You are attempting to use an application API key on an endpoint that requires a client API key.",
    )
    admin_client_key = ptero.create_client_key(ptero.admin.id)
    assert (await call(http, ptero, "POST", USERS, key=admin_client_key, body=new_user())).status == 201

    fenced = ptero.create_application_key(allowed_ips=["10.0.0.0/8"])
    assert (await call(http, ptero, "GET", USERS, key=fenced)).json()["errors"][0]["detail"] == (
        "This IP address (127.0.0.1) does not have permission to access the API using these credentials."
    )
    ptero.revoke_key(read_only)
    assert (await call(http, ptero, "GET", USERS, key=read_only)).status == 401


async def test_malformed_json_is_a_400_after_authentication(http, ptero) -> None:
    answer = await call(http, ptero, "POST", USERS, data=b'{"email": ')
    assert answer.status == 400
    assert answer.json() == error(
        "BadRequestHttpException", 400, "The JSON data passed in the request appears to be malformed: Syntax error"
    )
    assert (await call(http, ptero, "POST", USERS, key=None, data=b"{")).status == 401


async def test_without_a_json_accept_header_the_panel_redirects(http, ptero) -> None:
    unauthenticated = await call(http, ptero, "GET", USERS, key=None, accept_json=False)
    assert unauthenticated.status == 302
    assert unauthenticated.headers["Location"] == f"{ptero.url}/auth/login"
    invalid = await call(http, ptero, "POST", USERS, body={}, accept_json=False)
    assert invalid.status == 302


async def test_deleting_a_user_who_owns_servers_is_a_400_display_exception(http, ptero) -> None:
    member = ptero.add_user(username="owner", email="owner@example.com")
    member_key = ptero.create_client_key(member.id)
    server_id = ptero.add_server(member.id)
    refused = await call(http, ptero, "DELETE", f"{USERS}/{member.id}")
    assert refused.status == 400
    assert refused.json() == error(
        "DisplayException",
        400,
        "Cannot delete a user with active servers attached to their account. "
        "Please delete their servers before continuing.",
    )
    ptero.remove_server(server_id)
    deleted = await call(http, ptero, "DELETE", f"{USERS}/{member.id}")
    assert (deleted.status, deleted.text) == (204, "")
    assert member.id not in ptero.users
    assert (await call(http, ptero, "GET", f"{USERS}/{member.id}")).status == 404
    assert (await call(http, ptero, "GET", "/api/client/account", key=member_key)).status == 401


# --- Rate limiting -------------------------------------------------------------------------------------------------


async def test_rate_limit_headers_429_and_the_shared_owner_bucket(http) -> None:
    async with PterodactylSimulator(rate_limit=2, rate_window=0.5) as sim:
        first = await call(http, sim, "GET", USERS)
        assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
        second_key = sim.create_application_key()  # same owner, same bucket
        assert (await call(http, sim, "GET", USERS, key=second_key)).headers["X-RateLimit-Remaining"] == "0"

        refused = await call(http, sim, "GET", USERS)
        assert refused.status == 429
        assert refused.json() == error("ThrottleRequestsException", 429, "Too Many Attempts.")
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["Retry-After"] == "1"
        assert int(refused.headers["X-RateLimit-Reset"]) >= int(time.time())

        client_key = sim.create_client_key(sim.admin.id)  # the client API has its own bucket
        account = await call(http, sim, "GET", "/api/client/account", key=client_key)
        assert (account.status, account.headers["X-RateLimit-Limit"]) == (200, "720")

        await asyncio.sleep(0.55)
        assert (await call(http, sim, "GET", USERS)).status == 200
        sim.rate_limit = 1
        assert (await call(http, sim, "GET", USERS)).status == 429
        sim.reset_rate_limits()
        assert (await call(http, sim, "GET", USERS)).status == 200


async def test_401_comes_before_429_and_a_404_for_an_unknown_id_counts(http) -> None:
    async with PterodactylSimulator(rate_limit=2) as sim:
        for remaining in ("1", "0"):
            missing = await call(http, sim, "GET", f"{USERS}/999")
            assert (missing.status, missing.headers["X-RateLimit-Remaining"]) == (404, remaining)
        assert (await call(http, sim, "GET", USERS)).status == 429
        unauthenticated = await call(http, sim, "GET", USERS, key="ptla_" + "x" * 43)
        assert unauthenticated.status == 401
        assert "X-RateLimit-Limit" not in unauthenticated.headers
        route_missing = await call(http, sim, "GET", "/api/application/userz")
        assert route_missing.status == 404


# --- Client API ----------------------------------------------------------------------------------------------------


async def test_account_endpoint_pterodactyl(http, ptero) -> None:
    member = ptero.add_user(username="member", email="member@example.com", first_name="Mem", last_name="Ber")
    answer = await call(http, ptero, "GET", "/api/client/account", key=ptero.create_client_key(member.id))
    assert answer.json() == {
        "object": "user",
        "attributes": {
            "id": member.id,
            "admin": False,
            "username": "member",
            "email": "member@example.com",
            "first_name": "Mem",
            "last_name": "Ber",
            "language": "en",
        },
    }


async def test_account_endpoint_pelican_has_uuid_and_no_id(http, pel) -> None:
    member = pel.add_user(username="member", email="Member@Example.com")
    key = pel.create_client_key(member.id)
    assert key.startswith("pacc_") and len(key) == 48
    attributes = (await call(http, pel, "GET", "/api/client/account", key=key)).json()["attributes"]
    assert "id" not in attributes
    assert attributes["uuid"] == member.uuid
    assert attributes["email"] == "member@example.com"
    assert attributes["image"].startswith("https://gravatar.com/avatar/")
    assert (attributes["admin"], attributes["root_admin"], attributes["2fa_enabled"]) == (False, False, False)


# --- Pelican -------------------------------------------------------------------------------------------------------


async def test_pelican_user_shape_and_looser_validation(http, pel) -> None:
    assert pel.admin_key.startswith("papp_")
    empty = await call(http, pel, "POST", USERS, body={})
    assert [e["meta"]["source_field"] for e in empty.json()["errors"]] == ["email", "username"]

    created = await call(http, pel, "POST", USERS, body={"email": " Shout@Example.COM", "username": "_x"})
    assert created.status == 201
    attributes = created.json()["attributes"]
    assert list(attributes) == [
        "id",
        "external_id",
        "is_managed_externally",
        "uuid",
        "username",
        "email",
        "language",
        "root_admin",
        "2fa_enabled",
        "2fa",
        "created_at",
        "updated_at",
    ]
    assert (attributes["email"], attributes["username"]) == ("shout@example.com", "_x")

    patched = await call(
        http, pel, "PATCH", f"{USERS}/{attributes['id']}", body={"email": "shout@example.com", "username": "loud"}
    )
    assert patched.json()["attributes"]["username"] == "loud"


async def test_pelican_filters_take_wildcards_literally(http, pel) -> None:
    pel.add_user(username="under_score", email="u@example.com")
    pel.add_user(username="underxscore", email="x@example.com")
    answer = await call(http, pel, "GET", f"{USERS}?filter[username]=under_")
    assert [u["attributes"]["username"] for u in answer.json()["data"]] == ["under_score"]
    assert (await call(http, pel, "GET", f"{USERS}?filter[email]=%")).json()["data"] == []


async def test_pelican_delete_refusals(http, pel) -> None:
    other_root = pel.add_user(username="root2", email="root2@example.com", root_admin=True)
    refused = await call(http, pel, "DELETE", f"{USERS}/{other_root.id}")
    assert (refused.status, refused.text) == (403, "[]")

    staff = pel.add_user(username="staff", email="staff@example.com")
    staff.role_ids.add(pel.add_role("Support"))
    staff_key = pel.create_application_key(staff.id)
    own = await call(http, pel, "DELETE", f"{USERS}/{staff.id}", key=staff_key)
    assert own.json() == error("DisplayException", 400, "Cannot delete your own user account.")


async def test_pelican_binds_the_user_before_authenticating(http, pel) -> None:
    assert (await call(http, pel, "GET", f"{USERS}/999", key=None)).status == 404
    assert (await call(http, pel, "GET", f"{USERS}/1", key=None)).status == 401
    assert (await call(http, pel, "GET", USERS)).headers["X-RateLimit-Limit"] == "256"


# --- Faults and the request log ------------------------------------------------------------------------------------


async def test_fault_switches_each_apply_to_the_next_requests_only(http, ptero) -> None:
    ptero.faults.fail_next, ptero.faults.fail_status = 1, 503
    unavailable = await call(http, ptero, "GET", USERS)
    assert unavailable.status == 503
    assert unavailable.json()["errors"][0]["status"] == "503"

    users_before = len(ptero.users)
    ptero.faults.drop_next = 1  # POST: aiohttp retries idempotent methods once after a drop, so 1 would not show
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, ptero, "POST", USERS, body=new_user())
    assert ptero.requests[-1].status is None
    ptero.faults.drop_next = 2
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, ptero, "GET", USERS)

    ptero.faults.malformed_next = 1
    malformed = await call(http, ptero, "POST", USERS, body=new_user())
    assert malformed.status == 200
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    assert len(ptero.users) == users_before  # a faulted request never reaches the panel

    ptero.faults.html_errors_next = 1
    proxy = await call(http, ptero, "GET", USERS)
    assert proxy.status == 502
    assert proxy.headers["Content-Type"].startswith("text/html")

    ptero.faults.latency = 0.1
    started = time.perf_counter()
    assert (await call(http, ptero, "GET", USERS)).status == 200
    assert time.perf_counter() - started >= 0.1


async def test_request_log_keeps_the_request_but_never_the_key(http, ptero) -> None:
    await call(http, ptero, "POST", f"{USERS}?include=servers", body=new_user())
    (recorded,) = ptero.requests
    assert (recorded.method, recorded.path, recorded.query, recorded.status) == (
        "POST",
        USERS,
        {"include": "servers"},
        201,
    )
    assert recorded.json == new_user()
    assert ptero.admin_key not in repr(recorded)


async def test_ten_thousand_users_seed_fast_and_list_whole(http) -> None:
    async with PterodactylSimulator() as sim:
        started = time.perf_counter()
        sim.seed_users(10_000)
        assert time.perf_counter() - started < 1.0
        answer = await call(http, sim, "GET", f"{USERS}?per_page=-1")
        assert answer.json()["meta"]["pagination"]["count"] == 10_001
        last_page = await call(http, sim, "GET", f"{USERS}?page=201")
        assert [u["attributes"]["id"] for u in last_page.json()["data"]] == [10_001]

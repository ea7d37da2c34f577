"""The Calagopus simulator against the documented behaviour (shared/panels/ctrlpanel-convoy-calagopus.md, section C),
over real HTTP.

These pin the details a client is most likely to trip over, so a client test passing against the simulator means
something about the real panel.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from simulators.calagopus import USERS_ADMIN_PERMISSIONS, CalagopusSimulator
from simulators.loopback import Answer

USERS = "/api/admin/users"
ACCOUNT = "/api/client/account"
ADMIN = object()  # "use the simulator's admin key"
CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z")
ROOT = Path(__file__).parent.parent


@pytest.fixture
async def sim() -> AsyncIterator[CalagopusSimulator]:
    async with CalagopusSimulator() as simulator:
        yield simulator


async def call(
    http: aiohttp.ClientSession,
    sim: CalagopusSimulator,
    method: str,
    path: str,
    *,
    key: object = ADMIN,
    body: Any = None,
    data: bytes | None = None,
    content_type: str | None = "application/json",
    authorization: str | None = None,
) -> Answer:
    headers: dict[str, str] = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif key is not None:
        headers["Authorization"] = f"Bearer {sim.api_key if key is ADMIN else key}"
    payload = data if data is not None else None if body is None else json.dumps(body).encode()
    if payload is not None and content_type is not None:
        headers["Content-Type"] = content_type
    skip = ["Content-Type"] if content_type is None else []  # aiohttp would add application/octet-stream
    async with http.request(
        method, sim.url + path, headers=headers, data=payload, allow_redirects=False, skip_auto_headers=skip
    ) as response:
        return await Answer.read(response)


def errors(*messages: str) -> dict[str, list[str]]:
    return {"errors": list(messages)}


def wrapped(answer: Answer) -> list[str]:
    """The messages of a validation error, which the panel wraps in a second `{"errors": [...]}` document."""
    (inner,) = answer.json()["errors"]
    return json.loads(inner)["errors"]


def new_user(**overrides: Any) -> dict[str, Any]:
    return {
        "username": "alice_1",
        "email": "alice@example.com",
        "name_first": "Alice",
        "name_last": "Liddell",
        "admin": False,
        "language": "en",
        **overrides,
    }


# --- Create --------------------------------------------------------------------------------------------------------


async def test_create_answers_200_with_the_user_in_the_structs_order(http, sim) -> None:
    answer = await call(http, sim, "POST", USERS, body=new_user(external_id="whmcs-42"))
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json" and answer.headers["Vary"] == "Accept"
    user = answer.json()["user"]
    assert list(user) == [
        "uuid",
        "external_id",
        "username",
        "role",
        "avatar",
        "email",
        "name_first",
        "name_last",
        "admin",
        "frozen",
        "suspended",
        "totp_enabled",
        "totp_last_used",
        "require_two_factor",
        "language",
        "toast_position",
        "start_on_grouped_servers",
        "has_password",
        "created",
    ]
    assert str(uuid.UUID(user["uuid"])) == user["uuid"]
    assert (user["username"], user["external_id"], user["has_password"]) == ("alice_1", "whmcs-42", False)
    assert CREATED.fullmatch(user["created"])
    assert sim.users[user["uuid"]].email == "alice@example.com"


async def test_create_reads_the_payload_before_the_permission_check(http, sim) -> None:
    no_create = sim.create_api_key(sim.admin.uuid, admin_permissions=("users.read",))
    for body, data, content_type, message in [
        (None, b"{}", "application/json", "invalid payload: missing field `username` at line 1 column 2"),
        (None, b"", "application/json", "invalid payload: missing field `username` at line 1 column 2"),
        ({k: v for k, v in new_user().items() if k != "admin"}, None, "application/json", "missing field `admin`"),
        (
            {k: v for k, v in new_user().items() if k != "language"},
            None,
            "application/json",
            "missing field `language`",
        ),
        (new_user(admin="no"), None, "application/json", 'invalid type: string "no", expected a boolean'),
        (new_user(username=5), None, "application/json", "invalid type: integer `5`, expected a string"),
        (new_user(), None, None, "invalid payload: missing content type header"),
        (new_user(), None, "application/json; charset=utf-8", "invalid payload: unsupported content type"),
        (None, b'{"username": ', "application/json", "invalid payload: EOF while parsing a value at line 1"),
    ]:
        answer = await call(http, sim, "POST", USERS, key=no_create, body=body, data=data, content_type=content_type)
        assert answer.status == 400, message
        (text,) = answer.json()["errors"]
        assert message in text
    refused = await call(http, sim, "POST", USERS, key=no_create, body=new_user())
    assert (refused.status, refused.json()) == (
        403,
        errors("you do not have permission to perform this action: users.create"),
    )
    assert len(sim.users) == 1


async def test_validation_errors_are_wrapped_twice_and_list_every_problem(http, sim) -> None:
    body = new_user(username="x!", email="nope", language="x", name_first="", password="")
    answer = await call(http, sim, "POST", USERS, body=body)
    assert answer.status == 400
    assert answer.json()["errors"][0].startswith('{"errors":[')
    assert wrapped(answer) == [
        "username: length is lower than 3",
        "username: does not match pattern /^[a-zA-Z0-9_]+$/",
        "email: not a valid email: value is missing `@`",
        "name_first: length is lower than 1",
        "password: length is lower than 1",
        "language: length is lower than 2",
        "language: invalid language: x",
    ]
    unknown_role = await call(http, sim, "POST", USERS, body=new_user(role_uuid=str(uuid.uuid4())))
    assert unknown_role.json() == errors("invalid relation `role` provided")
    assert len(sim.users) == 1


async def test_taken_values_are_409_case_insensitive_for_username_and_email_only(http, sim) -> None:
    sim.add_user(username="Taken", email="Taken@Example.com", external_id="Ext-1")
    on_create = errors("user with email/username already exists")
    for overrides in ({"username": "taken"}, {"email": "TAKEN@example.com"}, {"external_id": "Ext-1"}):
        answer = await call(http, sim, "POST", USERS, body=new_user(**overrides))
        assert (answer.status, answer.json()) == (409, on_create), overrides
    other_case = await call(http, sim, "POST", USERS, body=new_user(external_id="ext-1"))
    assert other_case.status == 200  # a plain unique index on external_id: case matters

    member = sim.add_user(username="member", email="member@example.com")
    renamed = await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", body={"username": "TAKEN"})
    assert (renamed.status, renamed.json()) == (409, errors("user with email/username/external_id already exists"))
    own_name = await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", body={"username": "MEMBER"})
    assert own_name.status == 200 and member.username == "MEMBER"


async def test_non_admin_callers_are_refused_admin_and_role_changes(http, sim) -> None:
    support = sim.add_role("Support", admin_permissions=("users.read", "users.create", "users.update"))
    staff = sim.add_user(username="staff", email="staff@example.com", role_uuid=support)
    staff_key = sim.create_api_key(staff.uuid)
    assert (await call(http, sim, "GET", USERS, key=staff_key)).status == 200
    grant = await call(http, sim, "POST", USERS, key=staff_key, body=new_user(admin=True))
    assert grant.json() == errors("you cannot grant admin status")
    roles = await call(http, sim, "POST", USERS, key=staff_key, body=new_user(role_uuid=support))
    assert roles.json() == errors("you cannot assign roles")
    touch_admin = await call(http, sim, "PATCH", f"{USERS}/{sim.admin.uuid}", key=staff_key, body={"name_last": "X"})
    assert touch_admin.json() == errors("you cannot modify an administrator")
    member = sim.add_user(username="member", email="member@example.com")
    password = await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", key=staff_key, body={"password": "x" * 10})
    assert password.json() == errors("you cannot change another user's password")
    delete = await call(http, sim, "DELETE", f"{USERS}/{member.uuid}", key=staff_key)
    assert delete.json() == errors("you do not have permission to perform this action: users.delete")
    promote = await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", key=staff_key, body={"role_uuid": support})
    assert promote.json() == errors("you cannot change a user's role")
    await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", body={"role_uuid": support.upper()})
    assert member.role_uuid == support
    await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", body={"role_uuid": None})
    assert member.role_uuid is None


# --- Update, delete, lookups ---------------------------------------------------------------------------------------


async def test_patch_and_delete_answer_an_empty_object(http, sim) -> None:
    member = sim.add_user(username="member", email="member@example.com", external_id="e-1", password="original1")
    patched = await call(
        http, sim, "PATCH", f"{USERS}/{member.uuid}", body={"name_first": "Mem", "external_id": None, "password": None}
    )
    assert (patched.status, patched.text) == (200, "{}")
    assert (member.name_first, member.external_id) == ("Mem", None)
    assert member.password_matches("original1")  # a null password is read as "absent" by the struct

    short = await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", body={"password": "short", "external_id": ""})
    assert wrapped(short) == ["external_id: length is lower than 1", "password: length is lower than 8"]
    await call(http, sim, "PATCH", f"{USERS}/{member.uuid}", body={"password": "longenough", "suspended": True})
    assert member.password_matches("longenough") and member.suspended

    deleted = await call(http, sim, "DELETE", f"{USERS}/{member.uuid}")
    assert (deleted.status, deleted.text) == (200, "{}")
    assert member.uuid not in sim.users
    gone = await call(http, sim, "GET", f"{USERS}/{member.uuid}")
    assert (gone.status, gone.json()) == (404, errors("user not found"))


async def test_the_user_middleware_checks_permission_then_uuid_then_row(http, sim) -> None:
    no_read = sim.create_api_key(sim.admin.uuid, admin_permissions=("users.update", "users.delete"))
    for method in ("GET", "PATCH", "DELETE"):
        refused = await call(http, sim, method, f"{USERS}/not-a-uuid", key=no_read, body={})
        assert refused.json() == errors("you do not have permission to perform this action: users.read")
    assert (await call(http, sim, "GET", f"{USERS}/not-a-uuid")).json() == errors("invalid user uuid")
    assert (await call(http, sim, "GET", f"{USERS}/{uuid.uuid4()}")).json() == errors("user not found")
    braces = await call(http, sim, "GET", f"{USERS}/{{{sim.admin.uuid.upper()}}}")
    assert braces.json()["user"]["uuid"] == sim.admin.uuid  # uuid::Uuid::parse_str takes any of its forms


async def test_deleting_a_user_who_owns_servers_is_a_400(http, sim) -> None:
    member = sim.add_user(username="owner", email="owner@example.com")
    member_key = sim.create_client_key(member.uuid)
    server_id = sim.add_server(member.uuid)
    refused = await call(http, sim, "DELETE", f"{USERS}/{member.uuid}")
    assert (refused.status, refused.json()) == (400, errors("user has servers, cannot delete"))
    sim.remove_server(server_id)
    assert (await call(http, sim, "DELETE", f"{USERS}/{member.uuid}")).status == 200
    assert (await call(http, sim, "GET", ACCOUNT, key=member_key)).json() == errors("invalid api key")  # cascaded


async def test_external_id_lookup_is_exact_and_decodes_the_segment(http, sim) -> None:
    member = sim.add_user(username="member", email="member@example.com", external_id="billing/7")
    found = await call(http, sim, "GET", f"{USERS}/external/billing%2F7")
    assert found.json()["user"]["uuid"] == member.uuid
    assert (await call(http, sim, "GET", f"{USERS}/external/BILLING%2F7")).json() == errors("user not found")
    assert (await call(http, sim, "GET", f"{USERS}/external/billing")).status == 404


# --- Listing -------------------------------------------------------------------------------------------------------


async def test_list_pages_default_to_25_and_past_the_end_count_nothing(http, sim) -> None:
    sim.seed_users(30)
    first = (await call(http, sim, "GET", USERS)).json()["users"]
    assert (first["total"], first["per_page"], first["page"], len(first["data"])) == (31, 25, 1, 25)
    assert first["data"][0]["username"] == "admin"  # ordered by created
    second = (await call(http, sim, "GET", f"{USERS}?page=2")).json()["users"]
    assert [u["username"] for u in second["data"]] == [f"user{n}" for n in range(25, 31)]
    past = (await call(http, sim, "GET", f"{USERS}?page=9")).json()
    assert past == {"users": {"total": 0, "per_page": 25, "page": 9, "data": []}}


async def test_list_query_is_validated_before_the_permission_check(http, sim) -> None:
    no_read = sim.create_api_key(sim.admin.uuid, admin_permissions=())
    too_many = await call(http, sim, "GET", f"{USERS}?per_page=101", key=no_read)
    assert (too_many.status, too_many.json()) == (400, errors("per_page: greater than 100"))
    zeros = await call(http, sim, "GET", f"{USERS}?page=0&per_page=0")
    assert zeros.json() == errors("page: lower than 1", "per_page: lower than 1")
    long_search = await call(http, sim, "GET", f"{USERS}?search={'a' * 129}")
    assert long_search.json() == errors("search: length is greater than 128")
    not_a_number = await call(http, sim, "GET", f"{USERS}?page=two")
    assert not_a_number.status == 400 and not_a_number.headers["Content-Type"].startswith("text/plain")
    assert not_a_number.text == "Failed to deserialize query string: invalid digit found in string"
    refused = await call(http, sim, "GET", USERS, key=no_read)
    assert refused.json() == errors("you do not have permission to perform this action: users.read")


async def test_search_is_an_unescaped_ilike_on_username_or_email(http, sim) -> None:
    sim.add_user(username="a_b", email="first@example.com")
    sim.add_user(username="AXB", email="second@example.com")
    sim.add_user(username="other", email="a_b@mail.example")
    sim.add_user(username="Smith", email="x@example.com", name_first="a_b")

    async def search(term: str) -> list[str]:
        answer = await call(http, sim, "GET", f"{USERS}?search={term}")
        return [u["username"] for u in answer.json()["users"]["data"]]

    assert await search("a_b") == ["a_b", "AXB", "other"]  # `_` matches any character; names are not searched
    assert await search("a%5C_b") == ["a_b", "other"]  # a backslash escapes it
    assert await search("a%25b") == ["a_b", "AXB", "other"]  # %25 is `%`
    assert await search("") == ["admin", "a_b", "AXB", "other", "Smith"]  # empty counts as absent


# --- Authentication and permissions --------------------------------------------------------------------------------


async def test_the_authorization_header_must_be_exactly_55_bytes(http, sim) -> None:
    key = sim.api_key
    assert len(key) == 48 and key.startswith("c7sp_")
    cases = [
        (None, "missing authorization"),
        ("Bearer short", "invalid authorization header"),
        (f"Bearer {key}x", "invalid authorization header"),
        (f"Bearer  {key}", "invalid authorization header"),
        (f"Bearer {key[:-1]}é", "invalid authorization header"),  # 48 characters, 49 bytes
        (f"bearer {key}", "invalid api key"),  # right length, but only "Bearer " is stripped
        (f"Bearer {key[:16]}{'x' * 32}", "invalid api key"),
        ("Bearer Bearer " + key[7:], "invalid api key"),
    ]
    for authorization, message in cases:
        answer = await call(http, sim, "GET", USERS, key=None, authorization=authorization)
        assert (answer.status, answer.json()) == (401, errors(message)), authorization
    assert (await call(http, sim, "GET", USERS, authorization=f"Bearer {key}")).status == 200

    expired = sim.create_api_key(sim.admin.uuid, expires=datetime.now(UTC) - timedelta(seconds=1))
    assert (await call(http, sim, "GET", USERS, key=expired)).json() == errors("invalid api key")
    sim.revoke_key(key)
    assert (await call(http, sim, "GET", USERS)).json() == errors("invalid api key")


async def test_key_and_account_gates(http, sim) -> None:
    fenced = sim.create_api_key(sim.admin.uuid, allowed_ips=["10.0.0.0/8"])
    assert (await call(http, sim, "GET", USERS, key=fenced)).json() == errors("ip address not allowed for this api key")
    assert (await call(http, sim, "GET", ACCOUNT, key=fenced)).status == 403

    member = sim.add_user(username="member", email="member@example.com")
    member_key = sim.create_api_key(member.uuid)
    assert (await call(http, sim, "GET", USERS, key=member_key)).json() == errors("unauthorized")
    assert (await call(http, sim, "GET", ACCOUNT, key=member_key)).status == 200

    member.suspended = True
    assert (await call(http, sim, "GET", f"{ACCOUNT}/api-keys", key=member_key)).json() == errors(
        "account is suspended"
    )
    assert (await call(http, sim, "GET", ACCOUNT, key=member_key)).status == 200  # the account route is exempt

    sim.two_factor_requirement = "admins"
    assert (await call(http, sim, "GET", USERS)).json() == errors("two-factor authentication required")
    assert (await call(http, sim, "GET", ACCOUNT)).status == 200
    sim.admin.totp_enabled = True
    assert (await call(http, sim, "GET", USERS)).status == 200


async def test_a_key_holds_only_what_its_owner_holds(http, sim) -> None:
    reader = sim.add_role("Reader", admin_permissions=("users.read",))
    staff = sim.add_user(username="staff", email="staff@example.com", role_uuid=reader)
    staff_key = sim.create_api_key(staff.uuid)  # lists every users permission
    assert (await call(http, sim, "GET", USERS, key=staff_key)).status == 200
    refused = await call(http, sim, "POST", USERS, key=staff_key, body=new_user())
    assert refused.json() == errors("you do not have permission to perform this action: users.create")
    staff_view = (await call(http, sim, "GET", f"{USERS}/{staff.uuid}")).json()["user"]
    assert staff_view["role"]["name"] == "Reader"
    assert staff_view["role"]["admin_permissions"] == ["users.read"]


async def test_account_endpoint_and_the_keys_own_listing(http, sim) -> None:
    member = sim.add_user(username="member", email="member@example.com", external_id="e-1")
    bare = sim.create_client_key(member.uuid)
    account = (await call(http, sim, "GET", ACCOUNT, key=bare)).json()
    assert account["user"]["uuid"] == member.uuid and "external_id" not in account["user"]
    refused = await call(http, sim, "GET", f"{ACCOUNT}/api-keys", key=bare)
    assert refused.json() == errors("you do not have permission to perform this action: api-keys.read")

    listing = (await call(http, sim, "GET", f"{ACCOUNT}/api-keys")).json()["api_keys"]
    (own,) = listing["data"]
    assert own["key_start"] == sim.api_key[:16]
    assert own["admin_permissions"] == list(USERS_ADMIN_PERMISSIONS)
    assert sim.api_key not in json.dumps(listing)


async def test_unknown_routes_and_wrong_methods_are_axums_bare_answers(http, sim) -> None:
    unknown = await call(http, sim, "GET", "/api/admin/userz")
    assert (unknown.status, unknown.text) == (404, "")
    trailing = await call(http, sim, "GET", f"{USERS}/")
    assert trailing.status == 404
    wrong = await call(http, sim, "PUT", f"{USERS}/{sim.admin.uuid}", body={})
    assert (wrong.status, wrong.text, wrong.headers["Allow"]) == (405, "", "DELETE,GET,HEAD,PATCH")


# --- Rate limiting -------------------------------------------------------------------------------------------------


async def test_the_rate_limit_counts_every_hit_and_refuses_the_limit_th(http) -> None:
    async with CalagopusSimulator(rate_limit=3, rate_window=30) as sim:
        first = await call(http, sim, "GET", USERS)
        assert first.status == 200 and "X-RateLimit-Limit" not in first.headers
        assert (await call(http, sim, "GET", USERS, key=None)).status == 401  # counted all the same
        refused = await call(http, sim, "GET", USERS)
        assert refused.status == 429
        assert refused.json() == errors(f"you are ratelimited, retry in {refused.headers['Retry-After']}s")
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert 29 <= int(refused.headers["Retry-After"]) <= 30
        assert abs(int(refused.headers["X-RateLimit-Reset"]) - (time.time() + 30)) <= 2
        assert (await call(http, sim, "GET", ACCOUNT)).status == 429  # one bucket for the whole client API
        assert (await call(http, sim, "GET", "/api/admin/userz")).status == 404  # unrouted: no limiter
        sim.reset_rate_limits()
        assert (await call(http, sim, "GET", USERS)).status == 200


async def test_the_window_starts_at_the_first_hit(http) -> None:
    async with CalagopusSimulator(rate_limit=2, rate_window=0.3) as sim:
        assert (await call(http, sim, "GET", USERS)).status == 200
        assert (await call(http, sim, "GET", USERS)).status == 429
        await asyncio.sleep(0.35)
        assert (await call(http, sim, "GET", USERS)).status == 200


# --- Faults, the request log, volume, by hand ----------------------------------------------------------------------


async def test_fault_switches_apply_to_the_next_requests_only(http, sim) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 1, 503
    unavailable = await call(http, sim, "GET", USERS)
    assert (unavailable.status, unavailable.json()) == (503, errors("internal server error"))

    sim.faults.drop_next = 1
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, sim, "POST", USERS, body=new_user())
    sim.faults.malformed_next = 1
    malformed = await call(http, sim, "POST", USERS, body=new_user())
    assert malformed.status == 200
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    assert len(sim.users) == 1  # a faulted request never reaches the panel

    sim.faults.html_errors_next = 1
    proxy = await call(http, sim, "GET", USERS)
    assert proxy.status == 502 and proxy.headers["Content-Type"].startswith("text/html")
    assert (await call(http, sim, "GET", USERS)).status == 200


async def test_request_log_keeps_the_request_but_never_the_key(http, sim) -> None:
    await call(http, sim, "POST", f"{USERS}?x=1", body=new_user())
    (recorded,) = sim.requests
    assert (recorded.method, recorded.path, recorded.query, recorded.status) == ("POST", USERS, {"x": "1"}, 200)
    assert recorded.json == new_user()
    assert sim.api_key not in repr(recorded) and sim.api_key not in repr(sim.key_record(sim.api_key))


async def test_ten_thousand_users_seed_fast_and_page_to_the_end(http) -> None:
    async with CalagopusSimulator() as sim:
        started = time.perf_counter()
        sim.seed_users(10_000)
        assert time.perf_counter() - started < 1.0
        last = (await call(http, sim, "GET", f"{USERS}?page=101&per_page=100")).json()["users"]
        assert last["total"] == 10_001 and [u["username"] for u in last["data"]] == ["user10000"]


async def test_runnable_by_hand_prints_the_url_and_a_working_key(http, unused_tcp_port: int) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "calagopus",
        "--port",
        str(unused_tcp_port),
        "--users",
        "3",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        key_line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        url = f"http://127.0.0.1:{unused_tcp_port}"
        assert url in banner and "4 users" in banner
        key = key_line.rsplit(": ", 1)[1].strip()
        headers = {"Authorization": f"Bearer {key}"}
        async with http.get(f"{url}{USERS}", headers=headers) as response:
            assert (await response.json())["users"]["total"] == 4
    finally:
        process.terminate()
        await process.wait()

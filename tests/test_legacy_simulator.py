"""The Pterodactyl 0.5 simulator against the seed and the 0.5 sources, over real HTTP.

Requests here are signed by a helper that hashes a canonical URL written out by hand in each test, independently of
both the simulator's and the client's URL handling, so the two cannot agree on a mistake.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from simulators import __main__ as simulators_cli
from simulators import pterodactyl_legacy
from simulators.loopback import Answer, welcome_of
from simulators.pterodactyl_legacy import (
    BAD_CREDENTIALS,
    DELETE_FAILED,
    HAS_SERVERS,
    INVALID_KEY,
    NO_PERMISSION,
    UPDATE_FAILED,
    USER_NOT_FOUND,
    VALIDATION_FAILED,
    DingoError,
    LegacyPterodactylSimulator,
)

USERS = "/api/users"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
SEED_USER_KEYS = ["id", "uuid", "email", "language", "root_admin", "use_totp", "created_at", "updated_at"]


@pytest.fixture
async def sim() -> AsyncIterator[LegacyPterodactylSimulator]:
    async with LegacyPterodactylSimulator() as simulator:
        yield simulator


def signature(secret: str, content: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()


async def call(
    http: aiohttp.ClientSession,
    sim: LegacyPterodactylSimulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
    signed_url: str | None = None,
    signed_body: bytes | None = None,
    raw: bytes | None = None,
    authorization: str | None = None,
) -> Answer:
    """Send `path` exactly as written, signed over `signed_url` (default: the URL sent) and the body sent."""
    public, _, secret = (key or sim.api_key).partition(":")
    data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    content = (signed_url or sim.url + path).encode() + (data if signed_body is None else signed_body)
    headers = {"Accept": "application/json"}
    headers["Authorization"] = (
        authorization if authorization is not None else f"Bearer {public}.{signature(secret, content)}"
    )
    if data:
        headers["Content-Type"] = "application/json"
    url = URL(sim.url + path, encoded=True)
    async with http.request(method, url, data=data or None, headers=headers) as response:
        return await Answer.read(response)


# --- control API ------------------------------------------------------------------------------------------------


async def test_control_api_keys_users_and_servers() -> None:
    sim = LegacyPterodactylSimulator()
    assert re.fullmatch(r"[A-Za-z0-9]{16}:[A-Za-z0-9]{16}\.[A-Za-z0-9]{7}\.[A-Za-z0-9]{7}", sim.api_key)
    assert sim.key_for(sim.api_key) is not None and sim.key_for(sim.api_key).user_id == sim.admin.id
    assert sim.admin.root_admin and list(sim.users) == [sim.admin.id]
    steve = sim.add_user(username="steve", email="Steve@Example.com", use_totp=True, password="Secret123")
    assert (steve.username, steve.external_id, steve.two_factor) == (None, None, True)
    assert steve.password_matches("Secret123") and not steve.password_matches("secret123")
    with pytest.raises(ValueError, match="already taken"):
        sim.add_user(username="again", email="steve@example.COM")
    started = time.perf_counter()
    seeded = sim.seed_users(3000, prefix="member")
    assert time.perf_counter() - started < 0.5
    assert seeded[0].email == f"member{seeded[0].id}@example.com" and len(sim.users) == 3002
    first, second = sim.add_server(steve.id), sim.add_server(steve.id)
    assert second == first + 1 and sim.servers[first].owner_id == steve.id
    with pytest.raises(KeyError):
        sim.add_server(999_999)
    async with sim:
        assert sim.url.startswith("http://127.0.0.1:")
    assert sim._runner is None


async def test_revoked_and_deleted_owners_keys_stop_working(http, sim) -> None:
    member = sim.add_user(username="m", email="m@example.com")
    member_key = sim.create_key(member.id)
    assert (await call(http, sim, "GET", USERS, key=member_key)).status == 200
    sim.revoke_key(sim.api_key)
    refused = await call(http, sim, "GET", USERS)
    assert (refused.status, refused.json()) == (403, {"message": INVALID_KEY, "status_code": 403})
    other_key = sim.create_key()
    assert (await call(http, sim, "DELETE", f"{USERS}/{member.id}", key=other_key)).status == 204
    assert (await call(http, sim, "GET", USERS, key=member_key)).status == 403


# --- authentication ---------------------------------------------------------------------------------------------


async def test_routing_comes_before_authentication(http, sim) -> None:
    unknown = await call(http, sim, "GET", "/api/userz", authorization="")
    assert (unknown.status, unknown.json()) == (404, {"message": "404 Not Found", "status_code": 404})
    wrong_method = await call(http, sim, "PUT", f"{USERS}/1", authorization="")
    assert wrong_method.status == 405 and wrong_method.json()["message"] == "405 Method Not Allowed"
    assert "PATCH" in wrong_method.headers["Allow"]


async def test_refusals_in_the_middlewares_order(http, sim) -> None:
    missing = await call(http, sim, "GET", USERS, authorization="")
    assert (missing.status, missing.json()) == (401, {"message": "401 Unauthorized", "status_code": 401})
    assert missing.headers["WWW-Authenticate"] == "The authentication header was missing or malformed."
    lowercase = await call(http, sim, "GET", USERS, authorization="bearer abc.def")
    assert lowercase.status == 401
    no_dot = await call(http, sim, "GET", USERS, authorization="Bearer abcdef")
    assert (no_dot.status, no_dot.json()["message"]) == (500, "Undefined offset: 1")
    unknown = await call(http, sim, "GET", USERS, key="NoSuchPublicKey0:whatever")
    assert (unknown.status, unknown.json()["message"]) == (403, INVALID_KEY)
    public = sim.api_key.partition(":")[0]
    wrong_secret = await call(http, sim, "GET", USERS, key=f"{public}:not-the-secret")
    assert (wrong_secret.status, wrong_secret.json()) == (401, {"message": BAD_CREDENTIALS, "status_code": 401})


async def test_key_permissions_and_ip_allow_list(http, sim) -> None:
    list_only = sim.create_key(permissions=["api.admin.users.list"])
    assert (await call(http, sim, "GET", USERS, key=list_only)).status == 200
    view = await call(http, sim, "GET", f"{USERS}/1", key=list_only)
    assert (view.status, view.json()["message"]) == (403, NO_PERMISSION)
    elsewhere = sim.create_key(allowed_ips=["10.0.0.0/8"])
    refused = await call(http, sim, "GET", USERS, key=elsewhere)
    assert refused.status == 403
    assert refused.json()["message"] == "This IP address <127.0.0.1> does not have permission to use this API key."
    here = sim.create_key(allowed_ips=["10.0.0.0/8", "127.0.0.1"])
    assert (await call(http, sim, "GET", USERS, key=here)).status == 200


async def test_signature_covers_the_body_and_the_query(http, sim) -> None:
    body = {"email": "new@example.com", "password": "Secret123", "admin": False}
    tampered = await call(http, sim, "POST", USERS, body, signed_body=b'{"email":"other@example.com"}')
    assert (tampered.status, tampered.json()["message"]) == (401, BAD_CREDENTIALS)
    assert sim.user_by_email("new@example.com") is None
    other_page = await call(http, sim, "GET", f"{USERS}?page=2", signed_url=f"{sim.url}{USERS}?page=1")
    assert other_page.status == 401
    no_query = await call(http, sim, "GET", f"{USERS}?page=2", signed_url=f"{sim.url}{USERS}")
    assert no_query.status == 401
    assert (await call(http, sim, "POST", USERS, body)).status == 201


async def test_signed_url_is_laravels_full_url(http, sim) -> None:
    # Trailing slash trimmed, parameters sorted by name, everything URL-decoded ("+" too, as PHP's urldecode does).
    reordered = await call(
        http, sim, "GET", f"{USERS}/?per_page=5&page=2", signed_url=f"{sim.url}{USERS}?page=2&per_page=5"
    )
    assert reordered.status == 200 and reordered.json()["meta"]["pagination"]["current_page"] == 2
    plus = sim.add_user(username="p", email="a+b@example.com")
    escaped = await call(
        http, sim, "GET", f"{USERS}/a%2Bb%40example.com", signed_url=f"{sim.url}{USERS}/a+b@example.com"
    )
    assert escaped.status == 200 and escaped.json()["user"]["id"] == plus.id
    literal = await call(http, sim, "GET", f"{USERS}/a+b@example.com", signed_url=f"{sim.url}{USERS}/a b@example.com")
    assert literal.status == 200 and literal.json()["user"]["id"] == plus.id
    as_sent = await call(http, sim, "GET", f"{USERS}/a+b@example.com")
    assert as_sent.status == 401


async def test_a_panel_behind_a_tls_proxy_signs_the_scheme_it_sees(http) -> None:
    async with LegacyPterodactylSimulator(seen_scheme="https") as sim:
        assert (await call(http, sim, "GET", USERS)).status == 401
        https_url = sim.url.replace("http://", "https://") + USERS
        assert (await call(http, sim, "GET", USERS, signed_url=https_url)).status == 200


# --- reading ----------------------------------------------------------------------------------------------------


async def test_list_is_paginated_as_the_seed_shows(http, sim) -> None:
    sim.seed_users(20)
    first = await call(http, sim, "GET", USERS)
    body = first.json()
    assert first.status == 200 and list(body) == ["data", "meta"]
    assert body["meta"]["pagination"] == {
        "total": 21,
        "count": 15,
        "per_page": 15,
        "current_page": 1,
        "total_pages": 2,
        "links": {"next": f"{sim.url}{USERS}?page=2"},
    }
    admin = body["data"][0]
    assert list(admin) == SEED_USER_KEYS
    assert (admin["id"], admin["root_admin"], admin["use_totp"], admin["language"]) == (1, 1, 0, "en")
    assert TIMESTAMP.fullmatch(admin["created_at"]) and TIMESTAMP.fullmatch(admin["updated_at"])
    second = (await call(http, sim, "GET", f"{USERS}?page=2&per_page=100")).json()
    assert len(second["data"]) == 6 and second["meta"]["pagination"]["links"] == {
        "previous": f"{sim.url}{USERS}?page=1"
    }
    beyond = (await call(http, sim, "GET", f"{USERS}?page=3")).json()
    assert beyond["data"] == [] and beyond["meta"]["pagination"]["current_page"] == 3
    nonsense = (await call(http, sim, "GET", f"{USERS}?page=abc")).json()
    assert nonsense["meta"]["pagination"]["current_page"] == 1


async def test_one_user_by_id_or_email_with_fields(http, sim) -> None:
    user = sim.add_user(username="u", email="Mixed@Example.com", language="de", use_totp=True)
    by_id = await call(http, sim, "GET", f"{USERS}/{user.id}")
    assert by_id.status == 200 and list(by_id.json()) == ["user"]
    document = by_id.json()["user"]
    assert list(document) == SEED_USER_KEYS
    assert (document["email"], document["language"], document["use_totp"], document["uuid"]) == (
        "Mixed@Example.com",
        "de",
        1,
        user.uuid,
    )
    by_email = await call(http, sim, "GET", f"{USERS}/mixed@example.com")
    assert by_email.json() == by_id.json()
    some = await call(http, sim, "GET", f"{USERS}/{user.id}?fields=email,id,password,")
    assert some.json() == {"user": {"email": "Mixed@Example.com", "id": user.id}}
    bad_field = await call(http, sim, "GET", f"{USERS}/999?fields=id,nope")
    assert (bad_field.status, bad_field.json()["message"]) == (
        400,
        "There was an issue with the fields passed in the request.",
    )
    missing = await call(http, sim, "GET", f"{USERS}/999")
    assert (missing.status, missing.json()) == (404, {"message": USER_NOT_FOUND, "status_code": 404})


# --- writing ----------------------------------------------------------------------------------------------------


async def test_create_answers_201_with_location_and_id(http, sim) -> None:
    answer = await call(http, sim, "POST", USERS, {"email": "new@example.com", "password": "Secret123", "admin": True})
    created = sim.user_by_email("new@example.com")
    assert created is not None
    assert (answer.status, answer.json()) == (201, {"id": created.id})
    assert answer.headers["Location"] == f"{sim.url}{USERS}/{created.id}"
    assert created.root_admin and created.language == "en" and created.password_matches("Secret123")
    async with LegacyPterodactylSimulator(create_returns_id=False) as bare:
        empty = await call(http, bare, "POST", USERS, {"email": "n@example.com", "password": "Secret123", "admin": 0})
        assert (empty.status, empty.text) == (201, "")
        assert empty.headers["Location"].endswith(f"{USERS}/{bare.user_by_email('n@example.com').id}")


async def test_create_validation_is_the_repositorys(http, sim) -> None:
    empty = await call(http, sim, "POST", USERS, {})
    assert (empty.status, empty.json()) == (
        422,
        {
            "message": VALIDATION_FAILED,
            "errors": {
                "email": ["The email field is required."],
                "password": ["The password field is required."],
                "root_admin": ["The root admin field is required."],
            },
            "status_code": 422,
        },
    )
    wrong = await call(
        http, sim, "POST", USERS, {"email": "nobody@localhost", "password": "alllowercase1", "admin": "yes"}
    )
    assert wrong.json()["errors"] == {
        "email": ["The email must be a valid email address."],
        "password": ["The password format is invalid."],
        "root_admin": ["The root admin field must be true or false."],
    }
    taken = await call(
        http, sim, "POST", USERS, {"email": "ADMIN@example.com", "password": "Secret123", "admin": False}
    )
    assert taken.json()["errors"] == {"email": ["The email has already been taken."]}
    malformed = await call(http, sim, "POST", USERS, raw=b'{"email": "x@example.com",')
    assert malformed.status == 422 and set(malformed.json()["errors"]) == {"email", "password", "root_admin"}
    assert len(sim.users) == 1


async def test_update_validates_first_then_refuses_with_503(http, sim) -> None:
    user = sim.add_user(username="u", email="u@example.com")
    changed = await call(
        http,
        sim,
        "PATCH",
        f"{USERS}/{user.id}",
        {"email": "U2@example.com", "root_admin": True, "language": "de", "password": "NewPass123"},
    )
    assert changed.status == 200 and changed.json()["user"]["email"] == "U2@example.com"
    assert (user.email, user.root_admin, user.language) == ("U2@example.com", True, "de")
    assert user.password_matches("NewPass123") and sim.user_by_email("u@example.com") is None
    own_email = await call(http, sim, "PATCH", f"{USERS}/u2@example.com", {"email": "U2@example.com"})
    assert own_email.status == 200
    invalid = await call(
        http, sim, "PATCH", f"{USERS}/{user.id}", {"email": "admin@example.com", "language": "toolong"}
    )
    assert (invalid.status, invalid.json()["errors"]) == (
        422,
        {
            "email": ["The email has already been taken."],
            "language": ["The language may not be greater than 5 characters."],
        },
    )
    invalid_and_unknown = await call(http, sim, "PATCH", f"{USERS}/999", {"root_admin": "maybe"})
    assert invalid_and_unknown.status == 422
    unknown = await call(http, sim, "PATCH", f"{USERS}/999", {"language": "en"})
    assert (unknown.status, unknown.json()) == (503, {"message": UPDATE_FAILED, "status_code": 503})
    not_a_column = await call(http, sim, "PATCH", f"{USERS}/{user.id}", {"username": "steve"})
    assert (not_a_column.status, not_a_column.json()["message"]) == (503, UPDATE_FAILED)


async def test_delete_refusals(http, sim) -> None:
    owner = sim.add_user(username="o", email="owner@example.com")
    server = sim.add_server(owner.id)
    refused = await call(http, sim, "DELETE", f"{USERS}/{owner.id}")
    assert (refused.status, refused.json()) == (503, {"message": DELETE_FAILED, "status_code": 503})
    assert owner.id in sim.users
    unknown = await call(http, sim, "DELETE", f"{USERS}/999")
    assert (unknown.status, unknown.json()["message"]) == (503, DELETE_FAILED)
    sim.remove_server(server)
    deleted = await call(http, sim, "DELETE", f"{USERS}/owner@example.com")
    assert (deleted.status, deleted.text) == (204, "") and owner.id not in sim.users
    async with LegacyPterodactylSimulator(delete_refusal_status=422) as source:
        holder = source.add_user(username="h", email="h@example.com")
        source.add_server(holder.id)
        answer = await call(http, source, "DELETE", f"{USERS}/{holder.id}")
        assert (answer.status, answer.json()) == (422, {"message": HAS_SERVERS, "status_code": 422})
    with pytest.raises(ValueError):
        LegacyPterodactylSimulator(delete_refusal_status=400)


# --- in front of the panel --------------------------------------------------------------------------------------


async def test_faults_and_the_request_log(http, sim) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 1, 503
    failed = await call(http, sim, "GET", f"{USERS}?page=1")
    assert (failed.status, failed.json()) == (503, {"message": "503 Service Unavailable", "status_code": 503})
    await call(http, sim, "PATCH", f"{USERS}/1", {"language": "en"})
    first, second = sim.requests
    assert (first.method, first.path, first.query, first.status) == ("GET", USERS, {"page": "1"}, 503)
    assert (second.json, second.status) == ({"language": "en"}, 200)
    assert "authorization" not in {name.lower() for name in (f.name for f in dataclasses.fields(second))}
    assert sim.api_key.partition(":")[2] not in repr(sim.requests)


def test_dingo_error_defaults_to_the_reason_phrase() -> None:
    assert DingoError(404).message == "404 Not Found"
    assert DingoError(422, "x", errors={"a": ["b"]}).errors == {"a": ["b"]}


async def test_runs_by_hand(capsys) -> None:
    args = simulators_cli.parser().parse_args(["pterodactyl-legacy", "--port", "0", "--users", "3", "--servers", "1"])
    assert (args.host, args.users, args.servers) == ("127.0.0.1", 3, 1)
    output = await welcome_of(pterodactyl_legacy.serve(args), lambda: capsys.readouterr().out)
    assert "Pterodactyl 0.5 simulator on http://127.0.0.1:" in output and "with 4 users" in output
    shown = re.search(r"PANEL_KIND=pterodactyl-legacy PANEL_URL=(\S+) PANEL_API_KEY=(\S+)", output)
    assert shown is not None and re.fullmatch(r"[A-Za-z0-9]{16}:\S+", shown.group(2))

"""The Pterodactyl 0.5 client against its simulator over loopback: every operation and refusal, the seed's examples."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import SecretStr

from panel_api.errors import (
    Conflict,
    Forbidden,
    NotFound,
    NotSupported,
    PanelError,
    PanelUnavailable,
    Unauthorized,
    UserHasServers,
    ValidationFailed,
)
from panel_api.models import Capability, NewUser, PanelKind, UserChanges
from panel_api.pterodactyl_legacy import LegacyPterodactylClient, signed_content, split_key
from panel_api.transport import Response, TransportOptions
from simulators.pterodactyl import PterodactylSimulator
from simulators.pterodactyl_legacy import DingoError, LegacyPterodactylSimulator, full_url, php_urldecode
from tests.panel_api.agreement import create_agrees

SEED = Path(__file__).parent.parent / "data" / "seeds" / "001_011886ae9cf5b457.txt"
FAST = TransportOptions(backoff_base=0.01, backoff_max=0.05, timeout=2.0, connect_timeout=1.0)
KEY = "PublicKey1234567:Secret16charsXYZ.abcdefg.hijklmn"


@pytest.fixture
async def sim() -> AsyncIterator[LegacyPterodactylSimulator]:
    async with LegacyPterodactylSimulator() as simulator:
        yield simulator


@pytest.fixture
async def client(sim: LegacyPterodactylSimulator) -> AsyncIterator[LegacyPterodactylClient]:
    async with LegacyPterodactylClient(sim.url, sim.api_key, options=FAST) as legacy:
        yield legacy


def sent(sim: LegacyPterodactylSimulator, method: str) -> list:
    return [r for r in sim.requests if r.method == method]


def seed_examples() -> list[dict]:
    """The JSON blocks of the seed, in order (it has no code fences: each block starts and ends at column 0)."""
    return [json.loads(block) for block in re.findall(r"^\{\n.*?^\}$", SEED.read_text(), re.S | re.M)]


def answer(status: int, body: object) -> Response:
    return Response(status=status, headers=CIMultiDictProxy(CIMultiDict()), body=json.dumps(body).encode())


# --- the seed -----------------------------------------------------------------------------------------------------


def test_seed_user_examples_parse_unchanged() -> None:
    listing, single, *_ = seed_examples()
    client = LegacyPterodactylClient("https://panel.example.com", KEY)
    page = client._page(listing, 1)
    assert (page.total, page.total_pages, page.page, page.per_page) == (2, 1, 1, 15)
    examples = [*zip(page.items, listing["data"], strict=True), (client._single(single), single["user"])]
    for user, original in examples:
        assert user.raw == original
        assert (user.id, user.uuid, user.email) == (str(original["id"]), original["uuid"], original["email"])
        assert user.username == original["email"]  # 0.5 accounts have no username: the login email stands in
        assert user.admin is bool(original["root_admin"]) and user.two_factor is False
        assert user.language == "en" and user.first_name is None and user.external_id is None
        assert user.created_at == datetime.strptime(original["created_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert [u.admin for u in page.items] == [True, False]


def test_seed_error_examples_map_to_sentences() -> None:
    examples = seed_examples()
    assert len(examples) == 8  # list, one user, 400, 404, create body, patch body, 422, 503
    client = LegacyPterodactylClient("https://panel.example.com", KEY)
    bad_fields, not_found, validation, refused = examples[2], examples[3], examples[6], examples[7]
    assert str(client._error(answer(400, bad_fields))) == bad_fields["message"]
    assert isinstance(client._error(answer(404, not_found)), NotFound)
    failed = client._error(answer(422, validation))
    assert type(failed) is ValidationFailed and failed.fields == {"email": ["The email must be a valid email address."]}
    assert client._error(answer(503, refused)).message == refused["message"]


async def test_the_create_body_is_the_seeds(sim, client) -> None:
    await client.create_user(NewUser(email="wuzzle@woo.com", username="wuzzle", password="WuzzleWoo2"))
    assert set(sent(sim, "POST")[0].json) == set(seed_examples()[4]) == {"email", "password", "admin"}


# --- the key and the signature ------------------------------------------------------------------------------------


def test_key_halves_split_at_the_colon() -> None:
    public, secret = split_key(f"  {KEY}\n")
    assert (public, secret.get_secret_value()) == ("PublicKey1234567", "Secret16charsXYZ.abcdefg.hijklmn")
    assert split_key(SecretStr(KEY))[0] == "PublicKey1234567"
    client = LegacyPterodactylClient("https://panel.example.com/", SecretStr(KEY))
    assert client.kind is PanelKind.PTERODACTYL_LEGACY and client.display_name == "Pterodactyl 0.5"
    assert "Secret16" not in repr(client)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("Secret16charsXYZ.abcdefg.hijklmn", "<public key>:<secret key>"),
        ("PublicKey1234567.Secret16charsXYZ.abcdefg.hijklmn", "<public key>:<secret key>"),
        ("PublicKey1234567:", "<public key>:<secret key>"),
        (":Secret16charsXYZ.abcdefg.hijklmn", "<public key>:<secret key>"),
        ("Public.Key:Secret16charsXYZ.abcdefg.hijklmn", "letters and digits only"),
        ("PublicKey1234567:Secret16chars XYZ.abcdefg", "spaces or line breaks"),
        ("ptla_Secret16charsXYZabcdefghijklmnopqrstuvwxyzab", "PANEL_KIND=pterodactyl"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(key: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)) as caught:
        LegacyPterodactylClient("https://panel.example.com", key)
    assert "Secret16" not in str(caught.value)


def test_signature_known_answers() -> None:
    # Expected values computed with `openssl dgst -sha256 -hmac <secret> -binary | base64` over the canonical text.
    client = LegacyPterodactylClient("http://panel.example.com", KEY)
    listing = client._sign("GET", "http://panel.example.com/api/users?page=2", b"")
    assert listing == {"Authorization": "Bearer PublicKey1234567.Owm9iPaftZlot5MwhzGn8+RSFf8wxEI9rzoUA1hljF4="}
    body = b'{"email":"a+b@example.com","root_admin":true}'
    patch = client._sign("PATCH", "http://panel.example.com:80/api/users/7/", body)
    assert patch == {"Authorization": "Bearer PublicKey1234567.AVw4uaLqud8vicYzBpOWZqOGg7MRpXWcqFJOlJQEZzA="}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080/api/users?page=3", b"http://127.0.0.1:8080/api/users?page=3"),
        (
            "HTTPS://Panel.Example.COM:443/sub/api/users/?page=2&fields=id%2Cemail&a+b=c%2Bd",
            b"https://panel.example.com/sub/api/users?a b=c+d&fields=id,email&page=2",
        ),
        ("https://panel.example.com/api/users/a%2Bb%40x.io", b"https://panel.example.com/api/users/a+b@x.io"),
        ("https://panel.example.com/api/users/a+b@x.io", b"https://panel.example.com/api/users/a b@x.io"),
        ("http://panel.example.com/?flag&=skipped&&b=", b"http://panel.example.com/?b=&flag"),
    ],
)
def test_signed_content_is_the_panels_full_url(url: str, expected: str) -> None:
    assert signed_content(url, b"{}") == expected + b"{}"
    # The simulator's literal port of Laravel's fullUrl() agrees.
    scheme, _, rest = url.partition("://")
    host, slash, path_and_query = rest.partition("/")
    path, _, query = (slash + path_and_query).partition("?")
    assert php_urldecode(full_url(scheme, host, path, query)) == expected


async def test_tampered_body_or_query_fails_the_hmac(sim, client) -> None:
    def other_body(method: str, url: str, body: bytes) -> dict[str, str]:
        return client._sign(method, url, b'{"language":"en"}')

    def other_query(method: str, url: str, body: bytes) -> dict[str, str]:
        return client._sign(method, url.replace("page=2", "page=1"), body)

    patched = await client.transport.request("PATCH", "api/users/1", json_body={"root_admin": False}, signer=other_body)
    assert patched.status == 401 and sim.admin.root_admin
    listed = await client.transport.request("GET", "api/users", params={"page": 2}, signer=other_query)
    assert listed.status == 401
    assert isinstance(client._error(listed), Unauthorized)


# --- reading --------------------------------------------------------------------------------------------------------


async def test_list_users_is_the_panels_page(sim, client) -> None:
    sim.seed_users(20)
    first = await client.list_users(page=1, per_page=5)
    second = await client.list_users(page=2, per_page=5)
    assert (first.total, first.total_pages, first.per_page, len(first.items)) == (21, 2, 15, 15)
    assert (second.page, len(second.items), second.has_next) == (2, 6, False)
    assert first.items[0].email == "admin@example.com" and first.items[0].admin
    assert [r.query for r in sent(sim, "GET")] == [{"page": "1"}, {"page": "2"}]


async def test_search_filters_every_page_here_and_pages_locally(sim, client) -> None:
    sim.seed_users(40)
    for n in range(7):
        sim.add_user(username=f"s{n}", email=f"steve{n}@Mine.example")
    found = await client.list_users(page=2, per_page=3, search="@mine.EXAMPLE")
    assert (found.total, found.total_pages, found.page, found.per_page) == (7, 3, 2, 3)
    assert [u.email for u in found.items] == ["steve3@Mine.example", "steve4@Mine.example", "steve5@Mine.example"]
    assert len(sent(sim, "GET")) == 4  # 48 users, 15 a page


async def test_iter_users_reads_each_page_once(sim, client) -> None:
    sim.seed_users(44)
    users = [user async for user in client.iter_users()]
    assert len(users) == 45 and len({u.id for u in users}) == 45
    assert len(sent(sim, "GET")) == 3


async def test_get_user_maps_what_the_account_has(sim, client) -> None:
    member = sim.add_user(username="ignored", email="Member@Example.com", language="de", use_totp=True)
    user = await client.get_user(str(member.id))
    assert (user.id, user.uuid, user.email, user.username) == (
        str(member.id),
        member.uuid,
        "Member@Example.com",
        "Member@Example.com",
    )
    assert (user.language, user.two_factor, user.admin, user.servers_count) == ("de", True, False, None)
    assert user.created_at is not None and user.created_at.tzinfo is UTC


async def test_get_user_refusals(sim, client) -> None:
    with pytest.raises(NotFound, match="ids are numbers"):
        await client.get_user("someone@example.com")
    assert sim.requests == []
    with pytest.raises(NotFound):
        await client.get_user("999")


async def test_find_user_by_email_is_one_request(sim, client) -> None:
    member = sim.add_user(username="m", email="a+b@example.com")
    found = await client.find_user("  A+B@Example.com ")
    assert found is not None and found.id == str(member.id)
    assert [r.path for r in sim.requests] == ["/api/users/A+B@Example.com"]
    assert await client.find_user("nobody@example.com") is None
    assert await client.find_user("steve") is None and await client.find_user(str(member.id)) is None
    assert len(sim.requests) == 2


# --- creating -------------------------------------------------------------------------------------------------------


async def test_create_user_sends_what_the_api_takes_and_reads_back(sim, client) -> None:
    new = NewUser(
        email="new@example.com", username="ignored", first_name="A", last_name="B", password="Secret123", admin=True
    )
    created = await client.create_user(new)
    stored = sim.user_by_email("new@example.com")
    assert stored is not None and created.id == str(stored.id) and created.uuid == stored.uuid
    assert created.admin and stored.root_admin and stored.password_matches("Secret123")
    assert sent(sim, "POST")[0].json == {"email": "new@example.com", "password": "Secret123", "admin": True}
    assert [r.path for r in sent(sim, "GET")] == [f"/api/users/{stored.id}"]


async def test_create_without_a_password_sends_a_random_strong_one(sim, client) -> None:
    await client.create_user(NewUser(email="a@example.com", username="a"))
    await client.create_user(NewUser(email="b@example.com", username="b"))
    first, second = (r.json["password"] for r in sent(sim, "POST"))
    assert first != second and len(first) >= 16
    assert all(re.search(pattern, first) for pattern in (r"\d", r"[a-z]", r"[A-Z]"))


async def test_create_reads_the_id_from_location_when_the_body_has_none(client) -> None:
    async with LegacyPterodactylSimulator(create_returns_id=False) as bare:
        async with LegacyPterodactylClient(bare.url, bare.api_key, options=FAST) as legacy:
            created = await legacy.create_user(NewUser(email="n@example.com", username="n", password="Secret123"))
        assert created.id == str(bare.user_by_email("n@example.com").id)


async def test_create_validation_and_conflict(sim, client) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        await client.create_user(NewUser(email="nobody@localhost", username="x", password="weakpass"))
    assert invalid.value.fields == {
        "email": ["The email must be a valid email address."],
        "password": ["The password needs at least 8 characters, with a digit, a lower-case and an upper-case letter."],
    }
    with pytest.raises(Conflict) as taken:
        await client.create_user(NewUser(email="ADMIN@example.com", username="x", password="Secret123"))
    assert taken.value.fields == {"email": ["The email has already been taken."]}


async def test_create_503_says_whether_anything_was_created(sim, client) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 1, 503
    with pytest.raises(PanelError, match="nothing was created") as refused:
        await client.create_user(NewUser(email="new@example.com", username="n", password="Secret123"))
    assert refused.value.status == 503 and not isinstance(refused.value, PanelUnavailable)
    assert len(sent(sim, "POST")) == 1 and [r.path for r in sent(sim, "GET")] == ["/api/users/new@example.com"]
    existing = sim.add_user(username="e", email="exists@example.com")
    sim.faults.fail_next = 1
    with pytest.raises(PanelError, match=f"exists \\(id {existing.id}\\)"):
        await client.create_user(NewUser(email="exists@example.com", username="e", password="Secret123"))


async def test_other_create_failures_are_not_retried(sim, client) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 1, 500
    with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
        await client.create_user(NewUser(email="new@example.com", username="n", password="Secret123"))
    assert len(sim.requests) == 1


# --- updating -------------------------------------------------------------------------------------------------------


async def test_update_user_sends_only_the_changes_and_reads_back(sim, client) -> None:
    member = sim.add_user(username="m", email="m@example.com")
    changes = UserChanges(email="M2@example.com", admin=True, language="de", password="NewPass123")
    updated = await client.update_user(str(member.id), changes)
    assert (updated.email, updated.admin, updated.language) == ("M2@example.com", True, "de")
    assert member.password_matches("NewPass123")
    assert sent(sim, "PATCH")[0].json == {
        "email": "M2@example.com",
        "root_admin": True,
        "language": "de",
        "password": "NewPass123",
    }
    assert [r.path for r in sent(sim, "GET")] == [f"/api/users/{member.id}"]


async def test_update_with_nothing_to_change_sends_no_patch(sim, client) -> None:
    assert (await client.update_user("1", UserChanges())).id == "1"
    assert (await client.update_user("1", UserChanges(language=None))).language == "en"
    assert sent(sim, "PATCH") == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (UserChanges(username="steve"), "change usernames"),
        (UserChanges(first_name="Steve", email="s@example.com"), "store first or last names"),
        (UserChanges(external_id="abc"), "store external ids"),
    ],
)
async def test_update_of_fields_0_5_lacks_is_not_supported(sim, client, changes: UserChanges, says: str) -> None:
    with pytest.raises(NotSupported, match=rf"^Pterodactyl 0\.5 panels cannot {says}"):
        await client.update_user("1", changes)
    assert sim.requests == []


async def test_update_validation_and_conflict(sim, client) -> None:
    member = sim.add_user(username="m", email="m@example.com")
    with pytest.raises(ValidationFailed) as invalid:
        await client.update_user(str(member.id), UserChanges(language="toolong", password="weakpass"))
    assert invalid.value.fields == {
        "password": ["The password needs at least 8 characters, with a digit, a lower-case and an upper-case letter."],
        "language": ["The language may not be greater than 5 characters."],
    }
    with pytest.raises(Conflict):
        await client.update_user(str(member.id), UserChanges(email="admin@example.com"))


async def test_update_of_an_unknown_user_is_not_found(sim, client) -> None:
    with pytest.raises(NotFound, match=r"no Pterodactyl 0\.5 user with id 999"):
        await client.update_user("999", UserChanges(language="de"))
    assert [r.status for r in sim.requests] == [503, 404]


async def test_a_refused_update_is_explained_and_not_repeated(sim, client) -> None:
    member = sim.add_user(username="m", email="m@example.com")
    sim.faults.fail_next, sim.faults.fail_status = 1, 503
    with pytest.raises(PanelError, match="refused to change this user") as refused:
        await client.update_user(str(member.id), UserChanges(language="de"))
    assert refused.value.status == 503 and not isinstance(refused.value, PanelUnavailable)
    assert [(r.method, r.status) for r in sim.requests] == [("PATCH", 503), ("GET", 200)]


async def test_an_update_503_while_the_panel_is_down_stays_an_outage(sim, client) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 10, 503
    with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
        await client.update_user("1", UserChanges(language="de"))
    assert len(sent(sim, "PATCH")) == 1 and len(sent(sim, "GET")) == 4  # the read is retried, the write is not


async def test_other_update_failures_are_not_retried(sim, client) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 1, 500
    with pytest.raises(PanelUnavailable):
        await client.update_user("1", UserChanges(language="de"))
    assert [r.method for r in sim.requests] == ["PATCH"]


# --- deleting -------------------------------------------------------------------------------------------------------


async def test_delete_user(sim, client) -> None:
    member = sim.add_user(username="m", email="m@example.com")
    await client.delete_user(str(member.id))
    assert member.id not in sim.users
    assert [(r.method, r.status) for r in sim.requests] == [("GET", 200), ("DELETE", 204)]


async def test_delete_of_an_unknown_user_is_not_found_and_sends_no_delete(sim, client) -> None:
    with pytest.raises(NotFound):
        await client.delete_user("999")
    with pytest.raises(NotFound):
        await client.delete_user("someone@example.com")
    assert sent(sim, "DELETE") == []


async def test_delete_of_a_server_owner_is_refused_once(sim, client) -> None:
    owner = sim.add_user(username="o", email="o@example.com")
    sim.add_server(owner.id)
    with pytest.raises(UserHasServers, match="still owns servers") as refused:
        await client.delete_user(str(owner.id))
    assert refused.value.status == 503 and owner.id in sim.users
    assert [(r.method, r.status) for r in sim.requests] == [("GET", 200), ("DELETE", 503), ("GET", 200)]


async def test_delete_refusal_as_the_0_5_source_sends_it() -> None:
    async with LegacyPterodactylSimulator(delete_refusal_status=422) as source:
        owner = source.add_user(username="o", email="o@example.com")
        source.add_server(owner.id)
        async with LegacyPterodactylClient(source.url, source.api_key, options=FAST) as legacy:
            with pytest.raises(UserHasServers) as refused:
                await legacy.delete_user(str(owner.id))
        assert refused.value.status == 422


async def test_a_delete_503_after_the_user_went_is_a_delete(sim, client) -> None:
    member = sim.add_user(username="m", email="m@example.com")

    def delete_then_fail(request, params, raw_body):
        sim._remove_user(member)
        raise DingoError(503, "Unable to delete this user due to an error.")

    sim._actions["api.admin.users.delete"] = delete_then_fail
    await client.delete_user(str(member.id))
    assert [(r.method, r.status) for r in sim.requests] == [("GET", 200), ("DELETE", 503), ("GET", 404)]


# --- refusals of the key, and the transport ---------------------------------------------------------------------------


async def test_key_refusals_say_what_to_fix(sim) -> None:
    public = sim.api_key.partition(":")[0]
    cases = [
        (f"{public}:wrong.secret", Unauthorized, "secret half of PANEL_API_KEY is wrong"),
        ("NoSuchPublicKey0:whatever", Unauthorized, "does not know the public half"),
        (sim.create_key(permissions=["api.admin.users.view"]), Forbidden, "lacks the permission"),
        (sim.create_key(allowed_ips=["10.0.0.0/8"]), Forbidden, "bot's IP address"),
    ]
    for key, error, says in cases:
        async with LegacyPterodactylClient(sim.url, key, options=FAST) as legacy:
            with pytest.raises(error, match=says):
                await legacy.list_users()
    assert [r.status for r in sim.requests] == [401, 403, 403, 403]


async def test_a_panel_behind_a_tls_proxy_gets_a_hint_about_the_url() -> None:
    async with (
        LegacyPterodactylSimulator(seen_scheme="https") as proxied,
        LegacyPterodactylClient(proxied.url, proxied.api_key, options=FAST) as legacy,
    ):
        with pytest.raises(Unauthorized, match="differently from PANEL_URL"):
            await legacy.get_user("1")
        report = await legacy.check()
    assert (report.reachable, report.key_accepted) == (True, False) and "PANEL_URL" in report.detail


async def test_reads_are_retried_on_5xx(sim, client) -> None:
    sim.faults.fail_next, sim.faults.fail_status = 2, 502
    assert (await client.get_user("1")).admin
    sim.faults.html_errors_next = 1
    assert (await client.list_users()).total == 1
    assert [r.status for r in sim.requests] == [502, 502, 200, 502, 200]


async def test_a_read_answered_once_with_a_cut_short_body_is_asked_again(sim, client) -> None:
    sim.faults.malformed_next = 1
    assert (await client.list_users()).total == len(sim.users)
    assert [r.status for r in sim.requests] == [200, 200]


async def test_a_newer_panel_is_named_as_the_wrong_kind() -> None:
    async with PterodactylSimulator() as newer, LegacyPterodactylClient(newer.url, KEY, options=FAST) as legacy:
        with pytest.raises(PanelError, match=r"not a Pterodactyl 0\.5 panel"):
            await legacy.list_users()
        with pytest.raises(PanelError, match="PANEL_KIND=pterodactyl"):
            await legacy.find_user("admin@example.com")
        report = await legacy.check()
    assert (report.reachable, report.key_accepted) == (True, None) and "not a Pterodactyl 0.5 panel" in report.detail


async def test_check_reports(sim, client) -> None:
    sim.seed_users(3)
    report = await client.check()
    assert (report.ok, report.users_total, report.detail) == (True, 4, "reachable, key accepted, 4 users")
    sim.revoke_key(sim.api_key)
    refused = await client.check()
    assert (refused.reachable, refused.key_accepted) == (True, False) and "public half" in refused.detail
    await sim.close()
    down = await client.check()
    assert (down.reachable, down.key_accepted) == (False, None)


# --- what the API does not have -------------------------------------------------------------------------------------


def test_capabilities_are_only_what_the_api_has() -> None:
    assert LegacyPterodactylClient.capabilities == {Capability.LANGUAGE, Capability.PASSWORD}
    note = LegacyPterodactylClient.password_setup.format(email="new@example.com")
    assert "random one" in note and "new@example.com" in note


async def test_missing_operations_say_so(sim, client) -> None:
    calls = [
        (client.get_user_by_external_id("x"), "look users up by external id"),
        (client.find_by_discord_id(1), "record which Discord account a user has"),
        (client.account_for_key("key"), "tell who owns a client API key"),
        (client.suspend_user("1"), "suspend users"),
        (client.unsuspend_user("1"), "suspend users"),
        (client.change_credits("1", 5), "hold credits"),
        (client.change_server_limit("1", 1), "set server limits"),
    ]
    for pending, what in calls:
        with pytest.raises(NotSupported) as refused:
            await pending
        assert str(refused.value) == f"Pterodactyl 0.5 panels cannot {what}."
    assert sim.requests == []


# --- the secret stays secret ----------------------------------------------------------------------------------------


async def test_the_secret_never_reaches_logs_or_errors(sim, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = sim.api_key.partition(":")[2]
    messages: list[str] = []

    async def record(pending) -> None:
        try:
            await pending
        except PanelError as exc:
            messages.extend([str(exc), repr(exc), exc.message])

    async with LegacyPterodactylClient(sim.url, sim.api_key, options=FAST) as legacy:
        messages.append(repr(legacy))
        owner = sim.add_user(username="o", email="o@example.com")
        sim.add_server(owner.id)
        await record(legacy.delete_user(str(owner.id)))
        sim.faults.fail_next, sim.faults.fail_status = 3, 503
        await record(legacy.create_user(NewUser(email="n@example.com", username="n", password="Secret123")))
        await record(legacy.update_user("1", UserChanges(language="toolong")))
        sim.faults.fail_next, sim.faults.fail_status = 5, 500
        await record(legacy.get_user("1"))
    public = sim.api_key.partition(":")[0]
    async with LegacyPterodactylClient(sim.url, f"{public}:wrong{secret}", options=FAST) as wrong:
        await record(wrong.list_users())
    for malformed in (secret, f"{public}:{secret} x", f"{public}.{secret}"):
        with pytest.raises(ValueError) as refused:
            LegacyPterodactylClient(sim.url, malformed)
        messages.append(str(refused.value))
    assert len(messages) >= 10 and "retry" in caplog.text
    for text in [*messages, caplog.text]:
        assert secret not in text and sim.api_key not in text


async def test_the_checks_agree_with_the_panel(sim, client) -> None:
    spaces = NewUser(email="spaces@example.com", username="spaces", password=" " * 10)
    await create_agrees(client, spaces, "password")
    await create_agrees(client, NewUser(email="short@example.com", username="short", password="Ab1cdef"), "password")
    await create_agrees(client, NewUser(email="fine@example.com", username="fine", password="Ab1cdefg"), None)

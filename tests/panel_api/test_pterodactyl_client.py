"""The Pterodactyl and Pelican clients against the simulator over loopback: every operation and every refusal."""

from __future__ import annotations

import logging
import time

import pytest

from panel_api import (
    Capability,
    Conflict,
    Forbidden,
    NewUser,
    NotFound,
    NotSupported,
    PanelClient,
    PanelError,
    PanelUnavailable,
    RateLimited,
    Unauthorized,
    UserChanges,
    UserHasServers,
    ValidationFailed,
    create_client,
)
from simulators.pterodactyl import PterodactylSimulator
from tests.conftest import FAST
from tests.panel_api.agreement import create_agrees, update_agrees


def requests_to(sim: PterodactylSimulator, method: str, path_part: str = "") -> list:
    return [r for r in sim.requests if r.method == method and path_part in r.path]


# --- reading ----------------------------------------------------------------------------------------------------


async def test_list_users_pages_and_totals(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    pterodactyl.seed_users(120)
    first = await ptero_client.list_users(page=1, per_page=50)
    last = await ptero_client.list_users(page=3, per_page=50)
    assert (first.total, first.total_pages, first.page, first.per_page) == (121, 3, 1, 50)
    assert len(first.items) == 50 and first.has_next
    assert len(last.items) == 21 and not last.has_next
    assert first.items[0].username == "admin" and first.items[0].admin


async def test_list_users_search_matches_usernames_or_emails(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.add_user(username="steve", email="steve@mine.example")
    pterodactyl.add_user(username="stevenson", email="other@example.com")
    pterodactyl.add_user(username="alex", email="alex@steve.example")
    by_name = await ptero_client.list_users(search="steve")
    by_mail = await ptero_client.list_users(search="@steve.example")
    assert sorted(u.username for u in by_name.items) == ["steve", "stevenson"]
    assert [u.username for u in by_mail.items] == ["alex"]


async def test_iter_users_reads_every_page_with_few_requests(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.seed_users(1050)
    pterodactyl.requests.clear()
    ids = [user.id async for user in ptero_client.iter_users()]
    assert len(ids) == 1051 == len(set(ids))
    assert len(pterodactyl.requests) == 3  # 500 per page
    # Our own page URLs keep per_page, which the panel's `links.next` would have dropped.
    assert all(r.query.get("per_page") == "500" for r in pterodactyl.requests)


async def test_get_user_has_every_field(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    sim_user = pterodactyl.add_user(
        username="maria", email="Maria@Example.com", first_name="Maria", last_name="Lopez", external_id="whmcs-7"
    )
    pterodactyl.add_server(sim_user.id)
    pterodactyl.add_server(sim_user.id)
    user = await ptero_client.get_user(str(sim_user.id))
    assert user.id == str(sim_user.id) and user.uuid == sim_user.uuid
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "maria",
        "Maria@Example.com",
        "Maria",
        "Lopez",
    )
    assert user.external_id == "whmcs-7" and user.language == "en"
    assert user.admin is False and user.two_factor is False
    assert user.servers_count == 2
    assert user.created_at is not None and user.created_at.utcoffset().total_seconds() == 0
    assert user.raw["username"] == "maria"


async def test_get_user_unknown_and_malformed_ids(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    with pytest.raises(NotFound):
        await ptero_client.get_user("999")
    pterodactyl.requests.clear()
    with pytest.raises(NotFound, match="ids are numbers"):
        await ptero_client.get_user("../1")
    assert pterodactyl.requests == []  # never sent: a path like this must not reach the panel


async def test_find_user_is_exact_despite_substring_filters(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.add_user(username="axb", email="axb@example.com")
    target = pterodactyl.add_user(username="a_b", email="a_b@example.com", external_id="ext-42")
    pterodactyl.add_user(username="user1", email="one@example.com")
    pterodactyl.add_user(username="user10", email="ten@example.com")
    assert (await ptero_client.find_user("a_b")).id == str(target.id)  # `_` is a LIKE wildcard on the panel
    assert (await ptero_client.find_user("A_B@EXAMPLE.COM")).id == str(target.id)
    assert (await ptero_client.find_user("ext-42")).id == str(target.id)
    assert (await ptero_client.find_user("user1")).username == "user1"
    assert await ptero_client.find_user("user") is None
    assert await ptero_client.find_user("nobody@example.com") is None
    assert await ptero_client.find_user("   ") is None


async def test_find_user_by_external_id_is_case_sensitive(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    # The panel's lookup goes through MySQL's case-insensitive collation; WHMCS-42 is another customer.
    target = pterodactyl.add_user(username="billed", email="billed@example.com", external_id="Whmcs-42")
    assert await ptero_client.find_user("WHMCS-42") is None
    assert await ptero_client.get_user_by_external_id("whmcs-42") is None
    assert (await ptero_client.find_user("Whmcs-42")).id == str(target.id)


async def test_pelican_find_user_by_a_username_with_an_at_sign(
    pelican: PterodactylSimulator, pelican_client: PanelClient
) -> None:
    target = pelican.add_user(username="bob@home", email="bob@example.com")  # Pelican has no username format
    pelican.add_user(username="bob@homestead", email="other@example.com")
    assert (await pelican_client.find_user("Bob@Home")).id == str(target.id)
    assert (await pelican_client.find_user("bob@example.com")).id == str(target.id)
    assert await pelican_client.find_user("bob@ho") is None


# --- writing ----------------------------------------------------------------------------------------------------


async def test_create_user_returns_the_new_account(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    user = await ptero_client.create_user(
        NewUser(
            email="new@example.com",
            username="NewUser",
            first_name="New",
            last_name="User",
            password="hunter2hunter2",
            external_id="billing-1",
        )
    )
    assert user.username == "newuser"  # the panel lowercases usernames
    assert user.external_id == "billing-1"
    stored = pterodactyl.users[int(user.id)]
    assert stored.email == "new@example.com"
    assert "hunter2" not in str(user.raw)
    assert stored.password_matches("hunter2hunter2")


async def test_create_user_reports_the_panels_field_messages(ptero_client: PanelClient) -> None:
    with pytest.raises(ValidationFailed) as failure:
        await ptero_client.create_user(
            NewUser(email="not-an-email", username="_bad", first_name="A", last_name="B", language="de")
        )
    fields = failure.value.fields
    assert fields["email"] == ["The email must be a valid email address."]
    assert fields["username"] == [
        "The username must start and end with alpha-numeric characters and contain only letters, numbers, "
        "dashes, underscores, and periods."
    ]
    assert fields["language"] == ["The selected language is invalid."]
    assert not isinstance(failure.value, Conflict)


async def test_create_user_taken_email_is_a_conflict(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.add_user(username="first", email="taken@example.com", external_id="x-1")
    with pytest.raises(Conflict) as conflict:
        await ptero_client.create_user(
            NewUser(email="taken@example.com", username="second", first_name="A", last_name="B", external_id="x-1")
        )
    assert conflict.value.fields == {
        "email": ["The email has already been taken."],
        "external_id": ["The Third Party Identifier has already been taken."],
    }


async def test_update_one_field_keeps_the_others(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    sim_user = pterodactyl.add_user(username="keep", email="keep@example.com", first_name="Kee", last_name="P")
    pterodactyl.requests.clear()
    user = await ptero_client.update_user(str(sim_user.id), UserChanges(last_name="Changed"))
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "keep",
        "keep@example.com",
        "Kee",
        "Changed",
    )
    patch = requests_to(pterodactyl, "PATCH")[0]
    # PATCH must carry email, username and both names, or the panel answers 422.
    assert patch.json == {"email": "keep@example.com", "username": "keep", "first_name": "Kee", "last_name": "Changed"}


async def test_update_clears_external_id_and_sets_admin_and_password(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    sim_user = pterodactyl.add_user(username="edit", email="edit@example.com", external_id="old")
    user = await ptero_client.update_user(
        str(sim_user.id), UserChanges(external_id=None, admin=True, password="newpassword1")
    )
    assert user.external_id is None and user.admin is True
    assert pterodactyl.users[sim_user.id].password_matches("newpassword1")


async def test_update_to_a_taken_username_is_a_conflict(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.add_user(username="taken", email="taken@example.com")
    sim_user = pterodactyl.add_user(username="mine", email="mine@example.com")
    with pytest.raises(Conflict) as conflict:
        await ptero_client.update_user(str(sim_user.id), UserChanges(username="taken"))
    assert conflict.value.fields == {"username": ["The username has already been taken."]}
    assert pterodactyl.users[sim_user.id].username == "mine"


async def test_update_without_changes_sends_nothing(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    sim_user = pterodactyl.add_user(username="same", email="same@example.com")
    await ptero_client.update_user(str(sim_user.id), UserChanges())
    assert requests_to(pterodactyl, "PATCH") == []


async def test_delete_user(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    sim_user = pterodactyl.add_user(username="gone", email="gone@example.com")
    await ptero_client.delete_user(str(sim_user.id))
    assert sim_user.id not in pterodactyl.users
    with pytest.raises(NotFound):
        await ptero_client.delete_user(str(sim_user.id))


async def test_delete_user_who_owns_servers_is_refused(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    sim_user = pterodactyl.add_user(username="owner", email="owner@example.com")
    pterodactyl.add_server(sim_user.id)
    with pytest.raises(UserHasServers, match="owns servers"):
        await ptero_client.delete_user(str(sim_user.id))
    assert sim_user.id in pterodactyl.users


async def test_a_create_answered_with_a_cut_short_body_may_have_been_applied(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.faults.malformed_next = 1
    with pytest.raises(PanelUnavailable, match="may have been applied, so check on the panel") as unreadable:
        await ptero_client.create_user(
            NewUser(email="m@example.com", username="malformed", first_name="M", last_name="N")
        )
    assert "base address" not in str(unreadable.value)
    assert len(requests_to(pterodactyl, "POST")) == 1


async def test_a_400_the_panel_could_not_read_is_not_a_conflict(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    for params in ({"filter[name]": "x"}, {"sort": "email"}):
        response = await ptero_client.transport.request("GET", "api/application/users", params=params)
        with pytest.raises(PanelError) as refused:
            ptero_client._expect(response, 200)
        assert type(refused.value) is PanelError and refused.value.status == 400
        assert "is not allowed" in str(refused.value) or "are not allowed" in str(refused.value)


async def test_pelican_refuses_deleting_the_keys_own_account(pelican: PterodactylSimulator) -> None:
    # A user who is an admin through a role (not a root admin), using their own application key.
    staff = pelican.add_user(username="staff", email="staff@example.com")
    staff.role_ids.add(pelican.add_role("Support"))
    async with create_client("pelican", pelican.url, pelican.create_application_key(staff.id), **FAST) as client:
        with pytest.raises(PanelError, match="owns the bot's API key") as refused:
            await client.delete_user(str(staff.id))
    assert not isinstance(refused.value, Conflict) and refused.value.status == 400
    assert staff.id in pelican.users


# --- proof of ownership ---------------------------------------------------------------------------------------


async def test_account_for_client_key(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    sim_user = pterodactyl.add_user(username="member", email="member@example.com", external_id="e-1")
    key = pterodactyl.create_client_key(sim_user.id)
    user = await ptero_client.account_for_key(f"  {key}\n")
    assert user.id == str(sim_user.id) and user.external_id == "e-1"


async def test_account_for_wrong_revoked_or_application_key(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    sim_user = pterodactyl.add_user(username="member", email="member@example.com")
    key = pterodactyl.create_client_key(sim_user.id)
    with pytest.raises(Unauthorized, match="wrong, revoked or expired"):
        await ptero_client.account_for_key(key[:-1] + ("a" if key[-1] != "a" else "b"))
    pterodactyl.revoke_key(key)
    with pytest.raises(Unauthorized):
        await ptero_client.account_for_key(key)
    with pytest.raises(Forbidden, match="application API key"):
        await ptero_client.account_for_key(pterodactyl.admin_key)
    with pytest.raises(Unauthorized):
        await ptero_client.account_for_key("two words")


async def test_account_for_key_refused_by_ip_allow_list(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    sim_user = pterodactyl.add_user(username="member", email="member@example.com")
    key = pterodactyl.create_client_key(sim_user.id, allowed_ips=["10.9.9.9"])
    with pytest.raises(Forbidden, match="IP addresses"):
        await ptero_client.account_for_key(key)


# --- keys and permissions ---------------------------------------------------------------------------------------


async def test_refused_application_keys(pterodactyl: PterodactylSimulator) -> None:
    member = pterodactyl.add_user(username="plain", email="plain@example.com")
    cases = [
        ("ptla_" + "x" * 43, Unauthorized, "did not accept"),
        (pterodactyl.create_application_key(r_users=0), Forbidden, "Users permission"),
        (pterodactyl.create_application_key(member.id), Forbidden, "not a root admin"),
    ]
    for key, error, text in cases:
        async with create_client("pterodactyl", pterodactyl.url, key, **FAST) as client:
            with pytest.raises(error, match=text):
                await client.list_users()
    read_only = pterodactyl.create_application_key(r_users=1)
    async with create_client("pterodactyl", pterodactyl.url, read_only, **FAST) as client:
        await client.list_users()
        with pytest.raises(Forbidden):
            await client.create_user(NewUser(email="a@example.com", username="abc", first_name="A", last_name="B"))


async def test_a_root_admins_client_key_works_as_an_application_key(pterodactyl: PterodactylSimulator) -> None:
    key = pterodactyl.create_client_key(pterodactyl.admin.id)
    async with create_client("pterodactyl", pterodactyl.url, key, **FAST) as client:
        assert (await client.list_users()).total == 1


# --- transport: rate limits, retries, faults --------------------------------------------------------------------


async def test_a_429_is_waited_out() -> None:
    async with PterodactylSimulator(rate_limit=3, rate_window=0.6) as sim:
        async with create_client("pterodactyl", sim.url, sim.admin_key, rate_limit=1000, **FAST) as client:
            started = time.monotonic()
            for _ in range(5):
                await client.list_users(per_page=1)
            elapsed = time.monotonic() - started
        statuses = [r.status for r in sim.requests]
    assert statuses.count(429) >= 1
    assert statuses.count(200) == 5
    assert elapsed >= 0.3


async def test_a_long_429_is_raised_with_when_to_retry() -> None:
    async with (
        PterodactylSimulator(rate_limit=1, rate_window=120) as sim,
        create_client("pterodactyl", sim.url, sim.admin_key, rate_limit=1000, **FAST) as client,
    ):
        await client.list_users()
        with pytest.raises(RateLimited) as limited:
            await client.list_users()
    assert 100 < limited.value.retry_after <= 120
    assert "try again in" in str(limited.value)


async def test_client_side_limit_keeps_under_the_panels_limit() -> None:
    async with PterodactylSimulator(rate_limit=4, rate_window=0.5) as sim:
        async with create_client(
            "pterodactyl", sim.url, sim.admin_key, rate_limit=4, rate_window=0.5, **FAST
        ) as client:
            for _ in range(10):
                await client.list_users(per_page=1)
        statuses = [r.status for r in sim.requests]
    assert statuses == [200] * 10  # never a 429


async def test_a_5xx_is_retried_for_a_read(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    pterodactyl.faults.fail_next = 2
    pterodactyl.faults.fail_status = 503
    assert (await ptero_client.get_user("1")).username == "admin"
    assert [r.status for r in pterodactyl.requests] == [503, 503, 200]


async def test_a_5xx_is_not_retried_for_a_create(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    pterodactyl.faults.fail_next = 1
    with pytest.raises(PanelUnavailable, match="may or may not have been applied"):
        await ptero_client.create_user(NewUser(email="c@example.com", username="create", first_name="C", last_name="D"))
    assert len(requests_to(pterodactyl, "POST")) == 1


async def test_a_dropped_connection_is_retried_for_a_read_only(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.faults.drop_next = 1
    assert (await ptero_client.list_users()).total == 1
    pterodactyl.faults.drop_next = 1
    with pytest.raises(PanelUnavailable):
        await ptero_client.create_user(
            NewUser(email="d@example.com", username="dropped", first_name="D", last_name="E")
        )
    assert not any(u.username == "dropped" for u in pterodactyl.users.values())
    assert len(requests_to(pterodactyl, "POST")) == 1


async def test_a_proxy_error_page_is_retried(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    pterodactyl.faults.html_errors_next = 1
    assert (await ptero_client.list_users()).total == 1
    assert [r.status for r in pterodactyl.requests] == [502, 200]


async def test_a_read_answered_once_with_a_cut_short_body_is_asked_again(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.faults.malformed_next = 1
    assert [user.username for user in (await ptero_client.list_users()).items] == ["admin"]
    assert [r.status for r in pterodactyl.requests] == [200, 200]


async def test_retries_give_up_with_a_clear_message(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    pterodactyl.faults.fail_next = 10
    with pytest.raises(PanelUnavailable, match="answered HTTP 500; please try again later"):
        await ptero_client.get_user("1")
    assert len(pterodactyl.requests) == 4  # the first try and three retries


async def test_a_timeout_is_retried_for_a_read_and_not_for_a_create(pterodactyl: PterodactylSimulator) -> None:
    pterodactyl.faults.latency = 0.5
    options = {**FAST, "timeout": 0.15, "max_retries": 1}
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **options) as client:
        with pytest.raises(PanelUnavailable, match="timed out"):
            await client.list_users()
        reads = len(requests_to(pterodactyl, "GET"))
        with pytest.raises(PanelUnavailable, match="timed out while handling a change"):
            await client.create_user(NewUser(email="t@example.com", username="slow", first_name="S", last_name="T"))
    assert reads == 2
    assert len(requests_to(pterodactyl, "POST")) == 1


async def test_a_panel_that_is_down(unused_tcp_port: int) -> None:
    async with create_client("pterodactyl", f"http://127.0.0.1:{unused_tcp_port}", "ptla_x", **FAST) as client:
        with pytest.raises(PanelUnavailable, match="Could not connect"):
            await client.list_users()
        report = await client.check()
    assert not report.reachable and not report.ok


async def test_health_check(pterodactyl: PterodactylSimulator, ptero_client: PanelClient) -> None:
    report = await ptero_client.check()
    assert report.ok and report.users_total == 1
    async with create_client("pterodactyl", pterodactyl.url, "ptla_wrongwrongwrong", **FAST) as client:
        bad = await client.check()
    assert bad.reachable and bad.key_accepted is False and "401" in bad.detail


async def test_the_api_key_never_reaches_logs_or_errors(
    pterodactyl: PterodactylSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = pterodactyl.admin_key
    pterodactyl.faults.fail_next = 1
    async with create_client("pterodactyl", pterodactyl.url, secret, **FAST) as client:
        await client.list_users()
        member = pterodactyl.add_user(username="m", email="m@example.com")
        client_key = pterodactyl.create_client_key(member.id)
        await client.account_for_key(client_key)
        pterodactyl.revoke_key(client_key)
        with pytest.raises(Unauthorized) as refused:
            await client.account_for_key(client_key)
        assert secret not in repr(client)
    assert caplog.records  # the transport did log the requests
    for text in (caplog.text, str(refused.value), repr(refused.value)):
        assert secret not in text and client_key not in text
        assert secret[16:] not in text and client_key[16:] not in text


# --- Pelican ----------------------------------------------------------------------------------------------------


async def test_pelican_users_have_no_names(pelican: PterodactylSimulator, pelican_client: PanelClient) -> None:
    assert Capability.NAMES not in pelican_client.capabilities
    user = await pelican_client.create_user(NewUser(email="Pel@Example.com", username="pel", first_name="Ignored"))
    assert user.first_name is None and user.email == "pel@example.com"  # Pelican lowercases emails
    assert user.two_factor is False
    post = requests_to(pelican, "POST")[0]
    assert "first_name" not in post.json and "root_admin" not in post.json


async def test_pelican_update_sends_email_and_username_only(
    pelican: PterodactylSimulator, pelican_client: PanelClient
) -> None:
    sim_user = pelican.add_user(username="pel", email="pel@example.com")
    user = await pelican_client.update_user(str(sim_user.id), UserChanges(email="new@example.com"))
    assert user.email == "new@example.com"
    assert requests_to(pelican, "PATCH")[0].json == {"email": "new@example.com", "username": "pel"}
    with pytest.raises(NotSupported, match="Pelican panels cannot store first or last names"):
        await pelican_client.update_user(str(sim_user.id), UserChanges(first_name="X"))
    with pytest.raises(NotSupported, match="roles"):
        await pelican_client.update_user(str(sim_user.id), UserChanges(admin=True))
    with pytest.raises(NotSupported):
        await pelican_client.create_user(NewUser(email="a@example.com", username="adm", admin=True))


async def test_pelican_account_for_key_goes_through_the_uuid(
    pelican: PterodactylSimulator, pelican_client: PanelClient
) -> None:
    pelican.seed_users(30)
    sim_user = pelican.add_user(username="owner", email="owner@example.com")
    key = pelican.create_client_key(sim_user.id)
    assert key.startswith("pacc_")
    user = await pelican_client.account_for_key(key)
    assert user.id == str(sim_user.id) and user.uuid == sim_user.uuid


async def test_pelican_refuses_deleting_a_root_admin(
    pelican: PterodactylSimulator, pelican_client: PanelClient
) -> None:
    other_admin = pelican.add_user(username="boss", email="boss@example.com", root_admin=True)
    with pytest.raises(Forbidden, match="root admin"):
        await pelican_client.delete_user(str(other_admin.id))


# --- the checks agree with the panel --------------------------------------------------------------------------------

# What staff might type, and the field the panel refuses it for (None: the panel takes it, so the check must too).
PTERODACTYL_INPUT = {
    "an external id of 192 characters": ({"external_id": "x" * 192}, "external_id"),
    "an external id of 191 characters": ({"external_id": "x" * 191}, None),
    "an email of spaces": ({"email": "   "}, "email"),
    "a first name of spaces": ({"first_name": "   "}, "first_name"),
    "a last name padded with spaces": ({"last_name": "  Lopez  "}, None),
    "a username of 192 characters": ({"username": "u" * 192}, "username"),
    "a username padded with spaces": ({"username": "  padded  "}, None),
}
_LONG_DOMAIN = ".".join(["d" * 60] * 4) + ".com"
PELICAN_INPUT = {
    "a username of 255 characters": ({"username": "u" * 255}, None),
    "a username of 256 characters": ({"username": "u" * 256}, "username"),
    "a one-letter username": ({"username": "u"}, None),
    "an email of 255 characters": ({"email": f"userxyz@{_LONG_DOMAIN}"}, None),
    "an email of 256 characters": ({"email": f"userxyzw@{_LONG_DOMAIN}"}, "email"),
    "an external id of 256 characters": ({"external_id": "x" * 256}, "external_id"),
    "a username of spaces": ({"username": "   "}, "username"),
}


@pytest.mark.parametrize(("change", "field"), PTERODACTYL_INPUT.values(), ids=list(PTERODACTYL_INPUT))
async def test_the_checks_agree_with_pterodactyl(ptero_client: PanelClient, change: dict, field: str | None) -> None:
    new = NewUser(email="agree@example.com", username="agree", first_name="Agree", last_name="Ment")
    await create_agrees(ptero_client, new.model_copy(update=change), field)


@pytest.mark.parametrize(("change", "field"), PELICAN_INPUT.values(), ids=list(PELICAN_INPUT))
async def test_the_checks_agree_with_pelican(pelican_client: PanelClient, change: dict, field: str | None) -> None:
    await create_agrees(
        pelican_client, NewUser(email="agree@example.com", username="agree").model_copy(update=change), field
    )


async def test_the_update_checks_agree_with_pterodactyl(
    pterodactyl: PterodactylSimulator, ptero_client: PanelClient
) -> None:
    member = str(pterodactyl.add_user(username="member", email="member@example.com").id)
    await update_agrees(ptero_client, member, UserChanges(first_name="   "), "first_name")
    await update_agrees(ptero_client, member, UserChanges(external_id="x" * 192), "external_id")
    await update_agrees(ptero_client, member, UserChanges(username="  trimmed  "), None)
    assert pterodactyl.users[int(member)].username == "trimmed"

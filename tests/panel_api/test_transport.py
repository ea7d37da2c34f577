"""The shared transport against the Pterodactyl simulator over loopback: waits it must not make, limits it must keep."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from panel_api import NewUser, PanelUnavailable, UserChanges, create_client
from panel_api.transport import RetryReason, TransportObserver, TransportOptions
from simulators.pterodactyl import PterodactylSimulator
from tests.conftest import FAST

FAST_RETRIES = TransportOptions().max_retries  # FAST keeps the default number of retries


async def test_a_long_retry_after_on_a_5xx_is_not_waited_out(pterodactyl: PterodactylSimulator) -> None:
    # Maintenance mode (`artisan down --retry=600`): sleeping ten minutes would outlast the slash command.
    pterodactyl.faults.fail_next = 5
    pterodactyl.faults.fail_status = 503
    pterodactyl.faults.fail_retry_after = 600
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        with pytest.raises(PanelUnavailable, match="maintenance") as down:
            await asyncio.wait_for(client.get_user("1"), timeout=2)
    assert "try again in about 10 min" in str(down.value) and down.value.status == 503
    assert len(pterodactyl.requests) == 1


async def test_a_short_retry_after_on_a_5xx_is_waited_out(pterodactyl: PterodactylSimulator) -> None:
    pterodactyl.faults.fail_next = 1
    pterodactyl.faults.fail_status = 503
    pterodactyl.faults.fail_retry_after = 0.3
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        started = time.monotonic()
        assert (await client.get_user("1")).username == "admin"
    assert time.monotonic() - started >= 0.3
    assert [r.status for r in pterodactyl.requests] == [503, 200]


async def test_the_timeout_holds_for_a_session_passed_in(pterodactyl: PterodactylSimulator) -> None:
    pterodactyl.faults.latency = 0.6
    options = {**FAST, "timeout": 0.15, "max_retries": 0}
    async with aiohttp.ClientSession() as session:  # aiohttp's own default: 5 minutes
        async with create_client(
            "pterodactyl", pterodactyl.url, pterodactyl.admin_key, session=session, **options
        ) as client:
            started = time.monotonic()
            with pytest.raises(PanelUnavailable, match="timed out"):
                await client.list_users()
            elapsed = time.monotonic() - started
        assert not session.closed  # the client leaves a session it was given open
    assert elapsed < 0.5


async def test_no_remaining_requests_pauses_until_the_window_ends() -> None:
    # Another key of the same admin shares the panel's bucket, so our own count cannot see it being used up.
    async with PterodactylSimulator(rate_limit=3, rate_window=0.6) as sim:
        other_key = sim.create_application_key()
        async with (
            create_client("pterodactyl", sim.url, sim.admin_key, rate_limit=1000, rate_window=0.6, **FAST) as client,
            create_client("pterodactyl", sim.url, other_key, **FAST) as other,
        ):
            started = time.monotonic()
            await client.list_users(per_page=1)  # opens the panel's window: 2 left
            await other.list_users(per_page=1)  # 1 left
            await client.list_users(per_page=1)  # 0 left, and the answer says so
            await client.list_users(per_page=1)  # held until the window ends, not sent into a 429
            elapsed = time.monotonic() - started
        statuses = [r.status for r in sim.requests]
    assert statuses == [200] * 4
    assert 0.4 <= elapsed < 1.5


async def test_a_members_rate_limited_key_does_not_hold_up_staff() -> None:
    # The client API keeps a bucket per member; one member retrying their key must not pause staff commands.
    async with PterodactylSimulator(client_rate_limit=1, rate_window=2.0) as sim:
        member = sim.add_user(username="member", email="member@example.com")
        key = sim.create_client_key(member.id)
        async with create_client("pterodactyl", sim.url, sim.admin_key, **FAST) as client:
            await client.account_for_key(key)
            again = asyncio.create_task(client.account_for_key(key))  # 429: waits about 2 s for its bucket
            while not any(r.status == 429 for r in sim.requests):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            staff = asyncio.create_task(client.list_users())
            done, _ = await asyncio.wait({again, staff}, timeout=1.0)
            assert done == {staff}
            assert (await again).username == "member"


# --- success answers that are not JSON ----------------------------------------------------------------------------


async def test_a_read_cut_short_once_is_asked_again_and_shows_the_data(pterodactyl: PterodactylSimulator) -> None:
    member = pterodactyl.add_user(username="maria", email="maria@example.com")
    pterodactyl.faults.malformed_next = 1  # a proxy or a dying worker garbles one answer, not the next
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        user = await client.get_user(str(member.id))
    assert (user.username, user.email) == ("maria", "maria@example.com")
    assert [r.status for r in pterodactyl.requests] == [200, 200]


async def test_a_read_answered_only_with_a_login_page_points_at_the_url(pterodactyl: PterodactylSimulator) -> None:
    pterodactyl.faults.login_page_next = 10  # e.g. PANEL_URL is the website behind a single-sign-on wall
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        with pytest.raises(PanelUnavailable) as refused:
            await client.list_users()
    assert "web page, not JSON" in str(refused.value) and "base address" in str(refused.value)
    assert len(pterodactyl.requests) == 1 + FAST_RETRIES


async def test_a_read_always_cut_short_does_not_blame_the_configuration(pterodactyl: PterodactylSimulator) -> None:
    pterodactyl.faults.malformed_next = 10
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        with pytest.raises(PanelUnavailable) as garbled:
            await client.list_users()
    text = str(garbled.value)
    assert "garbled or cut short" in text and f"{1 + FAST_RETRIES} times in a row" in text and "try again" in text
    assert "base address" not in text and "proxy" not in text
    assert len(pterodactyl.requests) == 1 + FAST_RETRIES


async def test_a_login_page_then_cut_short_answers_are_not_a_configuration_problem(
    pterodactyl: PterodactylSimulator,
) -> None:
    # One HTML page among garbled JSON is a sick proxy or panel, not a wrong URL: the URL is not blamed.
    pterodactyl.faults.login_page_next, pterodactyl.faults.malformed_next = 1, 10
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        with pytest.raises(PanelUnavailable, match="garbled or cut short") as garbled:
            await client.list_users()
    assert "base address" not in str(garbled.value)


async def test_a_create_answered_with_a_web_page_is_not_sent_twice(pterodactyl: PterodactylSimulator) -> None:
    pterodactyl.faults.login_page_next = 1
    new = NewUser(email="w@example.com", username="webpage", first_name="W", last_name="P")
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        with pytest.raises(PanelUnavailable, match="may have been applied, so check on the panel"):
            await client.create_user(new)
    assert [r.method for r in pterodactyl.requests] == ["POST"]


async def test_a_change_answered_with_a_cut_short_body_is_not_sent_again(pterodactyl: PterodactylSimulator) -> None:
    member = pterodactyl.add_user(username="maria", email="maria@example.com")
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **FAST) as client:
        pterodactyl.faults.after, pterodactyl.faults.malformed_next = 1, 1  # the read before the PATCH answers
        with pytest.raises(PanelUnavailable, match="most likely made") as unreadable:
            await client.update_user(str(member.id), UserChanges(email="new@example.com"))
    assert "sending it again is safe" in str(unreadable.value)
    assert [r.method for r in pterodactyl.requests] == ["GET", "PATCH"]


class RecordingObserver(TransportObserver):
    """What the bot's metrics would be told, kept as a list of calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def request_done(self, method: str, status: int | None, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append(("done", (method, status)))

    def rate_limited(self) -> None:
        self.calls.append(("429", None))

    def retried(self, reason: RetryReason) -> None:
        self.calls.append(("retry", reason))

    def limiter_waited(self, seconds: float) -> None:
        self.calls.append(("waited", round(seconds, 1)))


async def test_the_observer_hears_each_answer_retry_and_429() -> None:
    options: dict[str, Any] = {**FAST, "rate_limit": 1000}
    async with (
        PterodactylSimulator(rate_limit=2, rate_window=0.3) as sim,
        create_client("pterodactyl", sim.url, sim.admin_key, **options) as client,
    ):
        observer = client.transport.observer = RecordingObserver()
        sim.faults.fail_next = 1
        sim.faults.fail_status = 503
        await client.get_user("1")  # 503 (not counted by the panel's limiter), retried, 200
        await client.get_user("1")  # 200, the panel's window is now spent
        await client.get_user("1")  # 429 with Retry-After, waited out, then 200
    done = [call for kind, call in observer.calls if kind == "done"]
    assert done[:3] == [("GET", 503), ("GET", 200), ("GET", 200)] and done[-1] == ("GET", 200)
    assert ("retry", "server error") in observer.calls
    assert ("429", None) in observer.calls and ("GET", 429) in done


async def test_the_observer_hears_waits_for_the_client_side_limit(pterodactyl: PterodactylSimulator) -> None:
    options: dict[str, Any] = {**FAST, "rate_limit": 1, "rate_window": 0.3}
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **options) as client:
        observer = client.transport.observer = RecordingObserver()
        await client.get_user("1")
        await client.get_user("1")
    assert [kind for kind, _ in observer.calls] == ["done", "waited", "done"]
    assert observer.calls[1] == ("waited", 0.3)


async def test_the_observer_hears_a_request_that_got_no_answer(pterodactyl: PterodactylSimulator) -> None:
    options: dict[str, Any] = {**FAST, "timeout": 0.1}
    async with create_client("pterodactyl", pterodactyl.url, pterodactyl.admin_key, **options) as client:
        observer = client.transport.observer = RecordingObserver()
        pterodactyl.faults.latency = 0.5
        with pytest.raises(PanelUnavailable):
            await client.get_user("1")
    assert ("done", ("GET", None)) in observer.calls and ("retry", "timed out") in observer.calls

"""`suggest_users` against the simulators over loopback: search-as-you-type that costs few requests, answers what the
panel would, and never takes the rate budget commands need."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from panel_api import PanelClient, RateLimited, create_client
from panel_api.search_cache import SearchCache
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.pterodactyl import PterodactylSimulator
from tests.conftest import FAST


def sent(sim: PterodactylSimulator | CtrlPanelSimulator) -> int:
    return len(sim.requests)


async def panel_answer(client: PanelClient, term: str, limit: int = 25) -> list[str]:
    """What the panel itself lists first for `term`, through an ordinary request."""
    return [user.id for user in (await client.list_users(per_page=limit, search=term)).items]


def ids(users: list) -> list[str]:
    return [user.id for user in users]


@pytest.fixture
async def crowded() -> AsyncIterator[PterodactylSimulator]:
    """A Pterodactyl panel at its default limit (240 a minute) with 2000 users user1 … user2000 and a few others."""
    async with PterodactylSimulator() as sim:
        sim.seed_users(2000)
        for name in ("steve", "stevenson", "stella", "maria", "mario", "marta"):
            sim.add_user(username=name, email=f"{name}@example.com")
        sim.requests.clear()
        yield sim


async def test_typing_costs_few_requests_and_leaves_commands_their_budget(crowded: PterodactylSimulator) -> None:
    names = [user.username for user in crowded.users.values()]
    chooser = random.Random(11)
    keystrokes: list[str] = []
    while len(keystrokes) < 300:
        word = chooser.choice(names)
        keystrokes += [word[:length] for length in range(1, len(word) + 1)]
    keystrokes = keystrokes[:300]
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        answered = refused = 0
        for typed in keystrokes:
            try:
                suggestions = await client.suggest_users(typed)
            except RateLimited:
                refused += 1
                continue
            answered += 1
            assert all(typed in user.username for user in suggestions)
        by_suggestions = sent(crowded)
        share = int(client.transport.options.rate_limit * client.transport.options.best_effort_share)
        assert by_suggestions <= share and by_suggestions * 5 < len(keystrokes)
        assert answered > refused
        # The command right after goes at once: its limiter has room, nothing holds it, and the panel agrees.
        assert client.transport.limiter.delay() == 0
        user = await client.get_user(str(crowded.admin.id))
    assert user.username == "admin"
    assert sent(crowded) == by_suggestions + 1 and crowded.requests[-1].status == 200
    assert all(r.status == 200 for r in crowded.requests)


async def test_a_longer_term_is_narrowed_from_a_complete_shorter_answer(crowded: PterodactylSimulator) -> None:
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        assert ids(await client.suggest_users("ste")) == await panel_answer(client, "ste")  # complete: 2 users
        before = sent(crowded)
        narrowed = {term: ids(await client.suggest_users(term)) for term in ("stev", "steve", "STEVEN", "stevenson")}
        assert sent(crowded) == before
        for term, answer in narrowed.items():
            assert answer == await panel_answer(client, term), term
    assert narrowed["steve"] and narrowed["STEVEN"] and narrowed["stevenson"]


async def test_an_incomplete_shorter_answer_is_not_narrowed(crowded: PterodactylSimulator) -> None:
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        await client.suggest_users("user1")  # 1111 users match: the answer is only a first page
        before = sent(crowded)
        answer = ids(await client.suggest_users("user19"))
        assert sent(crowded) == before + 1  # asked the panel: user19… may be beyond that first page
        assert answer == await panel_answer(client, "user19")
    assert len(answer) == 25


async def test_a_field_switch_or_a_wildcard_is_asked_for(crowded: PterodactylSimulator) -> None:
    crowded.add_user(username="ste_ve", email="ste_ve@example.com")
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        await client.suggest_users("ste")
        before = sent(crowded)
        by_mail = ids(await client.suggest_users("ste@"))  # emails now, not usernames
        wildcard = ids(await client.suggest_users("ste_"))  # `_` is any character to Pterodactyl's filter
        assert sent(crowded) == before + 2
        assert by_mail == await panel_answer(client, "ste@")
        assert wildcard == await panel_answer(client, "ste_")


async def test_answers_expire_after_their_time(crowded: PterodactylSimulator) -> None:
    now = [1000.0]
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        client.search_cache = SearchCache(ttl=30, clock=lambda: now[0])
        await client.suggest_users("mar")
        now[0] += 29
        await client.suggest_users("mar")
        await client.suggest_users("mari")  # narrowed from "mar", and as old as its answer
        assert sent(crowded) == 1
        crowded.add_user(username="marianne", email="marianne@example.com")
        now[0] += 2  # "mar" was fetched 31 s ago
        fresh = [user.username for user in await client.suggest_users("mari")]
    assert sent(crowded) == 2 and "marianne" in fresh


async def test_the_cache_keeps_a_bounded_number_of_terms(crowded: PterodactylSimulator) -> None:
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        client.search_cache = SearchCache(max_entries=3)
        for term in ("user1", "user2", "user3", "user4"):
            await client.suggest_users(term)
        assert len(client.search_cache) == 3
        await client.suggest_users("user1")  # the oldest was dropped: asked again
    assert sent(crowded) == 5


async def test_the_cache_keeps_a_bounded_number_of_users(crowded: PterodactylSimulator) -> None:
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        client.search_cache = SearchCache(max_users=150)
        for term in ("user1", "user2", "user3"):
            await client.suggest_users(term)
        assert len(client.search_cache) == 1  # 100 users each: only the newest answer fits in 150
        assert len(await client.suggest_users("user3", limit=1000)) == 100
    assert sent(crowded) == 3  # the newest answer stays


async def test_terms_typed_while_a_shorter_one_is_fetched_wait_for_it(crowded: PterodactylSimulator) -> None:
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **FAST) as client:
        answers = await asyncio.gather(*(client.suggest_users(term) for term in ("st", "ste", "stel", "stell")))
    assert sent(crowded) == 1
    assert [user.username for user in answers[3]] == ["stella"]


async def test_a_spent_share_refuses_at_once_and_commands_still_go(crowded: PterodactylSimulator) -> None:
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **{**FAST, "rate_limit": 8}) as client:
        await client.suggest_users("user1")
        await client.suggest_users("user2")  # the share: 2 of 8
        with pytest.raises(RateLimited) as refused:
            await client.suggest_users("maria")  # nothing cached answers it
        assert refused.value.retry_after > 0
        assert sent(crowded) == 2  # refused without a request
        assert client.transport.limiter.delay() == 0
        assert (await client.get_user(str(crowded.admin.id))).username == "admin"
    assert sent(crowded) == 3


async def test_a_spent_share_answers_from_a_shorter_first_page(crowded: PterodactylSimulator) -> None:
    async with create_client("pterodactyl", crowded.url, crowded.admin_key, **{**FAST, "rate_limit": 4}) as client:
        await client.suggest_users("user1")  # a first page of 100 of its 1111 users; the share is 1
        partial = await client.suggest_users("user10")
    assert sent(crowded) == 1
    assert partial and all("user10" in user.username for user in partial)


async def test_a_nearly_spent_panel_window_is_left_to_commands() -> None:
    # The panel's bucket is shared (another key of the same admin): only its answers tell how much is left.
    async with PterodactylSimulator(rate_limit=8) as sim:
        async with create_client("pterodactyl", sim.url, sim.admin_key, **{**FAST, "rate_limit": 1000}) as client:
            for _ in range(7):
                await client.list_users(per_page=1)  # 1 left of 8: less than the best-effort share
            with pytest.raises(RateLimited):
                await client.suggest_users("admin")
            assert len(sim.requests) == 7
            assert (await client.get_user(str(sim.admin.id))).username == "admin"
        assert [r.status for r in sim.requests] == [200] * 8


async def test_a_limiter_holding_requests_refuses_suggestions_at_once() -> None:
    async with PterodactylSimulator(rate_limit=2, rate_window=5.0) as sim:
        options = {**FAST, "rate_limit": 1000, "rate_window": 5.0}
        async with create_client("pterodactyl", sim.url, sim.admin_key, **options) as client:
            await client.list_users(per_page=1)
            await client.list_users(per_page=1)  # 0 left: the limiter holds requests until the window ends
            assert client.transport.limiter.delay() > 0
            with pytest.raises(RateLimited):
                await asyncio.wait_for(client.suggest_users("admin"), timeout=1)
        assert len(sim.requests) == 2


async def test_a_429_to_a_suggestion_is_not_waited_out() -> None:
    async with PterodactylSimulator(rate_limit=1, rate_window=30.0) as sim:
        other = sim.create_application_key()
        async with create_client("pterodactyl", sim.url, other, **FAST) as elsewhere:
            await elsewhere.list_users(per_page=1)  # another key of the admin spends the shared bucket
        async with create_client("pterodactyl", sim.url, sim.admin_key, **FAST) as client:
            with pytest.raises(RateLimited) as refused:
                await asyncio.wait_for(client.suggest_users("admin"), timeout=1)
    assert refused.value.retry_after > 1
    assert [r.status for r in sim.requests] == [200, 429]


async def test_ctrlpanel_suggestions_learn_the_version_once_and_narrow() -> None:
    async with CtrlPanelSimulator(version="0.9") as sim:
        for name in ("steve", "stevenson", "stella", "ste_ve"):
            sim.add_user(name=name, email=f"{name}@example.com")
        async with create_client("ctrlpanel", sim.url, sim.api_key, **FAST) as client:
            await client.suggest_users("st")
            assert sent(sim) == 2  # the version probe, then the search
            assert ids(await client.suggest_users("stev")) == await panel_answer(client, "stev")
            assert sent(sim) == 3  # the panel's answer just now; the suggestion was narrowed
            before = sent(sim)
            wildcard = ids(await client.suggest_users("ste_"))  # a LIKE wildcard on 0.9's query builder
            assert sent(sim) == before + 1
            assert wildcard == await panel_answer(client, "ste_")

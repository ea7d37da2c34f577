from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from storage import (
    AccountAlreadyLinked,
    Database,
    Link,
    LinkMethod,
    LinkStore,
    MemberAlreadyLinked,
    PastLink,
)
from tests.storage.conftest import Clock


@pytest.fixture
def links(db: Database) -> LinkStore:
    return LinkStore(db)


async def test_a_link_reads_back_from_both_sides(links: LinkStore, clock: Clock) -> None:
    made = await links.link("main", 111, "7", method="staff", panel_username="steve", linked_by=999)

    assert made == Link(
        panel="main",
        discord_id=111,
        panel_user_id="7",
        panel_username="steve",
        method=LinkMethod.STAFF,
        linked_by=999,
        linked_at=clock.current,
    )
    assert await links.get_for_member("main", 111) == made
    assert await links.get_for_account("main", "7") == made
    assert await links.get_for_member("other", 111) is None
    assert await links.get_for_account("main", "8") is None


async def test_a_member_may_hold_one_account_on_each_panel(links: LinkStore, clock: Clock) -> None:
    on_main = await links.link("main", 111, "7", method=LinkMethod.EXTERNAL_ID)
    clock.advance(minutes=1)
    on_eu = await links.link("eu", 111, "3f0c6a51-uuid", method=LinkMethod.PANEL_DISCORD)
    # The same account id on another panel is another account.
    someone_else = await links.link("eu", 222, "7", method=LinkMethod.CREATED)

    assert await links.links_of_member(111) == [on_eu, on_main]
    assert await links.all_for_panel("eu") == [on_eu, someone_else]
    assert (await links.count("main"), await links.count("eu"), await links.count("nowhere")) == (1, 2, 0)


async def test_a_member_already_linked_on_the_panel_is_refused(links: LinkStore) -> None:
    existing = await links.link("main", 111, "7", method="external_id")

    with pytest.raises(MemberAlreadyLinked) as refused:
        await links.link("main", 111, "8", method="external_id")

    assert refused.value.existing == existing
    assert await links.get_for_account("main", "8") is None
    assert await links.count("main") == 1


async def test_an_account_already_linked_is_refused(links: LinkStore) -> None:
    existing = await links.link("main", 111, "7", method="external_id")

    with pytest.raises(AccountAlreadyLinked) as refused:
        await links.link("main", 222, "7", method="staff", linked_by=999)

    assert refused.value.existing == existing
    assert await links.get_for_member("main", 222) is None
    assert await links.count("main") == 1


async def test_when_both_sides_are_taken_the_members_own_link_is_reported(links: LinkStore) -> None:
    own = await links.link("main", 111, "7", method="external_id")
    await links.link("main", 222, "8", method="external_id")

    with pytest.raises(MemberAlreadyLinked) as refused:
        await links.link("main", 111, "8", method="external_id")

    assert refused.value.existing == own


async def test_an_unknown_method_is_refused(links: LinkStore) -> None:
    with pytest.raises(ValueError, match="guess"):
        await links.link("main", 111, "7", method="guess")
    assert await links.count("main") == 0


async def test_two_connections_racing_for_one_account_have_exactly_one_winner(db_path: Path, clock: Clock) -> None:
    async with Database.connect(db_path, now=clock) as first, Database.connect(db_path, now=clock) as second:
        stores = (LinkStore(first), LinkStore(second))
        for round_ in range(15):
            account = f"account-{round_}"
            results = await asyncio.gather(
                stores[0].link("main", 1000 + round_, account, method="client_key"),
                stores[1].link("main", 2000 + round_, account, method="client_key"),
                return_exceptions=True,
            )

            winners = [result for result in results if isinstance(result, Link)]
            losers = [result for result in results if isinstance(result, AccountAlreadyLinked)]
            assert (len(winners), len(losers)) == (1, 1), results
            assert losers[0].existing == winners[0]
            assert await stores[1].get_for_account("main", account) == winners[0]
        assert await stores[0].count("main") == 15


async def test_two_connections_linking_one_member_twice_have_exactly_one_winner(db_path: Path, clock: Clock) -> None:
    async with Database.connect(db_path, now=clock) as first, Database.connect(db_path, now=clock) as second:
        stores = (LinkStore(first), LinkStore(second))
        for member in range(15):
            results = await asyncio.gather(
                stores[0].link("main", member, f"a-{member}", method="external_id"),
                stores[1].link("main", member, f"b-{member}", method="external_id"),
                return_exceptions=True,
            )

            winners = [result for result in results if isinstance(result, Link)]
            losers = [result for result in results if isinstance(result, MemberAlreadyLinked)]
            assert (len(winners), len(losers)) == (1, 1), results
            assert losers[0].existing == winners[0]
        assert await stores[0].count("main") == 15


async def test_unlinking_a_member_moves_the_link_to_history(links: LinkStore, clock: Clock) -> None:
    made = await links.link("main", 111, "7", method="staff", panel_username="steve", linked_by=999)
    clock.advance(hours=5)

    removed = await links.unlink_member("main", 111, reason="member asked")

    assert removed == made
    assert await links.get_for_member("main", 111) is None
    assert await links.get_for_account("main", "7") is None
    past = PastLink(
        panel="main",
        discord_id=111,
        panel_user_id="7",
        panel_username="steve",
        method=LinkMethod.STAFF,
        linked_by=999,
        linked_at=made.linked_at,
        unlinked_at=clock.current,
        reason="member asked",
    )
    assert await links.last_unlink_of_member("main", 111) == past
    assert await links.last_unlink_of_account("main", "7") == past
    # Both sides are free again.
    await links.link("main", 222, "7", method="external_id")
    await links.link("main", 111, "8", method="external_id")


async def test_unlinking_an_account_moves_the_link_to_history(links: LinkStore, clock: Clock) -> None:
    made = await links.link("main", 111, "7", method="created")
    await links.link("main", 222, "8", method="created")

    removed = await links.unlink_account("main", "7", reason="deleted on the panel")

    assert removed == made
    assert await links.all_for_panel("main") == [await links.get_for_member("main", 222)]
    past = await links.last_unlink_of_member("main", 111)
    assert past is not None
    assert (past.panel_user_id, past.reason, past.unlinked_at) == ("7", "deleted on the panel", clock.current)
    assert await links.last_unlink_of_member("main", 222) is None


async def test_unlinking_nothing_returns_none_and_records_nothing(links: LinkStore) -> None:
    await links.link("eu", 111, "7", method="created")

    assert await links.unlink_member("main", 111, reason="x") is None
    assert await links.unlink_account("main", "7", reason="x") is None
    assert await links.last_unlink_of_member("main", 111) is None
    assert await links.last_unlink_of_account("main", "7") is None
    assert await links.count("eu") == 1


async def test_the_last_unlink_is_the_most_recent_one(links: LinkStore, clock: Clock) -> None:
    await links.link("main", 111, "7", method="external_id")
    await links.unlink_member("main", 111, reason="first")
    clock.advance(hours=1)
    await links.link("main", 111, "8", method="external_id")
    clock.advance(hours=1)
    await links.unlink_member("main", 111, reason="second")
    clock.advance(hours=1)
    await links.link("main", 333, "7", method="external_id")
    await links.unlink_account("main", "7", reason="third")

    by_member = await links.last_unlink_of_member("main", 111)
    by_account = await links.last_unlink_of_account("main", "7")

    assert by_member is not None and (by_member.reason, by_member.panel_user_id) == ("second", "8")
    assert by_account is not None and (by_account.reason, by_account.discord_id) == ("third", 333)
    assert by_account.unlinked_at == clock.current
    assert clock.current - by_member.unlinked_at == timedelta(hours=1)


async def test_links_are_counted_per_panel_in_one_query(links: LinkStore, db: Database) -> None:
    assert await links.count_by_panel() == {}
    await links.link("main", 111, "7", method="staff")
    await links.link("main", 112, "8", method="staff")
    await links.link("billing", 111, "3", method="staff")
    await links.unlink_member("main", 112, reason="test")
    before = db.tally.statements
    assert await links.count_by_panel() == {"main": 1, "billing": 1}
    assert db.tally.statements == before + 1

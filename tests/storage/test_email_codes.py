"""One-time codes on a real SQLite file: hashed, single use, a few tries, ten minutes, one live code per purpose."""

from __future__ import annotations

import asyncio

import pytest

from storage import AlreadyRegistered, CodeVerdict, Database, EmailCodes, Purpose
from storage.email_codes import MAX_TRIES, email_subject
from tests.storage.conftest import Clock

PANEL, MEMBER = "main", 4242


async def test_the_right_code_proves_its_subject_once(db: Database) -> None:
    codes = EmailCodes(db)
    issued = await codes.issue(MEMBER, PANEL, Purpose.LINK, "17")
    assert len(issued.code) == 6 and issued.code.isdigit()
    assert (await codes.check(MEMBER, PANEL, Purpose.LINK, f" {issued.code[:3]} {issued.code[3:]} ")).subject == "17"
    assert (await codes.check(MEMBER, PANEL, Purpose.LINK, issued.code)).verdict is CodeVerdict.NONE


async def test_the_code_is_kept_only_as_a_hash(db: Database) -> None:
    issued = await EmailCodes(db).issue(MEMBER, PANEL, Purpose.LINK, "17")
    rows = await db.fetch_all("SELECT * FROM email_codes")
    assert rows and all(issued.code not in str(value) for row in rows for value in tuple(row))


async def test_a_code_is_for_its_member_panel_and_purpose_only(db: Database) -> None:
    codes = EmailCodes(db)
    issued = await codes.issue(MEMBER, PANEL, Purpose.LINK, "17")
    assert (await codes.check(MEMBER + 1, PANEL, Purpose.LINK, issued.code)).verdict is CodeVerdict.NONE
    assert (await codes.check(MEMBER, "other", Purpose.LINK, issued.code)).verdict is CodeVerdict.NONE
    assert (await codes.check(MEMBER, PANEL, Purpose.PASSWORD, issued.code)).verdict is CodeVerdict.NONE
    assert (await codes.check(MEMBER, PANEL, Purpose.LINK, issued.code)).verdict is CodeVerdict.OK


async def test_wrong_guesses_end_the_code_after_the_last_try(db: Database) -> None:
    codes = EmailCodes(db)
    issued = await codes.issue(MEMBER, PANEL, Purpose.LINK, "17")
    wrong = "000000" if issued.code != "000000" else "111111"
    verdicts = [(await codes.check(MEMBER, PANEL, Purpose.LINK, wrong)).verdict for _ in range(MAX_TRIES)]
    assert verdicts == [CodeVerdict.WRONG] * (MAX_TRIES - 1) + [CodeVerdict.SPENT]
    assert (await codes.check(MEMBER, PANEL, Purpose.LINK, issued.code)).verdict is CodeVerdict.NONE


async def test_codes_expire_after_ten_minutes_and_a_new_one_ends_the_old(db: Database, clock: Clock) -> None:
    codes = EmailCodes(db)
    first = await codes.issue(MEMBER, PANEL, Purpose.LINK, "17")
    second = await codes.issue(MEMBER, PANEL, Purpose.LINK, "17")
    if first.code != second.code:
        assert (await codes.check(MEMBER, PANEL, Purpose.LINK, first.code)).verdict is CodeVerdict.WRONG
    clock.advance(minutes=10, seconds=1)
    assert (await codes.check(MEMBER, PANEL, Purpose.LINK, second.code)).verdict is CodeVerdict.NONE


async def test_a_code_issued_for_nobody_matches_nothing(db: Database) -> None:
    codes = EmailCodes(db)
    issued = await codes.issue(MEMBER, PANEL, Purpose.LINK, None)
    assert (await codes.check(MEMBER, PANEL, Purpose.LINK, issued.code)).verdict is CodeVerdict.WRONG


async def test_two_submissions_of_one_code_at_once_pass_once(db: Database) -> None:
    codes = EmailCodes(db)
    issued = await codes.issue(MEMBER, PANEL, Purpose.REGISTER, email_subject("A@b.cc"))
    results = await asyncio.gather(*(codes.check(MEMBER, PANEL, Purpose.REGISTER, issued.code) for _ in range(4)))
    assert [r.verdict for r in results].count(CodeVerdict.OK) == 1
    assert {r.subject for r in results if r.subject} == {email_subject("a@b.cc ")}


async def test_sign_ups_are_capped_per_day_and_one_per_member_and_panel(db: Database, clock: Clock) -> None:
    codes = EmailCodes(db)
    first = await codes.reserve_registration(1, PANEL, per_day=2)
    assert first is not None
    await codes.complete_registration(first, "10")
    second = await codes.reserve_registration(2, PANEL, per_day=2)
    assert second is not None
    assert await codes.reserve_registration(3, PANEL, per_day=2) is None  # the day's two are taken
    await codes.release_registration(second)  # the panel refused member 2's account
    assert await codes.reserve_registration(3, PANEL, per_day=2) is not None
    with pytest.raises(AlreadyRegistered):
        await codes.reserve_registration(1, PANEL, per_day=2)
    clock.advance(days=1)
    assert await codes.reserve_registration(4, PANEL, per_day=2) is not None

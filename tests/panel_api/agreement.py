"""Comparing a client's checks with what its simulator answers: a check must refuse exactly what the panel refuses
(and take what it takes), or staff are stopped for nothing or sent to a round trip that fails."""

from __future__ import annotations

import pytest

from panel_api import NewUser, PanelClient, UserChanges, ValidationFailed


async def create_agrees(client: PanelClient, new: NewUser, field: str | None) -> None:
    """The check finds exactly `field` wrong, and the panel, sent the input all the same, refuses that field; or
    the check finds nothing and the panel creates the account."""
    problems = client.check_new_user(new)
    if field is None:
        assert problems == {}
        await client.create_user(new)
        return
    assert list(problems) == [field]
    with pytest.raises(ValidationFailed) as refused:
        await client.create_user(new)
    assert list(refused.value.fields) == [field]


async def update_agrees(client: PanelClient, user_id: str, changes: UserChanges, field: str | None) -> None:
    """As `create_agrees`, for an edit of `user_id`."""
    problems = client.check_changes(changes)
    if field is None:
        assert problems == {}
        await client.update_user(user_id, changes)
        return
    assert list(problems) == [field]
    with pytest.raises(ValidationFailed) as refused:
        await client.update_user(user_id, changes)
    assert list(refused.value.fields) == [field]

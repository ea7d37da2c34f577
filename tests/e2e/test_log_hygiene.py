"""At LOG_LEVEL=DEBUG the logs hold no token, key, password, SQL parameter or email, and no forged line."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.harness import ADMIN, GENERAL, GUILD, MEMBER, TOKEN, Desk
from tests.e2e.test_linking import link_with_key


async def test_debug_logs_keep_secrets_and_members_input_out(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Correct-Horse-42"
    created = await desk.reply(
        "user create",
        email="newbie@example.com",
        username="newbie",
        first_name="New",
        last_name="Bie",
        password=password,
    )
    assert "Created newbie" in created.text()
    account = desk.panel.add_user(username="keyholder", email="holder@example.com")
    key = desk.panel.create_client_key(account.id)
    assert "Linked to **keyholder**" in (await link_with_key(desk, MEMBER, key)).content
    await desk.reply("user info", user="nobody\nERROR forged line \x1b[31mred")
    forged = {
        "id": next(c["id"] for c in desk.discord.registered_commands(GUILD) if c["name"] == "user"),
        "name": "user",
        "type": 1,
        "guild_id": str(GUILD),
        "options": [{"name": "info", "type": 1, "options": [{"name": "x\nCRITICAL forged", "type": 3, "value": "y"}]}],
    }
    record = await desk.discord.send_raw(2, forged, user=ADMIN, guild=GUILD, channel=GENERAL)
    await record.wait_for_message()

    assert any(r.name == "discord.http" for r in caplog.records)  # DEBUG logging was on, HTTP requests included
    text = caplog.text
    tokens = [interaction.token for interaction in desk.discord.interactions.values()]
    for secret in [*tokens, TOKEN, password, key, key[16:], desk.panel.api_key]:
        assert secret not in text
    for email in ("newbie@example.com", "holder@example.com"):
        assert email not in text
    assert not [r for r in caplog.records if r.name.startswith("aiosqlite") and r.levelno < logging.INFO]
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "\n" in m or "\x1b" in m]
    assert any("x\\nCRITICAL forged" in m for m in messages)  # the member's text is there, escaped

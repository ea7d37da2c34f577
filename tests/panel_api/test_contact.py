"""A panel that starts failing is one WARNING and one "recovered" line, however many requests fail in between."""

from __future__ import annotations

import logging

import pytest

from panel_api import PanelUnavailable, create_client
from simulators.pterodactyl import PterodactylSimulator


async def test_an_outage_is_one_warning_and_one_recovery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with PterodactylSimulator() as sim:
        client = create_client("pterodactyl", sim.url, sim.admin_key, name="main", max_retries=1, backoff_base=0.01)
        try:
            await client.list_users(page=1, per_page=1)
            assert client.transport.contact.ok is True
            sim.faults.fail_next, sim.faults.fail_status = 6, 500  # 3 requests, each tried twice
            for _ in range(3):
                with pytest.raises(PanelUnavailable):
                    await client.list_users(page=1, per_page=1)
            assert client.transport.contact.ok is False
            assert "500" in (client.transport.contact.problem or "")
            await client.list_users(page=1, per_page=1)
        finally:
            await client.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"Panel 'main' (Pterodactyl at {sim.url}) is failing: ")
    assert "500" in warnings[0]
    recovered = [r.getMessage() for r in caplog.records if "recovered" in r.getMessage()]
    assert len(recovered) == 1 and recovered[0].startswith("Panel 'main'"), recovered
    assert client.transport.contact.ok is True and client.transport.contact.problem is None

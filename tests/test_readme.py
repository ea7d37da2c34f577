"""Figures the README states that come from code: kept true by computing them from that code."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cogs.notifications import MAX_ATTEMPTS, Notifications
from metrics import BotMetrics
from simulators import ctrlpanel
from simulators.loopback import welcome_of

# Line breaks may fall anywhere in a sentence.
README = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())


def test_how_long_a_failing_notice_is_retried() -> None:
    waits = [
        min(Notifications.retry_first * 2**tries, Notifications.retry_longest) for tries in range(MAX_ATTEMPTS - 1)
    ]
    hours = sum(waits) / 3600
    assert f"after {MAX_ATTEMPTS} failed attempts (about {hours:.1f} hours)" in README


async def test_which_user_the_ctrlpanel_simulator_links_to_discord(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = argparse.Namespace(host="127.0.0.1", port=0, users=3, version="1.2")
    output = await welcome_of(ctrlpanel._serve(arguments), lambda: capsys.readouterr().out)
    shown = re.search(r"^(\w+) \(id (\d+)\) has Discord account (\d+) linked$", output, re.MULTILINE)
    assert shown is not None, output
    name, user_id, snowflake = shown.groups()
    assert ctrlpanel.CtrlPanelSimulator().admin.id == 1
    assert f"links {name} (id {user_id}; id 1 is the admin) to the Discord account {snowflake}" in README


def test_every_metric_is_listed_in_the_readme() -> None:
    families = list(BotMetrics().registry.collect())
    assert len(families) > 20
    for family in families:
        name = f"{family.name}_total" if family.type == "counter" else family.name
        assert f"| `{name}` |" in README, f"{name} is not in the README's table of metrics"

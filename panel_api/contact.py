"""Whether a panel answered the last time the bot asked: for `/readyz`, `/panel status` and the logs.

A panel that stops answering is logged once when it starts failing and once when it is back, not once per request:
during an outage every command fails the same way, and a warning per request buries everything else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger("panel_api.contact")


@dataclass
class PanelContact:
    """The outcome of the last request sent to one panel with the bot's own key."""

    label: str
    ok: bool | None = None  # None: not asked yet
    problem: str | None = None  # a sentence, while failing
    last_contact: float | None = None  # time.time() of the last answer or failure
    failing_since: float | None = None

    def succeeded(self) -> None:
        if self.ok is False and self.failing_since is not None:
            log.info("%s recovered after %.0f s", _capitalised(self.label), time.time() - self.failing_since)
        self.ok, self.problem, self.failing_since = True, None, None
        self.last_contact = time.time()

    def failed(self, problem: str) -> None:
        now = time.time()
        if self.ok is not False:
            self.failing_since = now
            if self.ok is True:  # the first contact's failure is the start-up probe's to report, with what to do
                log.warning("%s is failing: %s", _capitalised(self.label), problem)
        self.ok, self.problem, self.last_contact = False, problem, now


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]

"""How fast an account spends its credits, learned from the balances the watcher reads over time.

Panels bill in steps (CtrlPanel charges each server per billing period), so between two readings a balance either
stays, falls (a bill, several bills, or a removal on the panel) or rises (a top-up, possibly net of a bill). Only
falls are spending; a rise neither counts nor resets anything. The account's recent falls are kept, and the rate is
what they add up to over the time they span: the sum of every fall after the first, over the time from the first
to the last. That is exact for a regular bill whatever the sweep interval, and it follows a change of use (a new
server) as the oldest falls drop out.

A fall more than `ONE_OFF_FACTOR` times the typical (median) fall is a one-off, not a bill: a removal on the panel,
or a server's first period paid up front. It is kept (were it the new normal, it would become the median) but not
counted. "Steady" is what the warning needs before it says anything: at least `MIN_FALLS` bills, the newest no
longer ago than twice the average gap between them. A member who stopped their servers is not told their credits
run out.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

MIN_FALLS = 3
KEEP_FALLS = 24
KEEP_SECONDS = 30 * 86_400
ONE_OFF_FACTOR = 5
DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class Fall:
    at: float  # Unix seconds of the reading that showed it
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Spending:
    falls: tuple[Fall, ...] = ()

    @classmethod
    def load(cls, text: str | None) -> Spending:
        if not text:
            return cls()
        return cls(tuple(Fall(float(at), Decimal(amount)) for at, amount in json.loads(text)))

    def dump(self) -> str:
        return json.dumps([[fall.at, str(fall.amount)] for fall in self.falls], separators=(",", ":"))

    def after(self, spent: Decimal, now: datetime) -> Spending:
        """This record after a reading at `now` that showed `spent` credits gone since the one before (0: none)."""
        at = now.timestamp()
        kept = tuple(fall for fall in self.falls if at - fall.at <= KEEP_SECONDS)
        if spent > 0:
            if kept and at <= kept[-1].at:  # the clock stepped back: keep the order the rate needs
                at = kept[-1].at + 0.001
            kept = (*kept, Fall(at, spent))[-KEEP_FALLS:]
        return Spending(kept)

    def bills(self) -> tuple[Fall, ...]:
        """The falls that count as spending: all but the one-offs."""
        if not self.falls:
            return ()
        typical = statistics.median(fall.amount for fall in self.falls)
        return tuple(fall for fall in self.falls if fall.amount <= typical * ONE_OFF_FACTOR)

    def per_day(self) -> Decimal | None:
        """Credits a day at the recent rate, whether or not spending still goes on; None with too little to go by."""
        bills = self.bills()
        if len(bills) < 2 or bills[-1].at <= bills[0].at:
            return None
        span = Decimal(str(bills[-1].at - bills[0].at))
        return sum((fall.amount for fall in bills[1:]), Decimal(0)) * DAY_SECONDS / span

    def steady_per_day(self, now: datetime) -> Decimal | None:
        """`per_day`, only while spending goes on steadily (see the module's docstring)."""
        bills = self.bills()
        rate = self.per_day()
        if rate is None or len(bills) < MIN_FALLS:
            return None
        gap = (bills[-1].at - bills[0].at) / (len(bills) - 1)
        return rate if now.timestamp() - bills[-1].at <= 2 * gap else None


def days_left(balance: Decimal, per_day: Decimal | None) -> Decimal | None:
    if per_day is None or per_day <= 0:
        return None
    return max(balance, Decimal(0)) / per_day

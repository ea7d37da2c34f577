"""Previous / Next on a long list, without a view kept alive per list.

A `discord.ui.View` per list (with its timeout task) cost kilobytes for minutes: thousands of `/user list` runs grew
the bot by tens of MiB, lengthened garbage collection pauses, and their expiry edited every message in one burst.
Here the buttons are dynamic items whose custom id names the list and the page they lead to; what turning a page
needs (who may, and how to read a page) is one small `OpenList`, forgotten after its lifetime or when newer lists
push it out. A button of a forgotten list answers with a short sentence instead of editing anything on its own.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from i18n import N_, _

from .errors import report_error
from .text import NO_MENTIONS

if TYPE_CHECKING:
    from bot import PanelDesk

# Renders page `n` (clamped by the renderer as it sees fit) and says how many pages there are now.
PageRenderer = Callable[[int], Awaitable[tuple[discord.Embed, int]]]

EXPIRED = N_("This list has expired: run the command again to page through it.")
NOT_YOURS = N_("These buttons belong to the person who ran the command.")


@dataclass(slots=True)
class OpenList:
    owner_id: int
    render: PageRenderer
    expires_at: float


class OpenLists:
    """The lists whose buttons still turn pages, by token; bounded in number and in age."""

    def __init__(self, *, capacity: int = 5000, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self._clock = clock
        self._lists: OrderedDict[str, OpenList] = OrderedDict()

    def __len__(self) -> int:
        return len(self._lists)

    def open(self, owner_id: int, render: PageRenderer, *, lifetime: float) -> str:
        now = self._clock()
        while self._lists:
            token, oldest = next(iter(self._lists.items()))
            if oldest.expires_at > now and len(self._lists) < self.capacity:
                break
            del self._lists[token]
        token = secrets.token_hex(8)
        self._lists[token] = OpenList(owner_id, render, now + lifetime)
        return token

    def get(self, token: str) -> OpenList | None:
        listing = self._lists.get(token)
        if listing is None or listing.expires_at <= self._clock():
            self._lists.pop(token, None)
            return None
        return listing


def pager_view(token: str, page: int, total_pages: int) -> discord.ui.View:
    """The two buttons under page `page` of `total_pages`; `forget` it once the message is sent."""
    view = discord.ui.View(timeout=None)
    view.add_item(PageTurn(token, "previous", page - 1, disabled=page <= 1))
    view.add_item(PageTurn(token, "next", page + 1, disabled=page >= total_pages))
    return view


def forget(view: discord.ui.View) -> None:
    """Let discord.py drop a view of dynamic items it was handed with a message.

    Its buttons are answered by their custom ids alone, so the view object is not needed; but discord.py gives
    every ephemeral follow-up's view a 15-minute timeout task that keeps the view alive until then (about 4 KB
    per list, which is what made thousands of lists cost tens of MiB). Stopping it ends that task at once; the
    dynamic items stay registered by the cog.
    """
    view.stop()


class PageTurn(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"pager:(?P<token>[0-9a-f]{16}):(?P<direction>previous|next):(?P<page>\d{1,6})",
):
    def __init__(self, token: str, direction: str, page: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=_("Previous") if direction == "previous" else _("Next"),
                style=discord.ButtonStyle.secondary,
                custom_id=f"pager:{token}:{direction}:{max(page, 0)}",
                disabled=disabled,
            )
        )
        self.token = token
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PageTurn:
        return cls(match["token"], match["direction"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction[PanelDesk]) -> None:  # type: ignore[override]
        listing = interaction.client.open_lists.get(self.token)
        if listing is None:
            await interaction.response.edit_message(content=_(EXPIRED), view=None)
            return
        if interaction.user.id != listing.owner_id:
            await interaction.response.send_message(_(NOT_YOURS), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        # The panel may be slow: acknowledge first, then edit, so Discord's 3-second window never lapses.
        await interaction.response.defer()
        try:
            embed, total_pages = await listing.render(max(1, self.page))
        except Exception as error:
            await report_error(interaction, error, f"page {self.page} of a list")
            return
        page = min(max(1, self.page), max(1, total_pages))
        view = pager_view(self.token, page, total_pages)
        await interaction.edit_original_response(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        forget(view)

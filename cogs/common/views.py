"""Buttons that only the member who ran the command may press, and that go grey when they time out."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import discord

from .errors import log_unexpected, reply_for, send_ephemeral
from .text import NO_MENTIONS


class InvokerView(discord.ui.View):
    """A view whose buttons answer only `author_id`; anyone else is told so privately."""

    def __init__(self, *, author_id: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.author_id = author_id
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.author_id:
            return True
        await interaction.response.send_message(
            "These buttons belong to the person who ran the command.", ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        message, reference = reply_for(error)
        if reference is not None:
            log_unexpected(reference, f"button {getattr(item, 'custom_id', '?')}", interaction, error)
        await send_ephemeral(interaction, message)

    def disable_all(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True

    async def on_timeout(self) -> None:
        self.disable_all()
        if self.message is not None:
            # The interaction token may have expired or the message gone: then there is nothing left to grey out.
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)


class ConfirmView(InvokerView):
    """Confirm / Cancel. After `await view.wait()`, `value` is True, False, or None on timeout."""

    def __init__(self, *, author_id: int, timeout: float = 60.0, confirm_label: str = "Confirm") -> None:
        super().__init__(author_id=author_id, timeout=timeout)
        self.value: bool | None = None
        self.answer: discord.Interaction | None = None
        self.confirm.label = confirm_label

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger, custom_id="confirm")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        await self._decide(interaction, True)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="cancel")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        await self._decide(interaction, False)

    async def _decide(self, interaction: discord.Interaction, value: bool) -> None:
        self.value = value
        self.answer = interaction
        self.disable_all()
        # Acknowledge by greying the buttons at once; the caller then edits the message with the outcome.
        await interaction.response.edit_message(view=self)
        self.stop()


PageRenderer = Callable[[int], Awaitable[tuple[discord.Embed, int]]]


class PagerView(InvokerView):
    """Previous / Next over pages that `render(page)` builds on demand, returning (embed, total_pages)."""

    def __init__(self, render: PageRenderer, *, author_id: int, page: int, total_pages: int, timeout: float = 180.0):
        super().__init__(author_id=author_id, timeout=timeout)
        self.render = render
        self.page = page
        self.total_pages = total_pages
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page <= 1
        self.next.disabled = self.page >= self.total_pages

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, custom_id="page:previous")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[PagerView]) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, custom_id="page:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[PagerView]) -> None:
        await self._show(interaction, self.page + 1)

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        # The panel may be slow: acknowledge first, then edit, so Discord's 3-second window never lapses.
        await interaction.response.defer()
        embed, self.total_pages = await self.render(page)
        self.page = min(max(1, page), max(1, self.total_pages))
        self._update_buttons()
        await interaction.edit_original_response(embed=embed, view=self, allowed_mentions=NO_MENTIONS)

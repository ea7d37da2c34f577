"""Buttons that only the member who ran the command may press, and that go grey when they time out."""

from __future__ import annotations

import contextlib

import discord

from i18n import N_, _, localize

from .errors import report_error
from .text import NO_MENTIONS


class InvokerView(discord.ui.View):
    """A view whose buttons answer only `author_id`; anyone else is told so privately."""

    def __init__(self, *, author_id: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.author_id = author_id
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
        # discord.py routes a press by (message id, custom id), and by custom id alone when it never learnt the
        # message's id (a reply whose callback answer did not carry the message): there, two members' views
        # with the same readable ids would answer each other's presses. The view's own id makes each unique.
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select) and item.custom_id:
                item.custom_id = f"{item.custom_id}:{self.id}"
        localize(self)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.author_id:
            return True
        await interaction.response.send_message(
            _("These buttons belong to the person who ran the command."), ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        await report_error(interaction, error, f"button {getattr(item, 'custom_id', '?')}")

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

    def __init__(self, *, author_id: int, timeout: float = 60.0, confirm_label: str = N_("Confirm")) -> None:
        super().__init__(author_id=author_id, timeout=timeout)
        self.value: bool | None = None
        self.answer: discord.Interaction | None = None
        self.confirm.label = _(confirm_label)

    @discord.ui.button(label=N_("Confirm"), style=discord.ButtonStyle.danger, custom_id="confirm")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        await self._decide(interaction, True)

    @discord.ui.button(label=N_("Cancel"), style=discord.ButtonStyle.secondary, custom_id="cancel")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        await self._decide(interaction, False)

    async def _decide(self, interaction: discord.Interaction, value: bool) -> None:
        self.value = value
        self.answer = interaction
        self.disable_all()
        # Acknowledge by greying the buttons at once; the caller then edits the message with the outcome.
        await interaction.response.edit_message(view=self)
        self.stop()

"""Role checks. Discord's default permissions only hide commands in the client; these are the checks that count."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from i18n import _

if TYPE_CHECKING:
    from bot import PanelDesk

T = TypeVar("T")


class Access(IntEnum):
    MEMBER = 0
    STAFF = 1
    ADMIN = 2


class NotAllowed(app_commands.CheckFailure):
    """The member lacks the role a command needs; the message says which roles would do."""

    def __init__(self, needed: Access, role_ids: Iterable[int]) -> None:
        self.needed = needed
        mentions = ", ".join(f"<@&{role_id}>" for role_id in role_ids)
        if needed is Access.ADMIN:
            if mentions:
                message = _("You need an admin role to use this command ({roles}).", roles=mentions)
            else:
                message = _(
                    "You need an admin role to use this command, and none is configured yet: ask the bot's owner."
                )
        elif mentions:
            message = _("You need a staff or admin role to use this command ({roles}).", roles=mentions)
        else:
            message = _(
                "You need a staff or admin role to use this command, and none is configured yet: ask the bot's owner."
            )
        super().__init__(message)


def access_of(member: discord.abc.User, admin_roles: Iterable[int], staff_roles: Iterable[int]) -> Access:
    role_ids = {role.id for role in getattr(member, "roles", [])}
    if role_ids & set(admin_roles):
        return Access.ADMIN
    if role_ids & set(staff_roles):
        return Access.STAFF
    return Access.MEMBER


def member_access(interaction: discord.Interaction[PanelDesk]) -> Access:
    settings = interaction.client.settings
    return access_of(interaction.user, settings.admin_role_ids, settings.staff_role_ids)


def require(level: Access) -> Callable[[T], T]:
    """An app-command check admitting members whose roles reach `level` (admins pass staff checks too).

    Top-level commands and groups also carry `default_permissions(manage_guild=True)` so Discord hides them from
    ordinary members until a server admin grants them to staff roles under Integrations; that is only cosmetic.
    """

    async def predicate(interaction: discord.Interaction[PanelDesk]) -> bool:
        if member_access(interaction) >= level:
            return True
        settings = interaction.client.settings
        roles = (
            settings.admin_role_ids if level is Access.ADMIN else [*settings.staff_role_ids, *settings.admin_role_ids]
        )
        raise NotAllowed(level, roles)

    return app_commands.check(predicate)

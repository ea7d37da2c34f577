"""What ROLE_RULES say about one member: for each managed role, should they have it, and which rule decided.

Pure: no Discord, no panel, no database. The role sync (role_sync.py) gathers the member's links and what the
panels said about those accounts, and this module decides. Every answer has three values, because a panel that
could not be read tells us nothing: True (give the role), False (take it), None (unknown: leave the role as it is,
so a failed request never removes a role).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from i18n import _
from panel_api import Capability, PanelUser
from settings import ADMIN_FLAG, RULE_NEEDS, RoleCondition, RoleRule
from storage import Link


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What rules can ask of one account, kept small: a sweep holds one per linked account between passes."""

    username: str
    servers_count: int | None
    suspended: bool | None
    credits: Decimal | None
    admin: bool
    panel_roles: frozenset[str]  # casefolded role names and ids (CtrlPanel 1.x), or 0.9's one role name

    @classmethod
    def of(cls, user: PanelUser) -> AccountFacts:
        roles = user.raw.get("roles")
        if isinstance(roles, list):
            marks = {
                str(role.get(key, "")).casefold() for role in roles if isinstance(role, dict) for key in ("name", "id")
            }
        else:
            marks = {user.role.casefold()} if user.role else set()
        marks.discard("")
        return cls(
            username=user.username,
            servers_count=user.servers_count,
            suspended=user.suspended,
            credits=None if user.credits is None else Decimal(str(user.credits)),
            admin=user.admin,
            panel_roles=frozenset(marks),
        )


class Gone:
    """The account no longer exists on the panel (404, or absent from a complete read of its user list)."""

    def __repr__(self) -> str:
        return "GONE"


GONE = Gone()
# What the bot knows of one linked account: the account as last read, GONE, or (absent from the map) nothing.
Fact = AccountFacts | Gone
Facts = Mapping[tuple[str, str], Fact]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One managed role for one member: wanted True/False/None (unknown), and the rule that decided, if any."""

    role_id: int
    wanted: bool | None
    rule: RoleRule | None = None
    reason: str = ""


def needed_capability(rule: RoleRule) -> Capability | None:
    if rule.when is RoleCondition.PANEL_ROLE and str(rule.value).lower() != ADMIN_FLAG:
        return Capability.ROLES
    return RULE_NEEDS[rule.when]


def needs_panel_data(rule: RoleRule) -> bool:
    return rule.when is not RoleCondition.LINKED


def rule_panels(rule: RoleRule, capabilities: Mapping[str, frozenset[Capability]]) -> list[str]:
    """The panels a rule looks at: its own, or every panel that can tell what it asks ("where the panel has it")."""
    names = [rule.panel] if rule.panel is not None else list(capabilities)
    needed = needed_capability(rule)
    return [name for name in names if name in capabilities and (needed is None or needed in capabilities[name])]


def account_holds(rule: RoleRule, user: AccountFacts) -> bool | None:
    """Does this account meet the rule? None when the panel's answer did not carry the field."""
    when, value = rule.when, rule.value
    if when is RoleCondition.LINKED:
        return True
    if when is RoleCondition.HAS_SERVERS:
        assert isinstance(value, int)
        return None if user.servers_count is None else user.servers_count >= value
    if when is RoleCondition.SUSPENDED:
        return user.suspended
    if when is RoleCondition.NOT_SUSPENDED:
        return None if user.suspended is None else not user.suspended
    if when is RoleCondition.CREDITS_AT_LEAST:
        assert isinstance(value, Decimal)
        return None if user.credits is None else user.credits >= value
    assert when is RoleCondition.PANEL_ROLE
    text = str(value)
    return user.admin if text.casefold() == ADMIN_FLAG else text.casefold() in user.panel_roles


def rule_holds(
    rule: RoleRule, links: Sequence[Link], facts: Facts, capabilities: Mapping[str, frozenset[Capability]]
) -> tuple[bool | None, str]:
    """Three-valued OR over the member's linked accounts the rule looks at, with a few words on why (for /roles
    show, in the current language)."""
    panels = rule_panels(rule, capabilities)
    in_scope = [link for link in links if link.panel in panels]
    if not in_scope:
        return False, _("no linked account on {panel}", panel=rule.panel) if rule.panel else _("no linked account")
    if rule.when is RoleCondition.LINKED:
        return True, _("linked on {panel}", panel=in_scope[0].panel)
    unknown: list[str] = []
    for link in in_scope:
        fact = facts.get((link.panel, link.panel_user_id))
        if fact is None:
            unknown.append(link.panel)
            continue
        if isinstance(fact, Gone):
            continue
        holds = account_holds(rule, fact)
        if holds:
            return True, _("{username} on {panel} meets it", username=fact.username, panel=link.panel)
        if holds is None:
            unknown.append(link.panel)
    if unknown:
        return None, _("could not read the account on {panels}", panels=", ".join(sorted(set(unknown))))
    return False, _("the linked account does not meet it")


def decide(
    rules: Iterable[RoleRule], links: Sequence[Link], facts: Facts, capabilities: Mapping[str, frozenset[Capability]]
) -> dict[int, Verdict]:
    """For each role the rules name: several rules for one role are OR'ed (any True wins; else any unknown is
    unknown; else False)."""
    verdicts: dict[int, Verdict] = {}
    for rule in rules:
        holds, reason = rule_holds(rule, links, facts, capabilities)
        current = verdicts.get(rule.role_id)
        if current is None or _RANK[holds] > _RANK[current.wanted]:
            verdicts[rule.role_id] = Verdict(rule.role_id, holds, rule, reason)
    return verdicts


_RANK = {True: 2, None: 1, False: 0}


def managed_roles(rules: Iterable[RoleRule]) -> list[int]:
    """Each role a rule names, once, in the order rules name them."""
    return list(dict.fromkeys(rule.role_id for rule in rules))


def describe_rules(rules: Iterable[RoleRule], role_id: int) -> str:
    """The rules for one role, for /roles show: "has_servers 1 on main or linked" (the rules themselves as written
    in ROLE_RULES, the "or" in the current language)."""
    described = [rule.describe() for rule in rules if rule.role_id == role_id]
    text = described[0] if described else ""
    for another in described[1:]:
        text = _("{rules} or {rule}", rules=text, rule=another)
    return text

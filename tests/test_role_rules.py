"""What ROLE_RULES decide for one member, from their links and what the panels said: the table staff rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cogs.common.role_rules import GONE, AccountFacts, Fact, decide
from panel_api import CLIENTS, Capability, PanelKind, PanelUser
from settings import RoleRule
from storage import Link, LinkMethod

CAPABILITIES: dict[str, frozenset[Capability]] = {
    "main": CLIENTS[PanelKind("pterodactyl")].capabilities,
    "shop": CLIENTS[PanelKind("ctrlpanel")].capabilities,
}
ROLE = 1


def link(panel: str, user_id: str = "7") -> Link:
    return Link(
        panel=panel,
        discord_id=99,
        panel_user_id=user_id,
        method=LinkMethod.STAFF,
        linked_at=datetime(2026, 1, 1, tzinfo=UTC),
        panel_username="someone",
        linked_by=None,
    )


def facts(**fields: Any) -> AccountFacts:
    raw = fields.pop("raw", {})
    return AccountFacts.of(PanelUser(id="7", username="someone", email="s@example.com", raw=raw, **fields))


def wanted(rules: list[dict[str, Any]], links: list[Link], known: dict[tuple[str, str], Fact]) -> bool | None:
    verdicts = decide([RoleRule(**rule) for rule in rules], links, known, CAPABILITIES)
    return verdicts[ROLE].wanted


def test_linked_needs_no_panel_and_follows_the_scope() -> None:
    assert wanted([{"role_id": ROLE, "when": "linked"}], [link("main")], {}) is True
    assert wanted([{"role_id": ROLE, "when": "linked", "panel": "shop"}], [link("main")], {}) is False
    assert wanted([{"role_id": ROLE, "when": "linked"}], [], {}) is False


def test_an_account_not_read_is_unknown_and_a_deleted_one_is_false() -> None:
    rules = [{"role_id": ROLE, "when": "has_servers"}]
    assert wanted(rules, [link("main")], {}) is None
    assert wanted(rules, [link("main")], {("main", "7"): GONE}) is False
    assert wanted(rules, [link("main")], {("main", "7"): facts(servers_count=None)}) is None  # answer lacked it
    assert wanted(rules, [link("main")], {("main", "7"): facts(servers_count=1)}) is True
    assert wanted([{**rules[0], "value": 2}], [link("main")], {("main", "7"): facts(servers_count=1)}) is False


def test_several_rules_for_one_role_are_alternatives_and_unknown_beats_false() -> None:
    rules = [
        {"role_id": ROLE, "when": "credits_at_least", "value": 100},
        {"role_id": ROLE, "when": "has_servers"},
    ]
    rich = {("shop", "7"): facts(credits=150.0, servers_count=0)}
    assert wanted(rules, [link("shop")], rich) is True
    poor = {("shop", "7"): facts(credits=10.0, servers_count=0)}
    assert wanted(rules, [link("shop")], poor) is False
    # One rule says no, the other cannot tell: the role is left as it is.
    half = {("shop", "7"): facts(credits=10.0, servers_count=None)}
    assert wanted(rules, [link("shop")], half) is None


def test_an_unscoped_rule_looks_only_at_panels_that_can_tell() -> None:
    rules = [{"role_id": ROLE, "when": "not_suspended"}]
    # Pterodactyl has no suspension: its account neither earns nor blocks the role.
    assert wanted(rules, [link("main")], {("main", "7"): facts()}) is False
    both = [link("main", "7"), link("shop", "8")]
    known: dict[tuple[str, str], Fact] = {("main", "7"): facts(), ("shop", "8"): facts(suspended=False)}
    assert wanted(rules, both, known) is True


def test_panel_roles_by_name_or_id_and_the_admin_flag() -> None:
    vip = facts(raw={"roles": [{"id": 4, "name": "VIP"}]})
    for value in ("vip", "VIP", 4):
        assert wanted([{"role_id": ROLE, "when": "panel_role", "value": value}], [link("shop")], {("shop", "7"): vip})
    assert (
        wanted([{"role_id": ROLE, "when": "panel_role", "value": "Gold"}], [link("shop")], {("shop", "7"): vip})
        is False
    )
    admin = [{"role_id": ROLE, "when": "panel_role", "value": "admin"}]
    assert wanted(admin, [link("main")], {("main", "7"): facts(admin=True)}) is True
    assert wanted(admin, [link("main")], {("main", "7"): facts(admin=False)}) is False


def test_credits_compare_exactly() -> None:
    rules = [{"role_id": ROLE, "when": "credits_at_least", "value": "0.3"}]
    assert wanted(rules, [link("shop")], {("shop", "7"): facts(credits=0.1 + 0.2)}) is True
    assert facts(credits=0.1 + 0.2).credits == Decimal("0.30000000000000004")

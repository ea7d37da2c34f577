"""The JSON examples in the panels' own documents (copied from shared/seeds) parse into PanelUser unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from panel_api import (
    CalagopusClient,
    ConvoyClient,
    CtrlPanelClient,
    LegacyPterodactylClient,
    PanelUser,
    PterodactylClient,
)
from tests.panel_api.test_calagopus_client import REFERENCE_USER as CALAGOPUS_REFERENCE_USER

SEEDS = Path(__file__).parent.parent / "data" / "seeds"


def json_blocks(name: str) -> list[dict]:
    text = (SEEDS / name).read_text()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.S)]


def pterodactyl_examples() -> list[dict]:
    """Every user object in seed 002: list items and single answers alike."""
    users = []
    for block in json_blocks("002_2426f535b1c74423.txt"):
        users += block["data"] if block.get("object") == "list" else [block]
    return users


def test_seed_002_has_the_examples_we_expect() -> None:
    # 4 listed users + get + external + create + update
    assert len(pterodactyl_examples()) == 8


@pytest.mark.parametrize("example", pterodactyl_examples(), ids=lambda e: f"user-{e['attributes']['id']}")
def test_pterodactyl_seed_user_parses_unchanged(example: dict) -> None:
    client = PterodactylClient("https://panel.example.com", "ptla_x")
    user = client._user(example)
    attributes = example["attributes"]
    assert isinstance(user, PanelUser)
    assert user.raw == attributes
    assert user.id == str(attributes["id"])
    assert user.uuid == attributes["uuid"]
    assert user.username == attributes["username"]
    assert user.email == attributes["email"]
    assert user.first_name == attributes["first_name"]
    assert user.last_name == attributes["last_name"]
    assert user.admin is attributes["root_admin"]
    assert user.two_factor is attributes["2fa"]
    assert user.language == attributes["language"]
    assert user.external_id == attributes["external_id"]
    assert user.created_at == datetime.fromisoformat(attributes["created_at"])
    assert user.updated_at == datetime.fromisoformat(attributes["updated_at"])
    assert user.created_at.utcoffset().total_seconds() == 0


def test_seed_list_with_links_as_array_parses() -> None:
    # The seed shows `links: []` where the panel's source sends `{}`: both must parse.
    block = json_blocks("002_2426f535b1c74423.txt")[0]
    assert block["meta"]["pagination"]["links"] == []
    page = PterodactylClient("https://panel.example.com", "ptla_x")._page(block)
    assert [u.username for u in page.items] == ["codeco", "wardledeboss", "matthewp", "rihan554rnk"]
    assert (page.total, page.total_pages, page.page, page.per_page) == (4, 1, 1, 50)


# --- every seed, each with its panel's parser ---------------------------------------------------------------------

# Reference A.6 (ctrlpanel-convoy-calagopus.md): a CtrlPanel 1.2.0 list item, as the panel's source writes it.
CTRLPANEL_REFERENCE_USER: dict[str, Any] = {
    "id": 7,
    "name": "alice",
    "email": "alice@example.com",
    "credits": 150,
    "server_limit": 2,
    "pterodactyl_id": "12",
    "avatar": None,
    "ip": "203.0.113.5",
    "suspended": 0,
    "referral_code": "Ab3dEf9h",
    "email_verified_reward": True,
    "discord_verified_at": "2026-01-02 10:00:00",
    "last_seen": "2026-04-20T09:00:00.000000Z",
    "email_verified_at": "2026-01-02T09:59:00.000000Z",
    "created_at": "2026-01-02 09:58:00",
    "updated_at": "2026-04-20 09:00:00",
    "servers_count": 1,
    "discord_user": {
        "id": "123456789012345678",
        "username": "alice",
        "discriminator": "0",
        "avatar": None,
        "email": "alice@example.com",
        "verified": 1,
        "public_flags": 0,
        "flags": 0,
        "locale": "en-US",
        "premium_type": 0,
        "mfa_enabled": 0,
        "user_id": 7,
        "created_at": "2026-01-02 10:00:00",
        "updated_at": "2026-01-02 10:00:00",
    },
}


def json_objects(text: str) -> list[Any]:
    """Every top-level JSON object in a seed, fenced or not (the seeds mark their examples three different ways)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = text.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            end = position + 1
        else:
            found.append(value)
        position = text.find("{", end)
    return found


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=UTC)


@dataclass(frozen=True)
class SeedPanel:
    # The user objects one of the seed's JSON examples holds (none for a request body or an error).
    users_in: Callable[[dict[str, Any]], list[dict[str, Any]]]
    parse: Callable[[dict[str, Any]], PanelUser]
    # What the raw attributes say each PanelUser field must be.
    expected: Callable[[dict[str, Any]], dict[str, Any]]
    # How many user objects the seed shows, and the stand-in from the reference when it shows none.
    count: int
    stand_in: dict[str, Any] | None = None


def _pterodactyl_users(block: dict[str, Any]) -> list[dict[str, Any]]:
    if block.get("object") == "list":
        return block["data"]
    return [block] if block.get("object") == "user" else []


def _pterodactyl_expected(item: dict[str, Any]) -> dict[str, Any]:
    a = item["attributes"]
    return {
        "raw": a,
        "id": str(a["id"]),
        "uuid": a["uuid"],
        "username": a["username"],
        "email": a["email"],
        "first_name": a["first_name"],
        "last_name": a["last_name"],
        "admin": a["root_admin"],
        "two_factor": a["2fa"],
        "language": a["language"],
        "external_id": a["external_id"],
        "created_at": datetime.fromisoformat(a["created_at"]),
        "updated_at": datetime.fromisoformat(a["updated_at"]),
    }


def _legacy_users(block: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(block.get("data"), list):
        return block["data"]
    return [block["user"]] if isinstance(block.get("user"), dict) else []


def _legacy_expected(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "raw": item,
        "id": str(item["id"]),
        "uuid": item["uuid"],
        "username": item["email"],  # 0.5 accounts have no username: the login email stands in
        "email": item["email"],
        "admin": bool(item["root_admin"]),
        "two_factor": bool(item["use_totp"]),
        "language": item["language"],
        "external_id": None,
        "created_at": _utc(item["created_at"]),
        "updated_at": _utc(item["updated_at"]),
    }


def _convoy_users(block: dict[str, Any]) -> list[dict[str, Any]]:
    data = block.get("data")
    return data if isinstance(data, list) else [data] if isinstance(data, dict) else []


def _convoy_expected(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "raw": item,
        "id": str(item["id"]),
        "username": item["name"],
        "email": item["email"],
        "admin": item["root_admin"],
        "servers_count": item["servers_count"],
        "first_name": None,
        "created_at": None,
    }


def _ctrlpanel_expected(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "raw": item,
        "id": str(item["id"]),
        "username": item["name"],
        "email": item["email"],
        "credits": item["credits"],
        "server_limit": item["server_limit"],
        "suspended": bool(item["suspended"]),
        "servers_count": item["servers_count"],
        "discord_id": int(item["discord_user"]["id"]),
        "created_at": _utc(item["created_at"]),
        "updated_at": _utc(item["updated_at"]),
    }


def _calagopus_users(block: dict[str, Any]) -> list[dict[str, Any]]:
    return [block["user"]] if isinstance(block.get("user"), dict) else []


def _calagopus_expected(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "raw": item,
        "id": item["uuid"],
        "uuid": item["uuid"],
        "username": item["username"],
        "email": item["email"],
        "first_name": item["name_first"],
        "last_name": item["name_last"],
        "admin": item["admin"],
        "two_factor": item["totp_enabled"],
        "language": item["language"],
        "external_id": item["external_id"],
        "suspended": item["suspended"],
        "created_at": datetime.fromisoformat(item["created"]),
    }


SEED_PANELS: dict[str, SeedPanel] = {
    # Seed 000 (CtrlPanel) documents parameters only, with no JSON at all: reference A.6's example stands in.
    "000_5e0fb8aef9807278.txt": SeedPanel(
        lambda block: [],
        lambda item: CtrlPanelClient("https://panel.example.com", "k" * 48)._single({"data": item}),
        _ctrlpanel_expected,
        count=0,
        stand_in=CTRLPANEL_REFERENCE_USER,
    ),
    "001_011886ae9cf5b457.txt": SeedPanel(
        _legacy_users,
        LegacyPterodactylClient._user,
        _legacy_expected,
        count=3,  # two listed, one shown
    ),
    "002_2426f535b1c74423.txt": SeedPanel(
        _pterodactyl_users,
        lambda item: PterodactylClient("https://panel.example.com", "ptla_x")._user(item),
        _pterodactyl_expected,
        count=8,  # four listed, get, external, create, update
    ),
    "003_b479e22abfe35456.txt": SeedPanel(
        _convoy_users,
        lambda item: ConvoyClient("https://panel.example.com", "1|x")._user({"data": item}),
        _convoy_expected,
        count=5,  # two listed, get, update, create
    ),
    # Seed 004 (Calagopus) shows a create request body but no user object: reference C.9's answer stands in.
    "004_b632d9c2a52b6d7c.txt": SeedPanel(
        _calagopus_users,
        lambda item: CalagopusClient("https://panel.example.com", "c7sp_" + "x" * 43)._user(item),
        _calagopus_expected,
        count=0,
        stand_in=CALAGOPUS_REFERENCE_USER,
    ),
}


def test_every_seeds_user_examples_parse_unchanged() -> None:
    seeds = sorted(path.name for path in SEEDS.glob("*.txt"))
    assert seeds == sorted(SEED_PANELS), "a seed without a parser here, or a parser without its seed"
    for name in seeds:
        panel = SEED_PANELS[name]
        users = [user for block in json_objects((SEEDS / name).read_text()) for user in panel.users_in(block)]
        assert len(users) == panel.count, name
        examples = users or [panel.stand_in]
        for example in examples:
            assert example is not None, name
            original = json.loads(json.dumps(example))
            user = panel.parse(example)
            assert isinstance(user, PanelUser), name
            expected = panel.expected(original)
            assert {field: getattr(user, field) for field in expected} == expected, name
            assert example == original, f"{name}: parsing changed the example itself"

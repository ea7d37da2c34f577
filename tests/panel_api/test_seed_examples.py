"""The JSON examples in the panels' own documents (copied from shared/seeds) parse into PanelUser unchanged."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from panel_api import PanelUser, PterodactylClient

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

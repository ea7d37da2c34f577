"""The README's capability table is the one the clients declare."""

from __future__ import annotations

import re
from pathlib import Path

from panel_api.capability_table import capability_table

README = Path(__file__).parent.parent.parent / "README.md"


def test_readme_table_matches_the_clients() -> None:
    text = README.read_text()
    found = re.search(r"<!-- capability-table:start -->\n(.*?)<!-- capability-table:end -->", text, re.S)
    assert found, "the README lost its capability table markers"
    assert found.group(1) == capability_table(), "run `python -m panel_api.capability_table` and paste the result"

"""The one place that holds Panel Desk's version: `--version`, the panels' User-Agent and pyproject read it."""

from __future__ import annotations

__version__ = "0.2.0"

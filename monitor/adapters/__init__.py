"""Adapters: the "how" of reading each source. `sources.yaml` names one per source.

An adapter is a module with

- `parse(raw: RawResponse, source: Source) -> list[Item]`: pure, no network; used by both the
  daemon and `monitor import`. It raises `ParseError` subclasses for bodies it cannot read.
- optionally `async poll(source, get) -> list[Item]`: when one poll needs more than one request
  (a listing and its datasource JSON, an RSS feed with an API fallback). Without it the default
  in `base.poll` fetches each URL of the source and parses it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# name → module under monitor.adapters; one module per source that the generic one can't express.
ADAPTERS: dict[str, str] = {
    "rss": "rss",
    "tass": "tass",
    "kremlin": "kremlin",
    "mfa": "mfa",
    "rferl": "rferl",
    "xinhua": "xinhua",
    "peoples_daily": "peoples_daily",
    "globaltimes": "globaltimes",
    "carnegie": "carnegie",
    "csis": "csis",
}


def get_adapter(name: str) -> ModuleType:
    """The adapter module for a name from sources.yaml (validated at start-up)."""
    return importlib.import_module(f"monitor.adapters.{ADAPTERS[name]}")

"""Configuration, read once at start-up: the environment (`settings.py`), sources.yaml
(`sources.py`) and topics.yaml (`topics.py`).

`load_config` reads all three and validates them before anything starts; the result is passed
to the pipeline, the bot, the export and the demo, so no part re-reads a file or a variable.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from monitor.config.settings import Settings
from monitor.config.sources import load_sources
from monitor.config.topics import Topics, load_topics
from monitor.models import Source


@dataclass(frozen=True)
class Config:
    """The settings, every source by id (sources.yaml order) and the taxonomy."""

    settings: Settings
    sources: dict[str, Source]
    topics: Topics

    @property
    def outlets(self) -> dict[str, str]:
        """Source id → the outlet name drafts print."""
        return {s.id: s.outlet for s in self.sources.values()}


def load_config(settings: Settings, adapters: Collection[str]) -> Config:
    """Read and validate sources.yaml and topics.yaml; ConfigError names the first bad key.

    `adapters` are the adapter names sources.yaml may use (bootstrap passes
    `monitor.adapters.ADAPTERS`; configuration does not import the adapters).
    """
    sources = {s.id: s for s in load_sources(settings.monitor_sources, adapters)}
    return Config(settings, sources, load_topics(settings.monitor_topics))

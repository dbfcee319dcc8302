"""Start-up for the CLI: the configuration, read and validated once, before any work starts.

A bad value raises ConfigError naming what is wrong. The resulting `Config` is what the
pipeline (`pipeline.run.open_pipeline`), the daemon, the bot and the export are given.
"""

from __future__ import annotations

from monitor.adapters import ADAPTERS
from monitor.config import Config, load_config
from monitor.config.settings import Settings


def load(settings: Settings) -> Config:
    """The settings with sources.yaml and topics.yaml, validated against the known adapters."""
    return load_config(settings, ADAPTERS)

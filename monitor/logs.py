"""Logging: one line per event, `key=value` fields, never a secret.

Lines read `2026-11-22T20:13:40Z INFO poll source=tass outcome=ok items=20 new=3 duration=0.41`.
httpx logs every request (with the bot token in Telegram URLs) at INFO, so it is kept at WARNING.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{20,}")


class _Formatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return _TOKEN.sub("<token>", line)


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once (stderr, UTC timestamps, tokens masked)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(asctime)sZ %(levelname)s %(name)s %(message)s",
                                    "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fields(**values: Any) -> str:
    """`key=value` pairs; values with spaces are quoted."""
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        parts.append(f'{key}="{text}"' if (" " in text or not text) else f"{key}={text}")
    return " ".join(parts)

"""`sources.yaml` → typed `Source` objects, validated once at start-up.

`sources.yaml` says what, where and when; the adapter modules say how. A bad entry stops
start-up with one line naming the entry and the key (`ConfigError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.files import read_yaml
from monitor.errors import ConfigError
from monitor.models import Source

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_KEYS = {"id", "name", "outlet", "short", "adapter", "urls", "language", "interval", "timezone",
         "enabled", "reason", "options"}
MIN_INTERVAL = timedelta(minutes=1)
_MONTH_DAYS = re.compile(r"^\d\d-\d\d\.\.\d\d-\d\d$")




def parse_interval(value: Any) -> timedelta:
    """'30m', '2h', '1d', '90s' or a number of seconds."""
    match = _INTERVAL.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not an interval like 30m, 2h or 1d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds < MIN_INTERVAL.total_seconds():
        raise ValueError(f"{value!r} is shorter than {int(MIN_INTERVAL.total_seconds())}s")
    return timedelta(seconds=seconds)


def load_sources(path: str | Path, adapters: Collection[str]) -> list[Source]:
    """Every entry of the file, in file order; raises ConfigError on the first bad one.

    `adapters` are the known adapter names (`monitor.adapters.ADAPTERS`, passed in by
    bootstrap: configuration sits below the adapters and does not import them).
    """
    path = Path(path)
    data = read_yaml(path)
    entries = data.get("sources") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a list of sources under 'sources:'")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        source = _source(path, index, entry, adapters)
        if source.id in seen:
            raise ConfigError(f"{path}: source {source.id!r}: key 'id': duplicate id")
        seen.add(source.id)
        sources.append(source)
    return sources


def _source(path: Path, index: int, entry: Any, adapters: Collection[str]) -> Source:
    label = f"{path}: source #{index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{label}: expected a mapping")
    sid = entry.get("id")
    if not isinstance(sid, str) or not re.fullmatch(r"[a-z0-9_]+", sid):
        raise ConfigError(f"{label}: key 'id': expected lower-case letters, digits, '_'")
    label = f"{path}: source {sid!r}"

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{label}: key {key!r}: {why}")

    unknown = set(entry) - _KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key")
    adapter = entry.get("adapter")
    if adapter not in adapters:
        raise fail("adapter", f"unknown adapter {adapter!r} (known: {', '.join(sorted(adapters))})")
    urls = _urls(entry.get("urls"), fail)
    try:
        interval = parse_interval(entry.get("interval", "30m"))
    except ValueError as exc:
        raise fail("interval", str(exc)) from None
    tz = _zone(entry.get("timezone", "UTC"), fail)
    options = _options(entry.get("options") or {}, fail)
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", "expected true or false")
    name = str(entry.get("name") or sid)
    return Source(
        id=sid, name=name, adapter=adapter, urls=tuple(urls),
        language=str(entry.get("language") or "en"), interval=interval, timezone=tz,
        enabled=enabled, reason=str(entry.get("reason") or ""),
        outlet=str(entry.get("outlet") or name), options=options,
        short=str(entry.get("short") or ""),
    )


def _urls(urls: Any, fail: Callable[[str, str], ConfigError]) -> list[str]:
    urls = [urls] if isinstance(urls, str) else urls
    if not urls or not all(isinstance(u, str) and re.match(r"https?://", u) for u in urls):
        raise fail("urls", "expected a list of http(s) URLs")
    return list(urls)


def _zone(tz: Any, fail: Callable[[str, str], ConfigError]) -> str:
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise fail("timezone", f"unknown time zone {tz!r}") from None
    return str(tz)


def _options(options: Any, fail: Callable[[str, str], ConfigError]) -> dict[str, Any]:
    """The entry's `options`, each one the pipeline or daemon reads checked."""
    if not isinstance(options, dict):
        raise fail("options", "expected a mapping")
    for key, value in options.items():
        if key in _OPTION_CHECKS and (why := _OPTION_CHECKS[key](value)):
            raise fail(f"options.{key}", why)
    return options


def _check_interval(value: Any) -> str:
    try:
        parse_interval(value)
    except ValueError as exc:
        return str(exc)
    return ""


def _check_calendar(value: Any) -> str:
    if not isinstance(value, dict) or set(value) - {"days", "closed"}:
        return "expected {days: weekdays|daily, closed: [MM-DD..MM-DD, …]}"
    if value.get("days", "daily") not in ("weekdays", "daily"):
        return f"days must be weekdays or daily, not {value.get('days')!r}"
    bad = [c for c in value.get("closed", []) if not _MONTH_DAYS.match(str(c))]
    return f"closed range {bad[0]!r} is not MM-DD..MM-DD" if bad else ""


def _check_number(low: float, high: float) -> Any:
    def check(value: Any) -> str:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = number and low <= value <= high
        return "" if ok else f"expected a number from {low:g} to {high:g}"
    return check


# Options the pipeline and daemon read for every adapter, checked at start-up.
_OPTION_CHECKS = {
    "quiet_after": _check_interval,
    "calendar": _check_calendar,
    "relevance_threshold": _check_number(0, 1),
    "host_delay": _check_number(0, 3600),
    "polls_per_day": _check_number(1, 1440),  # the daemon's cap (monitor/daemon/cadence.py)
}

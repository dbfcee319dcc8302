"""Configuration: read once from the environment, typed and validated before anything starts.

Every option is an environment variable (see DESIGN.md); secrets may also come from
`NAME_FILE`. A bad value raises ConfigError naming the variable. `monitor config --dump`
prints the effective values with secrets masked.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from monitor.errors import ConfigError

SECRETS = ("telegram_bot_token", "database_url")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
_AGE = re.compile(r"^(\d+)\s*([dhm]?)$")
_QUIET = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d\s*-\s*([01]?\d|2[0-3]):[0-5]\d$")
_EXPORT_AT = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+([01]?\d|2[0-3]):([0-5]\d)$")
IdList = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """Effective configuration. Field names are the variables, lower-cased."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, frozen=True,
                                      extra="ignore")

    database_url: str = ""
    monitor_storage: Path = Path("storage")
    monitor_sources: Path = Path("sources.yaml")
    monitor_topics: Path = Path("topics.yaml")
    monitor_timezone: str = "Europe/London"
    monitor_http_addr: str = "127.0.0.1:8080"
    # Several think-tank CDNs answer 403 to library user agents; Xinhua redirects mobile UAs.
    monitor_user_agent: str = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                               "(KHTML, like Gecko) Chrome/131.0 Safari/537.36")
    monitor_timeout: float = Field(default=20.0, gt=0)  # connect/read, seconds
    monitor_deadline: float = Field(default=60.0, gt=0)  # whole request, seconds
    monitor_max_body: int = Field(default=20_000_000, gt=0)  # bytes, after decompression
    monitor_host_delay: float = Field(default=2.0, ge=0)  # seconds between requests to a host
    monitor_retries: int = Field(default=2, ge=0, le=10)  # extra attempts after a failure
    monitor_log_level: str = "INFO"
    monitor_export_at: str = "fri 17:00"  # weekly draft: weekday and time in MONITOR_TIMEZONE
    monitor_pause_after: int = Field(default=5, ge=1)  # failed polls before "paused" is announced
    monitor_time_scale: float = Field(default=1.0, ge=1.0)  # >1 compresses every poll interval
    # seconds a dead daemon holds a source poll, the Telegram updates or a card (None: 60 s, 5 min)
    monitor_lease: float | None = Field(default=None, gt=0)
    # items published this long before their source's first poll are stored, never posted
    monitor_max_age: str = "3d"
    telegram_bot_token: str = ""
    telegram_editor_chat_ids: IdList = []
    telegram_allowed_user_ids: IdList = []
    telegram_api_base_url: str = ""
    telegram_quiet_hours: str = ""  # e.g. 22:00-07:00 in MONITOR_TIMEZONE: no cards then
    telegram_digest_at: int = Field(default=5, ge=2)  # this many waiting cards become a digest
    telegram_min_interval: float = Field(default=1.0, ge=0)  # seconds between messages to a chat
    telegram_daily_digest_at: str = ""  # e.g. 08:00: one digest a day instead of cards

    @field_validator("telegram_editor_chat_ids", "telegram_allowed_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(v) for v in value.replace(" ", "").split(",") if v]
        return value

    @field_validator("monitor_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("monitor_export_at")
    @classmethod
    def _export_at(cls, value: str) -> str:
        if value.strip() and not _EXPORT_AT.match(value.strip().lower()):
            raise ValueError(f"{value!r} is not a weekday and time like 'fri 17:00' (or empty)")
        return value.strip().lower()

    @field_validator("telegram_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if value.strip() and not _QUIET.match(value.strip()):
            raise ValueError(f"{value!r} is not a range like '22:00-07:00' (or empty)")
        return value.strip()

    @field_validator("telegram_daily_digest_at")
    @classmethod
    def _daily_at(cls, value: str) -> str:
        if value.strip() and not _CLOCK.match(value.strip()):
            raise ValueError(f"{value!r} is not a time of day like '08:00' (or empty)")
        return value.strip()

    @field_validator("monitor_max_age")
    @classmethod
    def _max_age(cls, value: str) -> str:
        if not _AGE.match(value.strip()):
            raise ValueError(f"{value!r} is not an age like '3d', '36h' or '0' (post everything)")
        return value.strip()

    @property
    def max_age(self) -> timedelta | None:
        """MONITOR_MAX_AGE as a timedelta; None when 0 (every backlog item is posted)."""
        match = _AGE.match(self.monitor_max_age)
        assert match is not None
        seconds = int(match.group(1)) * {"": 86400, "d": 86400, "h": 3600, "m": 60}[match.group(2)]
        return timedelta(seconds=seconds) if seconds else None

    @property
    def export_schedule(self) -> tuple[str, int, int] | None:
        """(weekday, hour, minute) of the weekly draft, or None when switched off."""
        match = _EXPORT_AT.match(self.monitor_export_at)
        if not match:
            return None
        return match.group(1), int(match.group(2)), int(match.group(3))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.monitor_timezone)

    @property
    def db_url(self) -> str:
        """DATABASE_URL, or the SQLite file under the storage directory."""
        return self.database_url or f"sqlite:///{self.monitor_storage / 'monitor.sqlite3'}"

    def dump(self) -> dict[str, str]:
        """Effective values as strings, secrets masked."""
        out = {}
        for name, value in self.model_dump().items():
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            if name in SECRETS and text:
                text = _mask(text)
            out[name.upper()] = text
        out["DATABASE_URL"] = out["DATABASE_URL"] or f"(default) {self.db_url}"
        return out


def _mask(text: str) -> str:
    if "://" in text and "@" in text:  # keep the scheme and host of a database URL
        scheme, rest = text.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return f"*** (set, {len(text)} characters)"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Settings from the environment; `NAME_FILE` fills NAME; errors name the variable."""
    env = dict(os.environ if env is None else env)
    for name in list(env):
        if name.endswith("_FILE") and env[name] and name[:-5].lower() in Settings.model_fields:
            target = name[:-5]
            if not env.get(target):
                try:
                    env[target] = Path(env[name]).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError(f"{name}: cannot read {env[name]}: {exc.strerror}") from None
    values = {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
    try:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]).upper() if err["loc"] else "?"
        raise ConfigError(f"{key}: {err['msg']}") from None

"""The bot's shared state, and the typed context every handler is given.

`build_application` keeps one `BotState` (configuration, engine, options, the callback
signer, the editor chats and users) in `application.bot_data`. `BotContext` is the
application's `CallbackContext` (PTB's `ContextTypes(context=...)`, as in its
contexttypesbot example): its properties read that state, so a handler writes
`context.engine` or `context.topics`. The card functions and the outbox run outside handlers
and take the `BotState` itself. This module imports nothing else of the bot's but the
pacer's `QuietHours`, so every other bot module can import it.

The bot's own variables (`TELEGRAM_QUIET_HOURS`, `TELEGRAM_DIGEST_AT`,
`TELEGRAM_MIN_INTERVAL`) are read and validated with every other setting in `Settings`;
`bot_options` turns them into the outbox's timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from monitor.bot.keyboards import Signer
from monitor.bot.pacer import QuietHours
from monitor.config import Config
from monitor.config.settings import Settings
from monitor.config.topics import Topics
from monitor.models import Source

STATE = "state"  # the key of the BotState in application.bot_data


@dataclass(frozen=True)
class BotOptions:
    digest_at: int = 5
    quiet: QuietHours | None = None
    min_interval: float = 1.0  # seconds between messages to one chat
    idle: float = 30.0  # the outbox looks again at least this often (quiet hours ending)
    retry: float = 10.0  # seconds before retrying after a network error
    poll_timeout: int = 10  # getUpdates long-poll seconds
    daily_at: time | None = None  # TELEGRAM_DAILY_DIGEST_AT: one digest a day, no single cards


def bot_options(settings: Settings, **overrides: Any) -> BotOptions:
    """The bot's options from the settings (validated there); tests override the timings."""
    values: dict[str, Any] = {"digest_at": settings.telegram_digest_at,
                              "min_interval": settings.telegram_min_interval}
    if settings.telegram_quiet_hours:
        values["quiet"] = QuietHours.parse(settings.telegram_quiet_hours)
    if settings.telegram_daily_digest_at:
        values["daily_at"] = time.fromisoformat(settings.telegram_daily_digest_at)
    values.update(overrides)
    return BotOptions(**values)


@dataclass(frozen=True)
class BotState:
    """What the handlers, the cards and the outbox share; built once in `build_application`."""

    config: Config
    engine: AsyncEngine
    options: BotOptions
    signer: Signer
    chats: list[int] = field(default_factory=list)  # TELEGRAM_EDITOR_CHAT_IDS
    allowed: frozenset[int] = frozenset()  # TELEGRAM_ALLOWED_USER_IDS

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def topics(self) -> Topics:
        return self.config.topics

    @property
    def sources(self) -> dict[str, Source]:
        return self.config.sources

    @property
    def zone(self) -> ZoneInfo:
        return self.config.settings.zone


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context of every handler: PTB's, plus the bot's state as typed properties."""

    @property
    def state(self) -> BotState:
        return self.bot_data[STATE]

    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def engine(self) -> AsyncEngine:
        return self.state.engine

    @property
    def signer(self) -> Signer:
        return self.state.signer

    @property
    def chats(self) -> list[int]:
        return self.state.chats

    @property
    def allowed(self) -> frozenset[int]:
        return self.state.allowed

    @property
    def topics(self) -> Topics:
        return self.state.topics

    @property
    def sources(self) -> dict[str, Source]:
        return self.state.sources

    @property
    def zone(self) -> ZoneInfo:
        return self.state.zone


CONTEXT_TYPES = ContextTypes(context=BotContext)

"""The Telegram bot: `build_application` wires every handler; `running_bot` runs it in a loop.

The daemon enters `running_bot(...)` in its own event loop (PTB's "other asyncio frameworks"
shape: `async with application`, `start()`, `updater.start_polling()`, and the reverse on exit)
and sets the pipeline's notifier to the returned outbox's `notify`.

The bot's own variables (`TELEGRAM_QUIET_HOURS`, `TELEGRAM_DIGEST_AT`,
`TELEGRAM_MIN_INTERVAL`) are read and validated with every other setting in `Settings`;
`bot_options` turns them into the outbox's timings.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from monitor.bot import handlers
from monitor.bot.keyboards import Signer
from monitor.bot.notify import ChatPacer, Outbox, QuietHours
from monitor.config import Config
from monitor.config.settings import Settings
from monitor.config.topics import Topics
from monitor.errors import ConfigError
from monitor.models import Source

log = logging.getLogger("monitor.bot")
COMMANDS = [
    ("pending", "Undecided candidates, oldest first"),
    ("week", "This week's kept items per bucket"),
    ("export", "This week's draft as .md and .docx"),
    ("sources", "Source health"),
    ("find", "Search stored items: /find TEXT"),
    ("pause", "Pause a source: /pause ID"),
    ("resume", "Resume a source: /resume ID"),
    ("stats", "Counts per bucket; classifier agreement"),
    ("help", "What the buttons and commands do"),
    ("start", "Introduction"),
]


@dataclass(frozen=True)
class BotOptions:
    digest_at: int = 5
    quiet: QuietHours | None = None
    min_interval: float = 1.0  # seconds between messages to one chat
    idle: float = 30.0  # the outbox looks again at least this often (quiet hours ending)
    retry: float = 10.0  # seconds before retrying after a network error
    poll_timeout: int = 10  # getUpdates long-poll seconds


def bot_options(settings: Settings, **overrides: Any) -> BotOptions:
    """The bot's options from the settings (validated there); tests override the timings."""
    values: dict[str, Any] = {"digest_at": settings.telegram_digest_at,
                              "min_interval": settings.telegram_min_interval}
    if settings.telegram_quiet_hours:
        values["quiet"] = QuietHours.parse(settings.telegram_quiet_hours)
    values.update(overrides)
    return BotOptions(**values)


@dataclass
class BotDeps:
    """What every handler needs, kept in `application.bot_data['deps']`."""

    config: Config
    engine: AsyncEngine
    options: BotOptions
    signer: Signer
    chats: list[int] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)
    outbox: Outbox | None = None

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def topics(self) -> Topics:
        return self.config.topics

    @property
    def sources(self) -> dict[str, Source]:
        return self.config.sources


def build_application(config: Config, engine: AsyncEngine,
                      options: BotOptions | None = None) -> Application:
    """The application with every handler; nothing is sent until it is started."""
    settings = config.settings
    if not settings.telegram_editor_chat_ids or not settings.telegram_allowed_user_ids:
        raise ConfigError("TELEGRAM_EDITOR_CHAT_IDS and TELEGRAM_ALLOWED_USER_IDS must be set "
                          "when TELEGRAM_BOT_TOKEN is")
    options = options or bot_options(settings)
    builder = (Application.builder().token(settings.telegram_bot_token)
               .rate_limiter(ChatPacer(options.min_interval)))
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url)
    application = builder.build()
    deps = BotDeps(config, engine, options, Signer(settings.telegram_bot_token),
                   list(settings.telegram_editor_chat_ids),
                   set(settings.telegram_allowed_user_ids))
    deps.outbox = Outbox(application.bot, deps)
    application.bot_data["deps"] = deps

    application.add_handler(TypeHandler(Update, handlers.guard), group=-1)
    application.add_handler(CommandHandler(["start", "help"], handlers.help_command))
    application.add_handler(CommandHandler("pending", handlers.pending))
    application.add_handler(CommandHandler("week", handlers.week))
    application.add_handler(CommandHandler("export", handlers.export))
    application.add_handler(CommandHandler("sources", handlers.sources))
    application.add_handler(CommandHandler("find", handlers.find))
    application.add_handler(CommandHandler("pause", handlers.pause))
    application.add_handler(CommandHandler("resume", handlers.resume))
    application.add_handler(CommandHandler("stats", handlers.stats))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text))
    application.add_error_handler(handlers.error_handler)
    return application


@asynccontextmanager
async def running_bot(config: Config, engine: AsyncEngine,
                      options: BotOptions | None = None) -> AsyncIterator[Outbox]:
    """Polls for updates and posts the outbox in the running loop until the block exits."""
    application = build_application(config, engine, options)
    deps: BotDeps = application.bot_data["deps"]
    assert deps.outbox is not None
    async with application:
        await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        await application.start()
        await application.updater.start_polling(
            timeout=deps.options.poll_timeout, allowed_updates=["message", "callback_query"])
        deps.outbox.connected = lambda: bool(application.updater and application.updater.running)
        deps.outbox.start()
        log.info("bot started as @%s", application.bot.username)
        try:
            yield deps.outbox
        finally:
            await deps.outbox.stop()
            await application.updater.stop()
            await application.stop()

"""The Telegram bot: `build_application` wires every part; `running_bot` runs it in a loop.

`build_application` is the one place the bot's modules meet: it builds the `BotState`
(context.py) into `bot_data`, the typed `BotContext` through `ContextTypes`, the pacer as
the rate limiter, the outbox, and every handler. The daemon enters `running_bot(...)` in its
own event loop (PTB's "other asyncio frameworks" shape: `async with application`, `start()`,
`updater.start_polling()`, and the reverse on exit) and sets the pipeline's notifier to the
returned outbox's `notify`.

Several daemons may share one database, and Telegram answers 409 Conflict to a second process
asking for updates: only the process holding the `telegram-updates` lease (`health.claim`)
polls for updates. It renews the lease every third of MONITOR_LEASE; every other process keeps
trying to take it, and starts polling once the holder has stopped or died. Every process
sends from the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from monitor.bot import handlers
from monitor.bot.context import CONTEXT_TYPES, STATE, BotOptions, BotState, bot_options
from monitor.bot.keyboards import Signer
from monitor.bot.outbox import Outbox
from monitor.bot.pacer import ChatPacer
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.logs import fields
from monitor.store import health as health_store

log = logging.getLogger("monitor.bot")
CONNECT_RETRY_MAX = 300.0  # seconds between attempts to reach Telegram, at most
OUTBOX = "outbox"  # the key of the Outbox in application.bot_data
UPDATES = "telegram-updates"  # the lease of the one process that polls for updates
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


def build_application(config: Config, engine: AsyncEngine,
                      options: BotOptions | None = None) -> Application:
    """The application with its state, outbox and every handler; nothing is sent until it is
    started."""
    settings = config.settings
    if not settings.telegram_editor_chat_ids or not settings.telegram_allowed_user_ids:
        raise ConfigError("TELEGRAM_EDITOR_CHAT_IDS and TELEGRAM_ALLOWED_USER_IDS must be set "
                          "when TELEGRAM_BOT_TOKEN is")
    options = options or bot_options(settings)
    builder = (Application.builder().token(settings.telegram_bot_token)
               .context_types(CONTEXT_TYPES).rate_limiter(ChatPacer(options.min_interval)))
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url)
    application = builder.build()
    state = BotState(config, engine, options, Signer(settings.telegram_bot_token),
                     list(settings.telegram_editor_chat_ids),
                     frozenset(settings.telegram_allowed_user_ids))
    application.bot_data[STATE] = state
    application.bot_data[OUTBOX] = Outbox(application.bot, state)

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
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    application.add_error_handler(handlers.error_handler)
    return application


class UpdatesLeader:
    """Polls Telegram for updates while this process holds the `telegram-updates` lease."""

    def __init__(self, application: Application, engine: AsyncEngine, owner: str,
                 lease: timedelta) -> None:
        self.application, self.engine, self.owner, self.lease = application, engine, owner, lease
        self.options: BotOptions = application.bot_data[STATE].options
        self._task: asyncio.Task[None] | None = None

    @property
    def polling(self) -> bool:
        return bool(self.application.updater and self.application.updater.running)

    async def step(self) -> None:
        """Take or renew the lease; start polling when it is ours, stop when it is not.
        TelegramError from starting to poll is raised (the caller retries)."""
        try:
            leading = await health_store.claim(self.engine, UPDATES, self.owner, lease=self.lease)
        except Exception:  # the database is away: another process may take over meanwhile
            log.exception("bot %s", fields(outcome="updates lease not renewed"))
            leading = False
        updater = self.application.updater
        assert updater is not None
        if leading and not updater.running:
            await updater.start_polling(timeout=self.options.poll_timeout,
                                        allowed_updates=["message", "callback_query"],
                                        error_callback=_updates_failed)
            log.info("bot %s", fields(updates="polling", process=self.owner))
        elif not leading and updater.running:
            await updater.stop()
            log.warning("bot %s", fields(updates="another process polls them now"))
        elif not leading:
            log.debug("bot %s", fields(updates="another process polls them"))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="monitor-bot-updates")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.step()
            except TelegramError as exc:
                log.warning("bot %s", fields(updates="not polling", error=str(exc)[:200]))
            except Exception:  # the next round tries again
                log.exception("bot %s", fields(updates="leader round failed"))

    async def stop(self) -> None:
        """Stop polling and hand the lease over at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.polling:
            assert self.application.updater is not None
            await self.application.updater.stop()
        try:
            await asyncio.wait_for(health_store.release(self.engine, UPDATES, self.owner), 2.0)
        except Exception:  # it expires by itself
            log.warning("bot %s", fields(outcome="updates lease not released"))


def _updates_failed(error: TelegramError) -> None:
    """A getUpdates that failed (Telegram away, 5xx, a timeout): one line, not PTB's traceback
    per attempt; PTB retries with backoff, and the outbox's sends report their own errors."""
    log.warning("bot %s", fields(updates="getUpdates failed", error=str(error)[:200],
                                 retrying="yes"))


@asynccontextmanager
async def running_bot(config: Config, engine: AsyncEngine,
                      options: BotOptions | None = None, *,
                      owner: str | None = None) -> AsyncIterator[Outbox]:
    """Polls for updates (when this process leads, see `UpdatesLeader`) and posts the outbox in
    the running loop until the block exits. `owner` is the process's id in the leases.

    A rejected token raises `InvalidToken` at once (a configuration error). Telegram being
    unreachable or answering 5xx does not stop the daemon: the outbox is yielded at once (cards
    queue up in the database, `/readyz` says the bot is not connected) and connecting is retried
    with backoff in the background until it succeeds.
    """
    application = build_application(config, engine, options)
    outbox: Outbox = application.bot_data[OUTBOX]
    lease = health_store.lease_of(config.settings.monitor_lease)
    if config.settings.monitor_lease:  # a card's claim too; by default the outbox's own lease
        outbox.lease = lease
    outbox.owner = owner or outbox.owner
    leader = UpdatesLeader(application, engine, outbox.owner, lease)
    connector = None
    if not await _connect(application, outbox, leader, first=True):
        connector = asyncio.create_task(_keep_connecting(application, outbox, leader),
                                        name="monitor-bot-connect")
    try:
        yield outbox
    finally:
        if connector is not None:
            connector.cancel()
            await asyncio.gather(connector, return_exceptions=True)
        await _disconnect(application, outbox, leader)


async def _connect(application: Application, outbox: Outbox, leader: UpdatesLeader, *,
                   first: bool = False) -> bool:
    """Initialize, register the commands, start polling (if this process leads) and the outbox;
    False while Telegram cannot be reached (InvalidToken is raised: retrying a rejected token is
    pointless)."""
    try:
        await application.initialize()
        await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        await application.start()
        await leader.step()
    except InvalidToken:
        raise
    except TelegramError as exc:
        log.warning("bot %s", fields(outcome="not connected", error=str(exc)[:200],
                                     retrying="yes"))
        if application.running:
            await application.stop()
        return False
    outbox.connected = lambda: bool(application.running)
    outbox.start()
    leader.start()
    log.info("bot started as @%s", application.bot.username)
    return True


async def _keep_connecting(application: Application, outbox: Outbox,
                           leader: UpdatesLeader) -> None:
    delay = outbox.state.options.retry
    while not await _connect(application, outbox, leader):
        await asyncio.sleep(delay)
        delay = min(delay * 2, CONNECT_RETRY_MAX)


async def _disconnect(application: Application, outbox: Outbox, leader: UpdatesLeader) -> None:
    await outbox.stop()
    await leader.stop()
    if application.running:
        await application.stop()
    try:
        await application.shutdown()
    except (TelegramError, RuntimeError):  # never initialized, or Telegram gone: nothing to undo
        pass

"""The Telegram bot: `build_application` wires every part; `running_bot` runs it in a loop.

`build_application` is the one place the bot's modules meet: it builds the `BotState`
(context.py) into `bot_data`, the typed `BotContext` through `ContextTypes`, the pacer as
the rate limiter, the outbox, and every handler. The daemon enters `running_bot(...)` in its
own event loop (PTB's "other asyncio frameworks" shape: `async with application`, `start()`,
`updater.start_polling()`, and the reverse on exit) and sets the pipeline's notifier to the
returned outbox's `notify`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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

log = logging.getLogger("monitor.bot")
CONNECT_RETRY_MAX = 300.0  # seconds between attempts to reach Telegram, at most
OUTBOX = "outbox"  # the key of the Outbox in application.bot_data
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


@asynccontextmanager
async def running_bot(config: Config, engine: AsyncEngine,
                      options: BotOptions | None = None) -> AsyncIterator[Outbox]:
    """Polls for updates and posts the outbox in the running loop until the block exits.

    A rejected token raises `InvalidToken` at once (a configuration error). Telegram being
    unreachable or answering 5xx does not stop the daemon: the outbox is yielded at once (cards
    queue up in the database, `/readyz` says the bot is not connected) and connecting is retried
    with backoff in the background until it succeeds.
    """
    application = build_application(config, engine, options)
    outbox: Outbox = application.bot_data[OUTBOX]
    connector = None
    if not await _connect(application, outbox, first=True):
        connector = asyncio.create_task(_keep_connecting(application, outbox),
                                        name="monitor-bot-connect")
    try:
        yield outbox
    finally:
        if connector is not None:
            connector.cancel()
            await asyncio.gather(connector, return_exceptions=True)
        await _disconnect(application, outbox)


async def _connect(application: Application, outbox: Outbox, *, first: bool = False) -> bool:
    """Initialize, register the commands, start polling and the outbox; False while Telegram
    cannot be reached (InvalidToken is raised: retrying a rejected token is pointless)."""
    try:
        await application.initialize()
        await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        await application.start()
        await application.updater.start_polling(
            timeout=outbox.state.options.poll_timeout,
            allowed_updates=["message", "callback_query"])
    except InvalidToken:
        raise
    except TelegramError as exc:
        log.warning("bot %s", fields(outcome="not connected", error=str(exc)[:200],
                                     retrying="yes"))
        if application.running:
            await application.stop()
        return False
    outbox.connected = lambda: bool(application.updater and application.updater.running)
    outbox.start()
    log.info("bot started as @%s", application.bot.username)
    return True


async def _keep_connecting(application: Application, outbox: Outbox) -> None:
    delay = outbox.state.options.retry
    while not await _connect(application, outbox):
        await asyncio.sleep(delay)
        delay = min(delay * 2, CONNECT_RETRY_MAX)


async def _disconnect(application: Application, outbox: Outbox) -> None:
    await outbox.stop()
    if application.updater and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    try:
        await application.shutdown()
    except (TelegramError, RuntimeError):  # never initialized, or Telegram gone: nothing to undo
        pass

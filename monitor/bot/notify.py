"""Posting candidates: the outbox worker and the pacing of everything the bot sends.

`Outbox.notify` is the pipeline's notifier: it only writes outbox rows (one per item and editor
chat), so a poll never waits for Telegram and nothing is lost if the bot is down. One worker
task in the daemon's loop posts them in order: a burst of `digest_at` or more waiting cards
becomes one digest message instead; nothing is posted during quiet hours (they wait, and
arrive as cards or a digest when the hours end). Each row is claimed, sent and marked sent in
the store (see `store/triage.py`), so a restart never posts a card twice.

`ChatPacer` is the application's rate limiter: at most one request per `interval` per chat,
and a 429 halts every request for its `retry_after` before the same request is tried again.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from monitor import metrics
from monitor.bot.handlers import send_card, send_digest
from monitor.logs import fields
from monitor.models import Item
from monitor.store import triage

if TYPE_CHECKING:
    from monitor.bot.app import BotDeps

log = logging.getLogger("monitor.bot")
CATCH_UP = timedelta(hours=24)  # items stored but never enqueued (a crash) are looked for this far


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB's settings (PTB_TIMEDELTA);
    reading it as an int warns of the coming change, which this handles either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ChatPacer(BaseRateLimiter[None]):
    """<= 1 request per `interval` per chat; RetryAfter halts all requests, then retries."""

    def __init__(self, interval: float = 1.0, max_retries: int = 5) -> None:
        self.interval = interval
        self.max_retries = max_retries
        self._locks: dict[Any, asyncio.Lock] = {}
        self._last: dict[Any, float] = {}
        self._resume_at = 0.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]],
                              args: Any, kwargs: dict[str, Any], endpoint: str,
                              data: dict[str, Any], rate_limit_args: None) -> Any:
        chat = data.get("chat_id")
        lock = self._locks.setdefault(chat, asyncio.Lock()) if chat is not None else None
        for attempt in range(self.max_retries + 1):
            if lock is None:
                await self._pause()
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    self._halt(exc, endpoint, attempt)
                continue
            async with lock:
                await self._pause()
                await asyncio.sleep(max(0.0, self._last.get(chat, 0.0) + self.interval
                                        - asyncio.get_running_loop().time()))
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    self._halt(exc, endpoint, attempt)
                finally:
                    self._last[chat] = asyncio.get_running_loop().time()
        raise AssertionError("unreachable")

    async def _pause(self) -> None:
        while (delay := self._resume_at - asyncio.get_running_loop().time()) > 0:
            await asyncio.sleep(delay)

    def _halt(self, exc: RetryAfter, endpoint: str, attempt: int) -> None:
        wait = retry_seconds(exc)
        log.warning("telegram 429 %s", fields(endpoint=endpoint, retry_after=wait,
                                              attempt=attempt + 1))
        if attempt >= self.max_retries:
            raise exc
        self._resume_at = max(self._resume_at, asyncio.get_running_loop().time() + wait + 0.1)


@dataclass(frozen=True)
class QuietHours:
    """[start, end) in the editor's zone; may wrap past midnight (22:00-07:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
        return cls(start, end)

    def active(self, moment: datetime) -> bool:
        now = moment.time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end


class Outbox:
    """The card queue in the database and the one task that empties it."""

    def __init__(self, bot: Bot, deps: BotDeps) -> None:
        self.bot, self.deps = bot, deps
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._delay = deps.options.idle
        self.connected: Callable[[], bool] = lambda: False  # set by running_bot; for /readyz

    async def notify(self, items: list[Item]) -> None:
        """The pipeline's notifier: enqueue (never send) and wake the worker."""
        ids = [i.id for i in items if i.id is not None]
        if ids:
            added = await triage.enqueue(self.deps.engine, ids, self.deps.chats)
            log.info("enqueued %s", fields(items=len(ids), cards=added))
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="monitor-outbox")

    async def stop(self, timeout: float = 5.0) -> None:
        """Let the card in flight finish (and be marked sent), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
        self._task = None

    async def _resume(self) -> None:
        """Rows a crash left claimed go back in the queue; items never enqueued are added."""
        engine = self.deps.engine
        try:
            recovered = await triage.recover(engine)
            caught = await triage.catch_up(engine, self.deps.chats,
                                           datetime.now(timezone.utc) - CATCH_UP)
        except Exception:  # the queue still works; the next start tries again
            log.exception("outbox %s", fields(outcome="resume failed"))
            return
        if recovered or caught:
            log.info("outbox resumed %s", fields(recovered=recovered, caught_up=caught))

    async def _run(self) -> None:
        await self._resume()
        while not self._stopping:
            self._wake.clear()
            self._delay = self.deps.options.idle
            for chat in self.deps.chats:
                try:
                    await self.deliver(chat)
                except Exception:  # a database hiccup must not end the worker
                    log.exception("outbox %s", fields(chat=chat, outcome="error"))
                    self._delay = min(self._delay, 30.0)
            if not self._stopping:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._delay)
                except asyncio.TimeoutError:
                    pass

    async def deliver(self, chat: int) -> None:
        """Post what waits for one chat: a digest for a burst, else the cards in order."""
        engine, options = self.deps.engine, self.deps.options
        if options.quiet and options.quiet.active(datetime.now(self.deps.settings.zone)):
            return
        if await triage.pending_count(engine, chat) >= options.digest_at:
            await self._digest(chat)
            return
        while not self._stopping:
            claimed = await triage.claim_next(engine, chat)
            if claimed is None or not await self._post(chat, *claimed):
                return

    async def _digest(self, chat: int) -> None:
        queued = await triage.queued(self.deps.engine, chat)
        try:
            await send_digest(self.bot, self.deps, chat, [item for _, item in queued])
        except (RetryAfter, NetworkError) as exc:
            self._retry_later(chat, exc)
            return
        await triage.mark_digested(self.deps.engine, [row for row, _ in queued])

    async def _post(self, chat: int, outbox_id: int, item: Item) -> bool:
        """Send one claimed card; True to go on with the next one."""
        engine = self.deps.engine
        try:
            message: Message = await send_card(self.bot, self.deps, chat, item, record=False)
        except (BadRequest, Forbidden) as exc:  # this card can never be sent as it is
            await triage.release(engine, outbox_id, str(exc), failed=True)
            log.error("card %s", fields(chat=chat, item=item.id, outcome="refused",
                                        error=str(exc)))
            return not isinstance(exc, Forbidden)
        except (RetryAfter, NetworkError) as exc:  # TimedOut is a NetworkError
            await triage.release(engine, outbox_id, str(exc))
            self._retry_later(chat, exc)
            return False
        await triage.mark_sent(engine, outbox_id, chat, message.message_id, item.id or 0)
        metrics.POSTED.inc()
        log.info("card %s", fields(chat=chat, item=item.id, message=message.message_id))
        return True

    async def announce(self, text: str) -> None:
        """A plain message to every editor chat (source alerts); a failure is only logged."""
        for chat in self.deps.chats:
            try:
                await self.bot.send_message(chat, text[:4096])
            except TelegramError as exc:
                log.warning("alert %s", fields(chat=chat, outcome="failed", error=str(exc)[:200]))

    async def send_files(self, paths: list[Path], caption: str) -> None:
        """Documents to every editor chat (the scheduled weekly draft)."""
        for chat in self.deps.chats:
            for path in paths:
                try:
                    with path.open("rb") as handle:
                        await self.bot.send_document(chat, handle, filename=path.name,
                                                     caption=caption)
                except TelegramError as exc:
                    log.warning("document %s", fields(chat=chat, file=path.name,
                                                      outcome="failed", error=str(exc)[:200]))

    def _retry_later(self, chat: int, exc: Exception) -> None:
        wait = retry_seconds(exc) if isinstance(exc, RetryAfter) else self.deps.options.retry
        log.warning("outbox %s", fields(chat=chat, outcome=type(exc).__name__, retry_in=wait,
                                        error=str(exc)[:200]))
        self._delay = min(self._delay, wait)

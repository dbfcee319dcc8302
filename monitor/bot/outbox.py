"""Posting candidates: the outbox worker, which holds cards during quiet hours.

`Outbox.notify` is the pipeline's notifier: it only writes outbox rows (one per item and editor
chat), so a poll never waits for Telegram and nothing is lost if the bot is down. One worker
task in the daemon's loop posts them in order: a burst of `digest_at` or more waiting cards
becomes one digest message instead; nothing is posted during quiet hours (they wait, and
arrive as cards or a digest when the hours end). Each row is claimed, sent and marked sent in
the store (see `store/outbox.py`), so a restart never posts a card twice; every round of the
worker takes back claims older than the lease (only those: a younger one may be another daemon's,
in flight), and the start takes back at once those of a process of this host that is gone (the
daemon before it was killed), so a card whose send never finished is not stuck `sending`. The
daemon also sends its alerts and the weekly draft through here, to the same editor chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from monitor import metrics
from monitor.bot.cards import digest_sections, refresh_cards, send_card, send_digest
from monitor.bot.context import BotState
from monitor.bot.pacer import retry_seconds
from monitor.logs import fields
from monitor.models import Item
from monitor.store import cards as card_store
from monitor.store import decisions
from monitor.store import health as health_store
from monitor.store import outbox as outbox_store

log = logging.getLogger("monitor.bot")
CATCH_UP = timedelta(hours=24)  # items stored but never enqueued (a crash) are looked for this far


class Outbox:
    """The card queue in the database and the one task that empties it."""

    def __init__(self, bot: Bot, state: BotState) -> None:
        self.bot, self.state = bot, state
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._delay = state.options.idle
        self.connected: Callable[[], bool] = lambda: False  # set by running_bot; for /readyz
        self._refused_until: dict[int, float] = {}  # chats that refuse the bot, until when
        self.lease: timedelta = outbox_store.LEASE  # how long a claim holds (injectable)
        self.owner: str = health_store.process_id()  # this process in the claims (running_bot)

    async def notify(self, items: list[Item]) -> None:
        """The pipeline's notifier: enqueue (never send) and wake the worker."""
        ids = [i.id for i in items if i.id is not None]
        if ids:
            added = await outbox_store.enqueue(self.state.engine, ids, self.state.chats)
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
        """Items stored and never enqueued (a crash in between) are added; rows claimed by a
        process of this host that is gone (this daemon before a crash or a kill) are taken
        back at once. Other claims are left to `_reclaim`, which runs first in every round:
        one younger than the lease may be another daemon's, in flight."""
        try:
            dead = {owner for owner in await outbox_store.claimers(self.state.engine)
                    if health_store.gone_from_this_host(owner, self.owner)}
            if dead:
                taken = await outbox_store.recover(self.state.engine, lease=self.lease,
                                                   dead=dead)
                log.warning("outbox %s", fields(taken_back=taken, from_processes=len(dead)))
            caught = await outbox_store.catch_up(self.state.engine, self.state.chats,
                                                 datetime.now(timezone.utc) - CATCH_UP)
        except Exception:  # the queue still works; the next start tries again
            log.exception("outbox %s", fields(outcome="resume failed"))
            return
        if caught:
            log.info("outbox resumed %s", fields(caught_up=caught))

    async def _reclaim(self) -> None:
        """Claims older than the lease go back in the queue (their send never finished, here or
        in a daemon that died); a younger one is left to its sender."""
        try:
            reclaimed = await outbox_store.recover(self.state.engine, lease=self.lease)
        except Exception:  # the database is away: the next round tries again
            log.exception("outbox %s", fields(outcome="reclaim failed"))
            return
        if reclaimed:
            log.warning("outbox %s", fields(reclaimed=reclaimed, lease=self.lease))

    async def _run(self) -> None:
        await self._resume()
        while not self._stopping:
            self._wake.clear()
            self._delay = self.state.options.idle
            await self._reclaim()
            for chat in self.state.chats:
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
        """Post what waits for one chat: the cards in order while few wait, a digest per
        section as soon as `digest_at` or more wait (counted before every card, so a burst
        that keeps arriving while cards go out still becomes digests); with a daily digest,
        only that, once a day."""
        engine, options = self.state.engine, self.state.options
        now = datetime.now(self.state.zone)
        if options.quiet and options.quiet.active(now):
            return
        if self._refused_until.get(chat, 0.0) > asyncio.get_running_loop().time():
            return
        if options.daily_at is not None:
            await self._digest(chat, before=_last_daily(now, options.daily_at),
                               heading="candidates of the day")
            return
        while not self._stopping:
            if await outbox_store.pending_count(engine, chat) >= options.digest_at:
                await self._digest(chat)
                return
            claimed = await outbox_store.claim_next(engine, chat, owner=self.owner)
            if claimed is None or not await self._post(chat, *claimed):
                return

    async def _digest(self, chat: int, before: datetime | None = None,
                      heading: str = "new candidates") -> None:
        """One digest per section; each section's rows are marked once its message is out."""
        queued = await outbox_store.queued(self.state.engine, chat, before)
        rows = {item.id: row for row, item in queued}
        for _, members in digest_sections(self.state, [item for _, item in queued]):
            try:
                await send_digest(self.bot, self.state, chat, members, heading)
            except Forbidden as exc:
                await self._refused_by(chat, str(exc))
                return
            except (RetryAfter, NetworkError) as exc:
                self._retry_later(chat, exc)
                return
            await outbox_store.mark_digested(self.state.engine, [rows[i.id] for i in members])
            metrics.DIGESTS.inc()

    async def _post(self, chat: int, outbox_id: int, item: Item) -> bool:
        """Send one claimed card; True to go on with the next one. A report of a story that
        already has a card in the chat joins that card instead (edited in place)."""
        engine, item_id = self.state.engine, item.id or 0
        shown = await card_store.story_card(engine, chat, item.story) if item.story else None
        if shown is not None and shown[0] != item_id:
            card_item, message_id = shown
            await outbox_store.mark_merged(engine, outbox_id, message_id)
            await decisions.follow_story(engine, item_id, card_item)
            await refresh_cards(self.bot, self.state, card_item)
            log.info("card %s", fields(chat=chat, item=item_id, joined=card_item,
                                       message=message_id))
            return True
        try:
            message = await send_card(self.bot, self.state, chat, item_id, record=False)
        except Forbidden as exc:  # the chat refuses the bot (kicked, blocked): keep the cards
            await outbox_store.release(engine, outbox_id, str(exc))
            await self._refused_by(chat, str(exc))
            return False
        except BadRequest as exc:  # this card can never be sent, even as plain text
            await outbox_store.release(engine, outbox_id, str(exc), failed=True)
            log.error("card %s", fields(chat=chat, item=item_id, outcome="refused",
                                        error=str(exc)))
            return True
        except (RetryAfter, NetworkError) as exc:  # TimedOut is a NetworkError
            await outbox_store.release(engine, outbox_id, str(exc))
            self._retry_later(chat, exc)
            return False
        except TelegramError as exc:  # anything else Telegram says: retry later, keep the order
            await outbox_store.release(engine, outbox_id, str(exc))
            self._retry_later(chat, exc)
            return False
        if message is None:  # the item went between the claim and the send
            await outbox_store.release(engine, outbox_id, "no such item", failed=True)
            return True
        self._refused_until.pop(chat, None)
        await outbox_store.mark_sent(engine, outbox_id, chat, message.message_id, item_id)
        metrics.POSTED.inc()
        log.info("card %s", fields(chat=chat, item=item_id, message=message.message_id))
        return True

    async def announce(self, text: str) -> None:
        """A plain message to every editor chat (source alerts); a failure is only logged."""
        for chat in self.state.chats:
            try:
                await self.bot.send_message(chat, text[:4096])
            except TelegramError as exc:
                log.warning("alert %s", fields(chat=chat, outcome="failed", error=str(exc)[:200]))

    async def send_files(self, paths: list[Path], caption: str) -> None:
        """Documents to every editor chat (the scheduled weekly draft)."""
        for chat in self.state.chats:
            for path in paths:
                try:
                    with path.open("rb") as handle:
                        await self.bot.send_document(chat, handle, filename=path.name,
                                                     caption=caption)
                except TelegramError as exc:
                    log.warning("document %s", fields(chat=chat, file=path.name,
                                                      outcome="failed", error=str(exc)[:200]))

    async def _refused_by(self, chat: int, error: str) -> None:
        """A chat refuses the bot: its cards stay queued (nothing is lost), it is tried again
        after a pause, and the editors hear about it once per refusal streak: in the log, the
        metrics and every other editor chat."""
        first = chat not in self._refused_until
        wait = self.state.options.retry * 6  # a minute by default: people take time to fix it
        self._refused_until[chat] = asyncio.get_running_loop().time() + wait
        self._delay = min(self._delay, wait)
        metrics.CHAT_REFUSED.inc()
        log.error("chat %s", fields(chat=chat, outcome="refuses the bot", error=error[:200],
                                    retry_in=wait))
        if first:
            for other in self.state.chats:
                if other != chat:
                    with contextlib.suppress(TelegramError):
                        await self.bot.send_message(
                            other, f"⚠️ Chat {chat} refuses the bot ({error[:200]}); its cards "
                                   "wait until the bot is added back.")

    def _retry_later(self, chat: int, exc: Exception) -> None:
        wait = retry_seconds(exc) if isinstance(exc, RetryAfter) else self.state.options.retry
        log.warning("outbox %s", fields(chat=chat, outcome=type(exc).__name__, retry_in=wait,
                                        error=str(exc)[:200]))
        self._delay = min(self._delay, wait)


def _last_daily(now: datetime, at: time) -> datetime:
    """The latest daily-digest moment at or before `now` (in the editor's zone)."""
    today = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
    return today if today <= now else today - timedelta(days=1)

"""When the bot may send: paced per chat, halted by a 429, held during quiet hours.

`ChatPacer` is the application's rate limiter (PTB's `BaseRateLimiter`): at most one request
per `interval` per chat, and a 429 halts every request for its `retry_after` before the same
request is tried again. `QuietHours` is the TELEGRAM_QUIET_HOURS window in which the outbox
holds cards back; it lives here, below both the bot's options and the outbox, so both can name
it without importing each other.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from monitor.logs import fields

log = logging.getLogger("monitor.bot")


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

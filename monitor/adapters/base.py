"""What every adapter shares: the request callable they are given and the default poll.

A poll given a `Budget` (the pipeline's are: `MONITOR_DEADLINE`) parses each response in a
worker process within the time the request left of the deadline and a memory cap
(`monitor.adapters.budget`); without one, it parses in a thread as `monitor import` does.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from monitor.adapters import budget as parse_budget
from monitor.adapters.budget import Budget
from monitor.errors import EmptyFeed
from monitor.models import Get, Item, RawResponse, Source

Parse = Callable[[RawResponse, Source], list[Item]]


@dataclass
class _Budgeted:
    """The budget of the poll under way and how long each of its responses took to arrive."""

    budget: Budget
    took: dict[int, tuple[RawResponse, float]] = field(default_factory=dict)

    def seconds_for(self, raw: RawResponse) -> float:
        """The deadline less the request's time (never under `MIN_SECONDS`)."""
        _, took = self.took.pop(id(raw), (raw, 0.0))
        return max(parse_budget.MIN_SECONDS, self.budget.seconds - took)


_POLL: contextvars.ContextVar[_Budgeted | None] = contextvars.ContextVar("parse_budget",
                                                                         default=None)


def parse_checked(parse: Parse, raw: RawResponse, source: Source) -> list[Item]:
    """Parse a 200; a body that yields nothing is `EmptyFeed`, never a quiet day."""
    items = parse(raw, source)
    if not items:
        raise EmptyFeed(f"{raw.url}: a {raw.status} response with no items", )
    return items


async def parse_in_thread(parse: Parse, raw: RawResponse, source: Source) -> list[Item]:
    """Parse off the event loop: in a budgeted worker process during a budgeted poll, else in
    a thread (parsing a large feed takes long enough to stall the loop)."""
    budgeted = _POLL.get()
    if budgeted is None:
        return await asyncio.to_thread(parse_checked, parse, raw, source)
    limits = Budget(budgeted.seconds_for(raw), budgeted.budget.memory)
    return await asyncio.to_thread(parse_budget.parse, functools.partial(parse_checked, parse),
                                   raw, source, limits)


def _timed(get: Get, budgeted: _Budgeted) -> Get:
    """`get`, noting how long each response took (retries and politeness waits included)."""

    async def timed(url: str, **kwargs: Any) -> RawResponse:
        started = time.monotonic()
        raw = await get(url, **kwargs)
        budgeted.took[id(raw)] = (raw, time.monotonic() - started)
        return raw

    return timed  # type: ignore[return-value]


async def poll(adapter: ModuleType, source: Source, get: Get,
               budget: Budget | None = None) -> list[Item]:
    """One poll of a source: the adapter's own `poll`, or each URL fetched and parsed; with a
    `budget`, each response's parse within it."""
    token = None
    if budget is not None:
        budgeted = _Budgeted(budget)
        get = _timed(get, budgeted)
        token = _POLL.set(budgeted)
    try:
        custom = getattr(adapter, "poll", None)
        if custom is not None:
            return await custom(source, get)
        items: list[Item] = []
        for url in source.urls:
            raw = await get(url)
            if raw.not_modified:
                continue
            items.extend(await parse_in_thread(adapter.parse, raw, source))
        return items
    finally:
        if token is not None:
            _POLL.reset(token)

"""What every adapter shares: the request callable they are given and the default poll."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType

from monitor.errors import EmptyFeed
from monitor.models import Get, Item, RawResponse, Source

Parse = Callable[[RawResponse, Source], list[Item]]


def parse_checked(parse: Parse, raw: RawResponse, source: Source) -> list[Item]:
    """Parse a 200; a body that yields nothing is `EmptyFeed`, never a quiet day."""
    items = parse(raw, source)
    if not items:
        raise EmptyFeed(f"{raw.url}: a {raw.status} response with no items", )
    return items


async def parse_in_thread(parse: Parse, raw: RawResponse, source: Source) -> list[Item]:
    """Parsing a large feed takes long enough to stall the event loop: do it in a worker."""
    return await asyncio.to_thread(parse_checked, parse, raw, source)


async def poll(adapter: ModuleType, source: Source, get: Get) -> list[Item]:
    """One poll of a source: the adapter's own `poll`, or each URL fetched and parsed."""
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

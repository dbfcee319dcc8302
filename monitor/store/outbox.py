"""The card outbox: which candidate goes to which editor chat, and how far its posting got.

The outbox holds one row per (item, chat), so a candidate is posted once however often it is
enqueued. A row is claimed (`sending`, with its claim time) and then marked `sent` with its
message id, each in its own transaction. A claim is a lease: a row left `sending` longer than
`LEASE` (its sender died, or its send raised something unexpected) goes back to `pending`, by
the same rule at start-up and in every round of the worker (`recover`). A claim whose lease runs
is left alone even at start-up: it may be another daemon's on the same database, sending that
card now. A card whose sender was killed mid-send is thus posted once its lease expires, and may
then repeat. Cards of a chat are claimed strictly in order: while
the chat's oldest unfinished row is `sending`, nothing after it is claimed. A burst posted as
one digest leaves its rows `digested` until the editor reviews them one by one.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.models import OFF_TOPIC, Item
from monitor.store.db import insert_ignoring_duplicates
from monitor.store.items import row_item
from monitor.store.schema import cards, items, outbox

# Longer than any one send can take (python-telegram-bot's timeouts, a plain-text retry and the
# rate limiter's wait are well under a minute), short enough that a stuck card is not noticed.
LEASE = timedelta(minutes=5)

def _now() -> datetime:
    return datetime.now(timezone.utc)


async def enqueue(engine: AsyncEngine, item_ids: list[int], chats: list[int]) -> int:
    """One pending card per (item, chat); rows already there stay as they are. Returns new rows."""
    now, added = _now(), 0
    stmt = insert_ignoring_duplicates(engine, outbox).returning(outbox.c.id)
    async with engine.begin() as conn:
        for item_id in item_ids:
            for chat in chats:
                result = await conn.execute(stmt.values(item_id=item_id, chat_id=chat,
                                                        state="pending", attempts=0,
                                                        created_at=now))
                added += len(result.all())
    return added


async def recover(engine: AsyncEngine, *, lease: timedelta = LEASE,
                  now: datetime | None = None, dead: Collection[str] = ()) -> int:
    """Rows left `sending` for longer than `lease` (claimed at or before `now - lease`) go back
    to `pending`, and so do those claimed by the processes in `dead` whatever their age; returns
    how many. A row claimed before claims had a time (migration 0006) counts as expired."""
    o = outbox.c
    cutoff = (now or _now()) - lease
    expired = or_(o.claimed_at.is_(None), o.claimed_at <= cutoff,
                  *([o.claimed_by.in_(list(dead))] if dead else []))
    async with engine.begin() as conn:
        result = await conn.execute(
            update(outbox).where(o.state == "sending", expired)
            .values(state="pending", claimed_at=None, claimed_by=None))
    return result.rowcount or 0


async def claimers(engine: AsyncEngine) -> set[str]:
    """The processes that hold a card `sending` now (rows claimed before 0008 name none)."""
    o = outbox.c
    async with engine.connect() as conn:
        return {r[0] for r in await conn.execute(
            select(o.claimed_by).where(o.state == "sending", o.claimed_by.is_not(None))
            .distinct())}


async def catch_up(engine: AsyncEngine, chats: list[int], since: datetime) -> int:
    """Enqueue relevant new items first seen since `since` that never reached the outbox.

    Covers a crash between storing items and enqueueing them. Held items (backlog older than
    MONITOR_MAX_AGE at a source's first poll) never reach the outbox, so they are not missing;
    nor do unclassified ones (`monitor import --no-classify`): `monitor classify --stored`
    enqueues them once it has judged them.
    """
    c = items.c
    query = select(c.id).where(c.first_seen >= since, c.status == "new", c.held.is_(False),
                               c.bucket.is_not(None), c.bucket != OFF_TOPIC).order_by(c.id)
    async with engine.connect() as conn:
        ids = [r[0] for r in await conn.execute(query)]
        known = {(r.item_id, r.chat_id) for r in await conn.execute(
            select(outbox.c.item_id, outbox.c.chat_id).where(outbox.c.item_id.in_(ids)))}
    total = 0
    for chat in chats:
        missing = [i for i in ids if (i, chat) not in known]
        total += await enqueue(engine, missing, [chat]) if missing else 0
    return total


async def pending_count(engine: AsyncEngine, chat: int) -> int:
    query = select(func.count()).select_from(outbox).where(outbox.c.chat_id == chat,
                                                           outbox.c.state == "pending")
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def claim_next(engine: AsyncEngine, chat: int, now: datetime | None = None,
                     owner: str | None = None) -> tuple[int, Item] | None:
    """The chat's next card, marked `sending` at `now` by `owner` (attempts + 1) in one
    transaction; None when nothing waits or the chat's oldest unfinished card is already being
    sent.

    Order per chat: only the oldest `pending`-or-`sending` row is a candidate, so a card in
    flight (here, or in another process) holds back the ones after it until it is sent,
    released, or its lease expires (`recover`). On PostgreSQL the candidate is locked with
    FOR UPDATE SKIP LOCKED: a second process claiming at the same moment gets None at once
    instead of waiting for, and then repeating, the first one's claim (SQLite ignores the
    clause; it has one writer at a time). The update checks the state again either way."""
    o = outbox.c
    async with engine.begin() as conn:
        head = (await conn.execute(select(o.id, o.state).where(
            o.chat_id == chat, o.state.in_(("pending", "sending"))).order_by(o.id).limit(1))
        ).first()
        if head is None or head.state != "pending":
            return None
        row = (await conn.execute(select(o.id, o.item_id).where(
            o.id == head.id, o.state == "pending").with_for_update(skip_locked=True))).first()
        if row is None:
            return None
        claimed = await conn.execute(update(outbox).where(o.id == row.id, o.state == "pending")
                                     .values(state="sending", claimed_at=now or _now(),
                                             claimed_by=owner, attempts=o.attempts + 1))
        if claimed.rowcount != 1:
            return None
        item = (await conn.execute(select(items).where(items.c.id == row.item_id))
                ).mappings().first()
    return row.id, row_item(item)


async def mark_sent(engine: AsyncEngine, outbox_id: int, chat: int, message_id: int,
                    item_id: int) -> None:
    """The card is in the chat: record its message id and register it as a card of the item."""
    now = _now()
    async with engine.begin() as conn:
        await conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
            state="sent", message_id=message_id, posted_at=now, last_error=None))
        await conn.execute(insert_ignoring_duplicates(engine, cards).values(
            chat_id=chat, message_id=message_id, item_id=item_id, kind="card", posted_at=now))


async def mark_merged(engine: AsyncEngine, outbox_id: int, message_id: int) -> None:
    """Another report of a story that already has a card in the chat: it joins that card
    (which is redrawn) instead of being posted on its own."""
    async with engine.begin() as conn:
        await conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
            state="merged", message_id=message_id, posted_at=_now(), last_error=None))


async def release(engine: AsyncEngine, outbox_id: int, error: str, *, failed: bool = False) -> None:
    """A send that did not happen: back to `pending` to retry, or `failed` for good. Only a row
    still `sending`: one whose lease expired and that was sent since stays sent."""
    async with engine.begin() as conn:
        await conn.execute(update(outbox).where(outbox.c.id == outbox_id,
                                                outbox.c.state == "sending").values(
            state="failed" if failed else "pending", claimed_at=None, claimed_by=None,
            last_error=error[:500]))


async def queued(engine: AsyncEngine, chat: int,
                 before: datetime | None = None) -> list[tuple[int, Item]]:
    """The chat's pending cards, oldest first, as (outbox id, item): what a digest announces.
    `before`: only rows queued before that moment (the day a daily digest covers)."""
    o = outbox.c
    query = (select(o.id.label("outbox_id"), items).join(items, o.item_id == items.c.id)
             .where(o.chat_id == chat, o.state == "pending").order_by(o.id))
    if before is not None:
        query = query.where(o.created_at < before)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [(r["outbox_id"], row_item(r)) for r in rows]


async def mark_digested(engine: AsyncEngine, outbox_ids: list[int]) -> None:
    """The digest is posted: these cards now wait for the editor to review them one by one."""
    async with engine.begin() as conn:
        await conn.execute(update(outbox).where(outbox.c.id.in_(outbox_ids),
                                                outbox.c.state == "pending")
                           .values(state="digested", posted_at=_now()))


async def next_for_review(engine: AsyncEngine, chat: int) -> Item | None:
    """The oldest undecided item a digest announced in this chat that has no card yet."""
    o, c = outbox.c, items.c
    query = (select(items).join(outbox, o.item_id == c.id)
             .where(o.chat_id == chat, o.state == "digested", c.status == "new")
             .order_by(o.id).limit(1))
    async with engine.connect() as conn:
        row = (await conn.execute(query)).mappings().first()
    return row_item(row) if row else None


async def outbox_rows(engine: AsyncEngine, chat: int | None = None) -> list[dict[str, Any]]:
    """The outbox as plain rows, in order (for tests and diagnostics)."""
    query = select(outbox).order_by(outbox.c.id)
    if chat is not None:
        query = query.where(outbox.c.chat_id == chat)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings().all()]

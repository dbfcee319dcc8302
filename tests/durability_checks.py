"""What the durability run reads from the database after each kill, and its final verdict.

Kept apart from the run itself (tests/durability.py) so that each reads in one sitting: the
run drives processes, this judges rows and messages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.models import OFF_TOPIC
from monitor.store.db import open_database
from monitor.store.schema import items, outbox

if TYPE_CHECKING:
    from durability import Outcome

DONE = ("sent", "merged")


@dataclass(frozen=True)
class Snapshot:
    keys: frozenset[str]  # stored item URLs
    rows: int  # stored item rows (more than keys: an item stored twice)
    relevant: frozenset[int]  # ids of items the editor is to see
    queue: dict[int, tuple[int, str]]  # item id → (outbox id, state) in the editor chat
    kept: frozenset[int]  # ids of items the editor kept
    integrity: str

    @property
    def sending(self) -> int:
        return sum(state == "sending" for _, state in self.queue.values())

    def settled(self, served: int) -> bool:
        """Every offered item stored, every relevant one carded (or joined to a story's card)."""
        return (len(self.keys) >= served
                and all(self.queue.get(i, (0, ""))[1] in DONE for i in self.relevant))


async def snapshot(db_url: str) -> Snapshot:
    """The store as a restarted daemon would find it (opened without migrating: a kill in
    the middle of the first start-up may leave no schema yet, which is then empty)."""
    engine = await open_database(db_url, migrate=False)
    try:
        async with engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table("outbox")):
                return Snapshot(frozenset(), 0, frozenset(), {}, frozenset(),
                                await _integrity(conn))
            urls = [r[0] for r in await conn.execute(select(items.c.url))]
            relevant = {r[0] for r in await conn.execute(select(items.c.id).where(
                func.coalesce(items.c.bucket, "") != OFF_TOPIC, items.c.held.is_(False)))}
            queue = {r.item_id: (r.id, r.state) for r in await conn.execute(
                select(outbox.c.id, outbox.c.item_id, outbox.c.state))}
            kept = {r[0] for r in await conn.execute(select(items.c.id).where(
                items.c.status == "kept"))}
            integrity = await _integrity(conn)
    finally:
        await engine.dispose()
    return Snapshot(frozenset(urls), len(urls), frozenset(relevant), queue, frozenset(kept),
                    integrity)


async def _integrity(conn: AsyncConnection) -> str:
    """SQLite's own check of the file ("ok"); PostgreSQL has no such check ("n/a")."""
    if conn.dialect.name != "sqlite":
        return "n/a"
    return str((await conn.execute(text("PRAGMA integrity_check"))).scalar_one())


def card_item(message: dict[str, Any]) -> int | None:
    """The item a card is about, from its buttons' callback data (`t:<item>:<action>:…`)."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data") or ""
            if data.startswith("t:"):
                return int(data.split(":")[1])
    return None


def verdict(outcome: Outcome, final: Snapshot, committed: set[str], served: list[str],
            messages: list[dict[str, Any]]) -> None:
    """Fill in the outcome's counts from the last snapshot and the messages the chat holds."""
    outcome.served, outcome.stored = len(served), len(final.keys)
    outcome.lost += len(committed - final.keys)
    outcome.missed = len(set(served) - final.keys)
    outcome.duplicate_items = final.rows - len(final.keys)
    outcome.integrity.append(final.integrity)
    order = [i for i in (card_item(m) for m in messages) if i is not None]
    per_item = Counter(order)
    outcome.relevant, outcome.cards = len(final.relevant), len(order)
    outcome.duplicate_cards = sum(n - 1 for n in per_item.values())
    outcome.joined = sum(final.queue.get(i, (0, ""))[1] == "merged" for i in final.relevant)
    outcome.uncarded = sum(
        1 for i in final.relevant
        if final.queue.get(i, (0, ""))[1] not in DONE
        or (final.queue[i][1] == "sent" and per_item[i] == 0))
    first = list(dict.fromkeys(order))  # each card's first message, in the chat's order
    queued = [final.queue[i][0] for i in first if i in final.queue]
    outcome.out_of_order = sum(a > b for a, b in zip(queued, queued[1:]))

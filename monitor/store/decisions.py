"""The editor's decisions on items: what they are, what they change, and what they teach.

Every decision is a row in `decisions` (who, when, what, bucket and status before and after),
numbered per item (`seq`, unique with the item): a button carries the number it was drawn for,
so a replayed or stale press no longer matches and changes nothing, and two presses racing each
other cannot both commit. The item row changes in the same transaction as its decision.
Decisions in force (not undone) are the editor's labels for `monitor train`, and the counts and
lists the bot's commands show are read here too. `card_state` is everything a card is drawn
from, read in one connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.models import OFF_TOPIC, Item, Label
from monitor.store.items import row_item
from monitor.store.schema import decisions as decisions_table
from monitor.store.schema import items as items_table

# What Undo reverts and what makes a label. "skip" is "not needed this week" (it teaches nothing
# about relevance); "offtopic" is "this is not our subject" (it teaches off_topic). A move also
# keeps the item: re-filing it says the editor wants it, in the other section.
VERDICTS = ("keep", "skip", "offtopic", "move")
_STATUS = {"keep": "kept", "skip": "skipped", "offtopic": "skipped"}
_ORIGIN = {"keep": "editor", "move": "editor", "skip": "editor-skip",
           "offtopic": "editor-offtopic"}


@dataclass(slots=True)
class Decision:
    item_id: int
    seq: int
    user_id: int
    user_name: str
    at: datetime
    action: str
    status_from: str
    status_to: str
    bucket_from: str | None = None
    bucket_to: str | None = None
    comment_from: str | None = None
    comment: str | None = None
    undone: bool = False


@dataclass(frozen=True, slots=True)
class CardState:
    """What an item's card shows: the item, the revision its buttons carry, the verdict in force,
    and every report of its story (the item first, then the others as they were published)."""

    item: Item
    rev: int
    verdict: Decision | None
    reports: tuple[Item, ...] = ()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _decision(row: Any) -> Decision:
    return Decision(**{k: v for k, v in row.items() if k != "id"})


async def get_item(engine: AsyncEngine, item_id: int) -> Item | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(items_table).where(items_table.c.id == item_id))
               ).mappings().first()
    return row_item(row) if row else None


async def card_state(engine: AsyncEngine, item_id: int) -> CardState | None:
    """The item, its revision and its verdict in force, in one connection; None if no such item."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(items_table).where(items_table.c.id == item_id))
               ).mappings().first()
        if row is None:
            return None
        item = row_item(row)
        return CardState(item, await _revision(conn, item_id), await _undo_target(conn, item_id),
                         (item, *await _story_reports(conn, item)))


async def _story_reports(conn: Any, item: Item) -> list[Item]:
    """The other stored reports of the item's story, oldest first."""
    if not item.story:
        return []
    c = items_table.c
    query = (select(items_table).where(c.story == item.story, c.id != item.id)
             .order_by(func.coalesce(c.published, c.first_seen), c.id).limit(50))
    return [row_item(r) for r in (await conn.execute(query)).mappings().all()]


async def revision(engine: AsyncEngine, item_id: int) -> int:
    """How many decisions the item has had: the number its current buttons carry."""
    async with engine.connect() as conn:
        return await _revision(conn, item_id)


async def _revision(conn: Any, item_id: int) -> int:
    d = decisions_table.c
    query = select(func.coalesce(func.max(d.seq), 0)).where(d.item_id == item_id)
    return int((await conn.execute(query)).scalar_one())


async def history(engine: AsyncEngine, item_id: int) -> list[Decision]:
    """The item's decisions, oldest first."""
    d = decisions_table.c
    query = select(decisions_table).where(d.item_id == item_id).order_by(d.seq)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [_decision(r) for r in rows]


async def decide(engine: AsyncEngine, item_id: int, *, rev: int, action: str, user_id: int,
                 user_name: str, bucket: str | None = None,
                 comment: str | None = None) -> Decision | None:
    """Apply one decision if the item is still at revision `rev`; None if stale or not possible.

    The item row and the decision commit together, before the caller answers the button press.
    """
    c = items_table.c
    try:
        async with engine.begin() as conn:
            query = (select(c.status, c.bucket, c.comment, c.story).where(c.id == item_id)
                     .with_for_update())
            row = (await conn.execute(query)).first()
            if row is None or await _revision(conn, item_id) != rev:
                return None
            target = await _undo_target(conn, item_id) if action == "undo" else None
            decision = _next_state(row, action, bucket, comment, target)
            if decision is None:
                return None
            decision.item_id, decision.seq, decision.user_id = item_id, rev + 1, user_id
            decision.user_name, decision.at = user_name[:128], _now()
            await _write(conn, decision, target)
            if row.story:
                await _mirror(conn, row.story, item_id)
            return decision
    except IntegrityError:  # a concurrent press took this revision first
        return None


def _next_state(row: Any, action: str, bucket: str | None, comment: str | None,
                target: Decision | None) -> Decision | None:
    """The decision's before/after, or None when the action does not apply to this state."""
    status, current, old_comment = row.status, row.bucket, row.comment
    new_status, new_bucket, new_comment = status, current, old_comment
    if action in _STATUS:
        if status != "new":
            return None
        new_status = _STATUS[action]
    elif action == "move":
        if not bucket or bucket == current:
            return None
        new_bucket = bucket
        new_status = "kept" if status == "new" else status
    elif action == "comment":
        new_comment = (comment or "").strip() or None
    elif action == "undo":
        if target is None:
            return None
        new_status, new_bucket = target.status_from, target.bucket_from
    else:
        return None
    return Decision(0, 0, 0, "", _now(), action, status, new_status, current, new_bucket,
                    old_comment, new_comment)


async def _undo_target(conn: Any, item_id: int) -> Decision | None:
    """The latest keep/skip/move not undone yet: what Undo reverts, and the card's verdict."""
    d = decisions_table.c
    query = (select(decisions_table).where(d.item_id == item_id, d.action.in_(VERDICTS),
                                           d.undone.is_(False)).order_by(d.seq.desc()).limit(1))
    row = (await conn.execute(query)).mappings().first()
    return _decision(row) if row else None


async def _write(conn: Any, decision: Decision, target: Decision | None) -> None:
    d = decisions_table.c
    values = {k: getattr(decision, k) for k in Decision.__slots__}
    await conn.execute(decisions_table.insert().values(**values))
    if target is not None:
        await conn.execute(update(decisions_table).where(d.item_id == decision.item_id,
                                                         d.seq == target.seq)
                           .values(undone=True))
    reviewed = decision.status_to != "new"
    await conn.execute(update(items_table).where(items_table.c.id == decision.item_id).values(
        status=decision.status_to, bucket=decision.bucket_to, comment=decision.comment,
        reviewed_by=decision.user_name if reviewed else None,
        reviewed_at=decision.at if reviewed else None))


async def _mirror(conn: Any, story: str, item_id: int) -> None:
    """The story's other reports take the card item's status and bucket: the editor decides on
    the story (one card), while the label stays on the item that was decided."""
    c = items_table.c
    row = (await conn.execute(select(c.status, c.bucket, c.reviewed_by, c.reviewed_at)
                              .where(c.id == item_id))).first()
    await conn.execute(update(items_table).where(c.story == story, c.id != item_id).values(
        status=row.status, bucket=row.bucket, reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at))


async def follow_story(engine: AsyncEngine, item_id: int, card_item_id: int) -> None:
    """A late report joins its story's card: it takes the card item's decision so far."""
    async with engine.begin() as conn:
        story = (await conn.execute(select(items_table.c.story)
                                    .where(items_table.c.id == card_item_id))).scalar_one()
        if story:
            await _mirror(conn, story, card_item_id)


async def last_verdict(engine: AsyncEngine, item_id: int) -> Decision | None:
    """The keep/skip/move now in force (not undone)."""
    async with engine.connect() as conn:
        return await _undo_target(conn, item_id)


# --- labels for the classifier -----------------------------------------------------------------

async def labelled(engine: AsyncEngine) -> list[tuple[int, Label]]:
    """(item id, label) for every item with a verdict in force (undone ones don't count).

    Kept or moved → the bucket it ended in (origin `editor`); Off-topic → `off_topic` (origin
    `editor-offtopic`); skipped → `off_topic` with origin `editor-skip`, which training reads
    as "not needed this week", not as "irrelevant". A comment alone gives no label.
    """
    c, d = items_table.c, decisions_table.c
    verdicts = (select(d.item_id, d.action, d.seq)
                .where(d.action.in_(VERDICTS), d.undone.is_(False)).order_by(d.item_id, d.seq))
    async with engine.connect() as conn:
        latest = {r.item_id: r.action for r in await conn.execute(verdicts)}
        query = (select(c.id, c.title, c.summary, c.lang, c.bucket)
                 .where(c.id.in_(list(latest))).order_by(c.id))
        rows = (await conn.execute(query)).mappings().all() if latest else []
    out = []
    for r in rows:
        action = latest[r["id"]]
        bucket = OFF_TOPIC if _STATUS.get(action) == "skipped" else r["bucket"]
        if bucket:
            out.append((r["id"], Label(r["title"], r["summary"] or "", r["lang"] or "", bucket,
                                       origin=_ORIGIN[action])))
    return out


async def labels(engine: AsyncEngine) -> list[Label]:
    """The editor's labels, for `monitor train`."""
    return [label for _, label in await labelled(engine)]


async def agreement(engine: AsyncEngine) -> tuple[int, int]:
    """(agreed, labelled): how often the classifier's bucket was the editor's final label.

    The classifier's bucket is the one the item had before the editor's first decision.
    """
    d = decisions_table.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(d.item_id, d.bucket_from).where(d.seq == 1))
        original = {r.item_id: r.bucket_from or OFF_TOPIC for r in rows}
    found = await labelled(engine)
    agreed = sum(original.get(item_id) == label.bucket for item_id, label in found)
    return agreed, len(found)


# --- what the commands show --------------------------------------------------------------------

async def pending_items(engine: AsyncEngine, offset: int = 0,
                        limit: int = 10) -> tuple[list[Item], int]:
    """Undecided relevant items, oldest first, one page; and how many there are in all.

    Held backlog (older than MONITOR_MAX_AGE at its source's first poll) is not pending: it
    was never proposed, and /find still finds it."""
    c = items_table.c
    where = and_(c.status == "new", func.coalesce(c.bucket, "") != OFF_TOPIC,
                 c.held.is_(False))
    async with engine.connect() as conn:
        total = int((await conn.execute(select(func.count()).select_from(items_table)
                                        .where(where))).scalar_one())
        rows = (await conn.execute(select(items_table).where(where)
                                   .order_by(c.first_seen, c.id).offset(offset).limit(limit))
                ).mappings().all()
    return [row_item(r) for r in rows], total


async def bucket_counts(engine: AsyncEngine, since: datetime,
                        until: datetime) -> dict[str, dict[str, int]]:
    """bucket → status → count, for items first seen in [since, until)."""
    c = items_table.c
    query = (select(c.bucket, c.status, func.count()).where(c.first_seen >= since,
                                                             c.first_seen < until)
             .group_by(c.bucket, c.status))
    out: dict[str, dict[str, int]] = {}
    async with engine.connect() as conn:
        for bucket, status, count in await conn.execute(query):
            out.setdefault(bucket or "unclassified", {})[status] = int(count)
    return out

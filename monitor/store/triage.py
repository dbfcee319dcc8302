"""The editor's triage in the database: decisions (labels), comments, the card outbox, cards.

Every decision is a row in `decisions` (who, when, what, bucket and status before and after),
numbered per item (`seq`, unique with the item): a button carries the number it was drawn for,
so a replayed or stale press no longer matches and changes nothing, and two presses racing each
other cannot both commit. The outbox holds one row per (item, chat), so a candidate is posted
once however often it is enqueued; a row is claimed (`sending`) and then marked `sent` with its
message id, each in its own transaction. Rows left `sending` by a crash go back to `pending`
when the bot starts (the one card whose send was in flight may then repeat).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.models import OFF_TOPIC, Item, Label
from monitor.store.db import insert_ignoring_duplicates
from monitor.store.items import row_item
from monitor.store.schema import cards, comment_prompts, decisions, items, outbox

VERDICTS = ("keep", "skip", "move")  # what Undo reverts and what makes a label
_STATUS = {"keep": "kept", "skip": "skipped"}


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




def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- items and decisions -----------------------------------------------------------------------

async def get_item(engine: AsyncEngine, item_id: int) -> Item | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(items).where(items.c.id == item_id))).mappings().first()
    return row_item(row) if row else None


async def revision(engine: AsyncEngine, item_id: int) -> int:
    """How many decisions the item has had: the number its current buttons carry."""
    async with engine.connect() as conn:
        return await _revision(conn, item_id)


async def _revision(conn: Any, item_id: int) -> int:
    query = select(func.coalesce(func.max(decisions.c.seq), 0)).where(
        decisions.c.item_id == item_id)
    return int((await conn.execute(query)).scalar_one())


async def history(engine: AsyncEngine, item_id: int) -> list[Decision]:
    """The item's decisions, oldest first."""
    c = decisions.c
    query = select(decisions).where(c.item_id == item_id).order_by(c.seq)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [Decision(**{k: v for k, v in r.items() if k != "id"}) for r in rows]


async def decide(engine: AsyncEngine, item_id: int, *, rev: int, action: str, user_id: int,
                 user_name: str, bucket: str | None = None,
                 comment: str | None = None) -> Decision | None:
    """Apply one decision if the item is still at revision `rev`; None if stale or not possible.

    The item row and the decision commit together, before the caller answers the button press.
    """
    try:
        async with engine.begin() as conn:
            query = select(items.c.status, items.c.bucket, items.c.comment).where(
                items.c.id == item_id).with_for_update()
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
    """The latest keep/skip/move not undone yet: what Undo reverts."""
    c = decisions.c
    query = (select(decisions).where(c.item_id == item_id, c.action.in_(VERDICTS),
                                     c.undone.is_(False)).order_by(c.seq.desc()).limit(1))
    row = (await conn.execute(query)).mappings().first()
    return Decision(**{k: v for k, v in row.items() if k != "id"}) if row else None


async def _write(conn: Any, decision: Decision, target: Decision | None) -> None:
    values = {k: getattr(decision, k) for k in Decision.__slots__}
    await conn.execute(decisions.insert().values(**values))
    if target is not None:
        await conn.execute(update(decisions).where(decisions.c.item_id == decision.item_id,
                                                   decisions.c.seq == target.seq)
                           .values(undone=True))
    reviewed = decision.status_to != "new"
    await conn.execute(update(items).where(items.c.id == decision.item_id).values(
        status=decision.status_to, bucket=decision.bucket_to, comment=decision.comment,
        reviewed_by=decision.user_name if reviewed else None,
        reviewed_at=decision.at if reviewed else None))


async def last_verdict(engine: AsyncEngine, item_id: int) -> Decision | None:
    """The keep/skip/move now in force (not undone), for the card's footer."""
    async with engine.connect() as conn:
        return await _undo_target(conn, item_id)


# --- labels for the classifier -----------------------------------------------------------------

async def labelled(engine: AsyncEngine) -> list[tuple[int, Label]]:
    """(item id, label) for every item with a decision in force (undone ones don't count).

    Skipped → `off_topic` (origin `editor-skip`); kept → the bucket it ended in; moved (not yet
    kept or skipped) → the bucket it was moved to (origin `editor`). A comment alone gives none.
    """
    c, d = items.c, decisions.c
    decided = (select(d.item_id).where(d.action.in_(VERDICTS), d.undone.is_(False))
               .distinct().scalar_subquery())
    query = (select(c.id, c.title, c.summary, c.lang, c.status, c.bucket)
             .where(c.id.in_(decided)).order_by(c.id))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    out = []
    for r in rows:
        skipped = r["status"] == "skipped"
        bucket = OFF_TOPIC if skipped else r["bucket"]
        if bucket:
            out.append((r["id"], Label(r["title"], r["summary"] or "", r["lang"] or "", bucket,
                                       origin="editor-skip" if skipped else "editor")))
    return out


async def labels(engine: AsyncEngine) -> list[Label]:
    """The editor's labels, for `monitor train`."""
    return [label for _, label in await labelled(engine)]


async def agreement(engine: AsyncEngine) -> tuple[int, int]:
    """(agreed, labelled): how often the classifier's bucket was the editor's final label.

    The classifier's bucket is the one the item had before the editor's first decision.
    """
    d = decisions.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(d.item_id, d.bucket_from).where(d.seq == 1))
        original = {r.item_id: r.bucket_from or OFF_TOPIC for r in rows}
    found = await labelled(engine)
    agreed = sum(original.get(item_id) == label.bucket for item_id, label in found)
    return agreed, len(found)


# --- the outbox --------------------------------------------------------------------------------

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


async def recover(engine: AsyncEngine) -> int:
    """Rows a crash left `sending` go back to `pending`; returns how many."""
    async with engine.begin() as conn:
        result = await conn.execute(update(outbox).where(outbox.c.state == "sending")
                                    .values(state="pending"))
    return result.rowcount or 0


async def catch_up(engine: AsyncEngine, chats: list[int], since: datetime) -> int:
    """Enqueue relevant new items first seen since `since` that never reached the outbox.

    Covers a crash between storing items and enqueueing them.
    """
    c = items.c
    query = select(c.id).where(c.first_seen >= since, c.status == "new",
                               func.coalesce(c.bucket, "") != OFF_TOPIC).order_by(c.id)
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


async def claim_next(engine: AsyncEngine, chat: int) -> tuple[int, Item] | None:
    """The oldest pending card of the chat, marked `sending` (attempts + 1) in one transaction."""
    o = outbox.c
    async with engine.begin() as conn:
        row = (await conn.execute(select(o.id, o.item_id).where(
            o.chat_id == chat, o.state == "pending").order_by(o.id).limit(1))).first()
        if row is None:
            return None
        claimed = await conn.execute(update(outbox).where(o.id == row.id, o.state == "pending")
                                     .values(state="sending", attempts=o.attempts + 1))
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


async def release(engine: AsyncEngine, outbox_id: int, error: str, *, failed: bool = False) -> None:
    """A send that did not happen: back to `pending` to retry, or `failed` for good."""
    async with engine.begin() as conn:
        await conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
            state="failed" if failed else "pending", last_error=error[:500]))


async def queued(engine: AsyncEngine, chat: int) -> list[tuple[int, Item]]:
    """The chat's pending cards, oldest first, as (outbox id, item): what a digest announces."""
    o = outbox.c
    query = (select(o.id.label("outbox_id"), items).join(items, o.item_id == items.c.id)
             .where(o.chat_id == chat, o.state == "pending").order_by(o.id))
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


# --- cards and comment prompts -----------------------------------------------------------------

async def add_card(engine: AsyncEngine, chat: int, message_id: int, item_id: int,
                   kind: str = "card") -> None:
    """A message that shows (or asks about) an item: replies to it comment on that item."""
    async with engine.begin() as conn:
        await conn.execute(insert_ignoring_duplicates(engine, cards).values(
            chat_id=chat, message_id=message_id, item_id=item_id, kind=kind, posted_at=_now()))
        if kind == "review":
            await conn.execute(update(outbox).where(outbox.c.item_id == item_id,
                                                    outbox.c.chat_id == chat)
                               .values(state="sent", message_id=message_id))


async def card_at(engine: AsyncEngine, chat: int, message_id: int) -> tuple[int, str] | None:
    """(item id, kind) of the card at that message, if it is one."""
    query = select(cards.c.item_id, cards.c.kind).where(cards.c.chat_id == chat,
                                                        cards.c.message_id == message_id)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return (row.item_id, row.kind) if row else None


async def cards_of(engine: AsyncEngine, item_id: int) -> list[tuple[int, int, str]]:
    """Every (chat, message id, kind) showing the item, to edit them all after a decision."""
    query = select(cards.c.chat_id, cards.c.message_id, cards.c.kind).where(
        cards.c.item_id == item_id, cards.c.kind != "prompt").order_by(cards.c.posted_at)
    async with engine.connect() as conn:
        return [(r.chat_id, r.message_id, r.kind) for r in await conn.execute(query)]


async def set_prompt(engine: AsyncEngine, chat: int, user: int, item_id: int) -> None:
    """The user pressed Comment: their next plain message in the chat is the comment."""
    async with engine.begin() as conn:
        await conn.execute(delete(comment_prompts).where(comment_prompts.c.chat_id == chat,
                                                         comment_prompts.c.user_id == user))
        await conn.execute(comment_prompts.insert().values(chat_id=chat, user_id=user,
                                                           item_id=item_id, since=_now()))


async def take_prompt(engine: AsyncEngine, chat: int, user: int) -> int | None:
    """The item the user was asked to comment on (the prompt is used up), if any."""
    where = and_(comment_prompts.c.chat_id == chat, comment_prompts.c.user_id == user)
    async with engine.begin() as conn:
        row = (await conn.execute(select(comment_prompts.c.item_id).where(where))).first()
        if row is not None:
            await conn.execute(delete(comment_prompts).where(where))
    return row.item_id if row else None


# --- what the commands show --------------------------------------------------------------------

async def pending_items(engine: AsyncEngine, offset: int = 0,
                        limit: int = 10) -> tuple[list[Item], int]:
    """Undecided relevant items, oldest first, one page; and how many there are in all."""
    c = items.c
    where = and_(c.status == "new", func.coalesce(c.bucket, "") != OFF_TOPIC)
    async with engine.connect() as conn:
        total = int((await conn.execute(select(func.count()).select_from(items)
                                        .where(where))).scalar_one())
        rows = (await conn.execute(select(items).where(where).order_by(c.first_seen, c.id)
                                   .offset(offset).limit(limit))).mappings().all()
    return [row_item(r) for r in rows], total


async def bucket_counts(engine: AsyncEngine, since: datetime,
                        until: datetime) -> dict[str, dict[str, int]]:
    """bucket → status → count, for items first seen in [since, until)."""
    c = items.c
    query = (select(c.bucket, c.status, func.count()).where(c.first_seen >= since,
                                                             c.first_seen < until)
             .group_by(c.bucket, c.status))
    out: dict[str, dict[str, int]] = {}
    async with engine.connect() as conn:
        for bucket, status, count in await conn.execute(query):
            out.setdefault(bucket or "unclassified", {})[status] = int(count)
    return out

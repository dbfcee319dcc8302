"""Stored items: insert only what is new, and the queries the CLI, bot and export need.

Identity is the unique `key` column; `insert_new` relies on it (ON CONFLICT DO NOTHING) and
returns only the rows really inserted, so only those reach the editor.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.models import Item, StoryRef
from monitor.store.db import insert_ignoring_duplicates, text_search
from monitor.store.schema import items as items_table
from monitor.text import search_text

_ITEM_COLUMNS = ("key", "source", "url", "title", "summary", "published", "first_seen", "lang",
                 "authors", "guid", "variant", "origin", "story", "original", "bucket",
                 "confidence", "scores", "why", "model_version", "status", "comment",
                 "reviewed_by", "date_only", "held")




async def unseen(engine: AsyncEngine, items: list[Item]) -> list[Item]:
    """The items whose key is not stored yet (checked before the costly stages)."""
    if not items:
        return []
    keys = [i.key for i in items]
    async with engine.connect() as conn:
        known: set[str] = set()
        for start in range(0, len(keys), 500):
            rows = await conn.execute(select(items_table.c.key)
                                      .where(items_table.c.key.in_(keys[start:start + 500])))
            known.update(r[0] for r in rows)
    return [i for i in items if i.key not in known]


async def insert_new(engine: AsyncEngine, items: list[Item],
                     extra: dict[str, dict[str, Any]] | None = None,
                     demoted: list[str] | None = None) -> list[Item]:
    """Insert the items; return only those really inserted (with `id` and `first_seen` set).

    `extra` maps key → additional column values (title signature, embedding) that are not
    part of the Item shape. `demoted` are stored keys that an earlier copy of their story just
    displaced as its original: marked in the same transaction, so a crash never leaves a story
    with two originals.
    """
    if not items:
        return []
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = []
    for item in items:
        item.first_seen = item.first_seen or now
        row = {c: getattr(item, c) for c in _ITEM_COLUMNS}
        row["search"] = search_text(item.title, item.summary)
        row.update((extra or {}).get(item.key, {}))
        rows.append(row)
    stmt = insert_ignoring_duplicates(engine, items_table).returning(
        items_table.c.id, items_table.c.key)
    async with engine.begin() as conn:
        inserted = {}
        for row in rows:  # one statement per row: RETURNING with DO NOTHING is per row
            result = await conn.execute(stmt.values(**row))
            for id_, key in result:
                inserted[key] = id_
        if demoted:
            await conn.execute(update(items_table).where(items_table.c.key.in_(demoted))
                               .values(original=False))
    fresh = []
    for item in items:
        if item.key in inserted:
            item.id = inserted.pop(item.key)
            fresh.append(item)
    return fresh


async def recent_story_refs(engine: AsyncEngine, start: datetime,
                            end: datetime) -> list[StoryRef]:
    """Items published between `start` and `end` (first seen then, when the source gave no
    time), for linking new reports of their stories."""
    return [ref for ref, *_ in await story_window(engine, start, end)]


async def story_window(engine: AsyncEngine, start: datetime,
                       end: datetime) -> list[tuple[StoryRef, str, str, bool]]:
    """(ref, title, summary, date_only) of every item published between `start` and `end`
    (or first seen then, when its time is unknown): what story linking compares a batch with.
    Both arms use an index, so the cost follows the window, not the table."""
    c = items_table.c
    query = (select(c.key, c.source, c.story, c.original, c.published, c.title_sig, c.embedding,
                    c.title, c.summary, c.date_only)
             .where(or_(c.published.between(start, end),
                        and_(c.published.is_(None), c.first_seen.between(start, end)))))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [(StoryRef(r.key, r.source, r.story or r.key, bool(r.original), r.published,
                      r.title_sig or "", r.embedding), r.title, r.summary or "", bool(r.date_only))
            for r in rows]


async def find_items(engine: AsyncEngine, *, since: datetime | None = None,
                     until: datetime | None = None, source: str | None = None,
                     bucket: str | None = None, search: str | None = None,
                     limit: int | None = None) -> list[Item]:
    """Stored items, newest first (by published time, else first seen); with `search`, the
    items whose title or summary hold every word of it (full-text, any script), best first."""
    c = items_table.c
    when = func.coalesce(c.published, c.first_seen)
    query = select(items_table).order_by(when.desc(), c.id.desc())
    if since is not None:
        query = query.where(when >= since)
    if until is not None:
        query = query.where(when < until)
    if source:
        query = query.where(c.source == source)
    if bucket:
        query = query.where(c.bucket == bucket)
    if search:
        matched = text_search(engine, items_table, search)
        if matched is None:
            return []
        condition, ranking = matched
        query = query.where(condition).order_by(None).order_by(ranking, when.desc(), c.id.desc())
    if limit:
        query = query.limit(limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [row_item(r) for r in rows]


def row_item(row: Any) -> Item:
    """A stored row as the Item shape (rows never leave store/)."""
    item = Item(**{c: row[c] for c in _ITEM_COLUMNS if c not in ("authors", "scores")})
    item.id = row["id"]
    item.authors = list(row["authors"] or [])
    item.scores = dict(row["scores"] or {})
    item.comment = item.comment or ""
    return item


async def first_seen_of(engine: AsyncEngine, source: str) -> datetime | None:
    """When the source's first stored item was seen: its first poll (None before it)."""
    c = items_table.c
    async with engine.connect() as conn:
        when = (await conn.execute(select(func.min(c.first_seen))
                                   .where(c.source == source))).scalar_one()
    return _aware(when) if when is not None else None


async def last_new_by_source(engine: AsyncEngine) -> dict[str, datetime]:
    """When each source last gave us an item we had not seen (for "went quiet" alerts)."""
    c = items_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(c.source, func.max(c.first_seen))
                                   .group_by(c.source))).all()
    return {source: _aware(when) for source, when in rows if when is not None}


def _aware(value: datetime) -> datetime:
    """max() loses the column type on SQLite, which hands back naive UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def published_since(engine: AsyncEngine, since: datetime) -> dict[str, list[datetime]]:
    """Each source's publication times since `since`, oldest first: what its poll plan
    learns its publishing hours from (items known only to the day say nothing about the
    hour)."""
    c = items_table.c
    query = (select(c.source, c.published)
             .where(c.published >= since, c.date_only.is_(False)).order_by(c.published))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    out: dict[str, list[datetime]] = {}
    for source, when in rows:
        out.setdefault(source, []).append(_aware(when))
    return out

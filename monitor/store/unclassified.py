"""Stored items that were never classified (`monitor import --no-classify`), read in batches
and given their classification later (`monitor classify --stored`).

An item counts as unclassified while its `bucket` is NULL: every classification writes a bucket
id or `off_topic`, so a batch once recorded is never read again, and an interrupted run resumes
where it stopped. Each batch is recorded in one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.models import Item
from monitor.store.items import row_item
from monitor.store.schema import items

_RECORDED = ("bucket", "confidence", "scores", "why", "model_version", "held")


async def unclassified_count(engine: AsyncEngine) -> int:
    """How many stored items have no bucket yet."""
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(items)
                                   .where(items.c.bucket.is_(None)))).scalar_one()


async def unclassified(engine: AsyncEngine, *, after: int = 0, limit: int = 256) -> list[Item]:
    """Up to `limit` unclassified items with an id above `after`, in id (storage) order."""
    query = (select(items).where(items.c.bucket.is_(None), items.c.id > after)
             .order_by(items.c.id).limit(limit))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [row_item(r) for r in rows]


async def record_classes(engine: AsyncEngine, classified: list[Item],
                         embeddings: dict[int, bytes] | None = None) -> set[int]:
    """Write each item's bucket, confidence, scores, why, model version and held flag (and
    its embedding, by id, when given), only where the row is still unclassified: a concurrent
    run never overwrites a classification. Returns the ids of the rows written."""
    if not classified:
        return set()
    values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in _RECORDED}
    if embeddings is not None:
        values["embedding"] = bindparam("v_embedding")
    stmt = (update(items).where(items.c.id == bindparam("v_id"), items.c.bucket.is_(None))
            .values(**values))
    written = set()
    async with engine.begin() as conn:
        for item in classified:  # one row at a time: which rows were written, not just how many
            row = {f"v_{c}": getattr(item, c) for c in _RECORDED} | {"v_id": item.id}
            if embeddings is not None:
                row["v_embedding"] = embeddings.get(item.id or 0)
            if (await conn.execute(stmt, row)).rowcount:
                written.add(item.id)
    return written

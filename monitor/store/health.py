"""Per-source health: last success, last error and its kind, consecutive errors, validators,
and the poll lease.

A failed poll only touches this table: stored items are never rewritten by a failure.

Several daemon processes may share one database. A source's row carries a lease
(`poll_owner`, `poll_until`): a process polls only after `claim` won it with one UPDATE (the
lease expired, or the process already holds it), holds it while the poll runs (claiming again
renews it), and `release`s it until the source is next due, so the others skip the source
until then and it is polled once per interval however many processes run. A process that
dies stops renewing: its lease expires and whichever process fires first takes the source
over. The same mechanism on a row that is no source id (`telegram-updates`) elects a leader.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.errors import MonitorError
from monitor.store.db import insert_ignoring_duplicates, upsert
from monitor.store.schema import source_health


@dataclass(slots=True)
class Health:
    source: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: datetime | None = None
    consecutive_errors: int = 0
    items_last_poll: int | None = None
    new_last_poll: int | None = None
    validators: dict[str, dict[str, str]] = field(default_factory=dict)
    paused: bool = False
    retry_after: datetime | None = None
    quiet_alerted: bool = False
    poll_owner: str | None = None  # the process that polls it (or last did)
    poll_until: datetime | None = None  # nobody else polls it before then

    @property
    def state(self) -> str:
        """ok / failing / paused / never polled: what `monitor sources` prints."""
        if self.paused:
            return "paused"
        if self.last_attempt is None:
            return "never polled"
        return "failing" if self.consecutive_errors else "ok"


async def all_health(engine: AsyncEngine) -> dict[str, Health]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(source_health))).mappings().all()
    return {r["source"]: Health(**dict(r)) for r in rows}


async def get_health(engine: AsyncEngine, source: str) -> Health:
    async with engine.connect() as conn:
        row = (await conn.execute(select(source_health)
                                  .where(source_health.c.source == source))).mappings().first()
    return Health(**dict(row)) if row else Health(source=source)


async def record_success(engine: AsyncEngine, source: str, *, items: int, new: int,
                         validators: dict[str, dict[str, str]],
                         current: Health | None = None) -> Health:
    """A poll that parsed: reset the error count, keep the conditional-GET validators.

    `current` is the row as read at the start of the poll (read here when not given); the new
    row is returned, so a poll reads its health row once.
    """
    now = datetime.now(timezone.utc)
    current = current or await get_health(engine, source)
    merged = {**current.validators, **validators}
    values = dict(source=source, last_attempt=now, last_success=now, consecutive_errors=0,
                  items_last_poll=items, new_last_poll=new, validators=merged,
                  paused=current.paused, retry_after=None,
                  quiet_alerted=current.quiet_alerted and not new)
    async with engine.begin() as conn:
        await conn.execute(upsert(engine, source_health, "source", values))
    return _updated(current, values)


async def record_failure(engine: AsyncEngine, source: str, error: MonitorError, *,
                         current: Health | None = None) -> Health:
    """A failed poll: count it and keep its kind; validators stay as they were. Returns the
    new row (`current` as in `record_success`)."""
    now = datetime.now(timezone.utc)
    current = current or await get_health(engine, source)
    retry = getattr(error, "retry_after", None)
    values = dict(source=source, last_attempt=now, last_error=str(error)[:500],
                  last_error_kind=error.kind, last_error_at=now,
                  consecutive_errors=current.consecutive_errors + 1,
                  validators=current.validators, paused=current.paused,
                  retry_after=now + timedelta(seconds=retry) if retry else None)
    async with engine.begin() as conn:
        await conn.execute(upsert(engine, source_health, "source", values))
    return _updated(current, values)


def _updated(current: Health, values: dict[str, Any]) -> Health:
    """The row as written: the old one with the written columns replaced."""
    return replace(current, **{k: v for k, v in values.items() if k != "source"})


async def set_paused(engine: AsyncEngine, source: str, paused: bool) -> None:
    current = await get_health(engine, source)
    values = dict(source=source, paused=paused, consecutive_errors=current.consecutive_errors,
                  validators=current.validators)
    async with engine.begin() as conn:
        await conn.execute(upsert(engine, source_health, "source", values))


async def set_quiet_alerted(engine: AsyncEngine, source: str) -> None:
    """The "went quiet" alert was sent; it is re-armed by the next poll with new items."""
    async with engine.begin() as conn:
        await conn.execute(update(source_health).where(source_health.c.source == source)
                           .values(quiet_alerted=True))


# --- leases -------------------------------------------------------------------------------

LEASE = timedelta(minutes=1)  # how long a dead process's claim holds, by default


def lease_of(seconds: float | None) -> timedelta:
    """MONITOR_LEASE as a timedelta: `LEASE` when not set."""
    return timedelta(seconds=seconds) if seconds else LEASE


def process_id() -> str:
    """This process's name in the leases: host, pid and a random part (pids repeat across
    containers and restarts)."""
    return f"{socket.gethostname()[:80]}-{os.getpid()}-{secrets.token_hex(4)}"


def gone_from_this_host(owner: str, me: str) -> bool:
    """Whether `owner` (a `process_id`) was a process of this host that no longer runs: its pid
    is not running, or it is ours under another random part (a restart that got the same pid, as
    a container's process 1 does). Another host's process, or a live one here, is not gone: its
    claims hold until their lease expires."""
    try:
        host, pid, _ = owner.rsplit("-", 2)
        my_host, my_pid, _ = me.rsplit("-", 2)
        number = int(pid)
    except ValueError:
        return False
    if owner == me or host != my_host or number <= 0:
        return False
    if pid == my_pid:
        return True
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return False


async def claim(engine: AsyncEngine, name: str, owner: str, *, lease: timedelta = LEASE,
                now: datetime | None = None) -> bool:
    """Take or renew the lease on `name` (a source id, or a leader row such as
    `telegram-updates`) for `lease` from `now`; True when `owner` holds it now.

    One UPDATE whose WHERE accepts an expired lease, no lease, or `owner`'s own: two processes
    claiming at once cannot both win (PostgreSQL re-checks the condition on the row the other
    one just committed; SQLite has one writer)."""
    now = now or datetime.now(timezone.utc)
    c = source_health.c
    async with engine.begin() as conn:
        await conn.execute(insert_ignoring_duplicates(engine, source_health).values(
            source=name, consecutive_errors=0, validators={}, paused=False,
            quiet_alerted=False))
        result = await conn.execute(
            update(source_health)
            .where(c.source == name,
                   or_(c.poll_until.is_(None), c.poll_until <= now, c.poll_owner == owner))
            .values(poll_owner=owner, poll_until=now + lease))
    return result.rowcount == 1


async def release(engine: AsyncEngine, name: str, owner: str,
                  until: datetime | None = None) -> bool:
    """Give up the lease `owner` holds on `name`: nobody else takes it before `until` (the
    source's next poll; now when not given). False when `owner` no longer held it. The owner
    stays recorded, and may claim again at any time."""
    until = until or datetime.now(timezone.utc)
    c = source_health.c
    async with engine.begin() as conn:
        result = await conn.execute(update(source_health)
                                    .where(c.source == name, c.poll_owner == owner)
                                    .values(poll_until=until))
    return result.rowcount == 1


async def holder(engine: AsyncEngine, name: str,
                 now: datetime | None = None) -> str | None:
    """The process whose lease on `name` has not expired at `now`, if any."""
    now = now or datetime.now(timezone.utc)
    c = source_health.c
    async with engine.connect() as conn:
        row = (await conn.execute(select(c.poll_owner, c.poll_until)
                                  .where(c.source == name))).first()
    if row is None or row.poll_until is None or row.poll_until <= now:
        return None
    return row.poll_owner

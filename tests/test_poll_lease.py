"""Poll leases: several daemon processes on one database poll each source one at a time and
once per interval. A claim is one UPDATE that only an expired lease (or the holder's own)
satisfies; a released lease keeps others off until the source is next due; a dead holder's
lease expires and another process takes the source. On PostgreSQL, processes claiming at the
same moment never both win.

Time is injected (`now=`, `lease=`): nothing here depends on how fast the machine is, except
the bounds on waits that fail a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from monitor.errors import FetchError
from monitor.store import health as health_store
from monitor.store.db import open_database

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=60)
A, B, C = "host-1-aaaa", "host-2-bbbb", "host-3-cccc"


async def test_one_holder_at_a_time_until_its_lease_expires(engine) -> None:
    assert await health_store.claim(engine, "tass", A, lease=LEASE, now=T0)
    assert not await health_store.claim(engine, "tass", B, lease=LEASE, now=T0)
    assert not await health_store.claim(engine, "tass", B, lease=LEASE, now=T0 + LEASE / 2)
    assert await health_store.holder(engine, "tass", now=T0 + LEASE / 2) == A
    assert await health_store.claim(engine, "kremlin", B, lease=LEASE, now=T0), \
        "a lease covers one source"
    # A dies: nobody renews, and once the lease has run out another process takes over.
    later = T0 + LEASE + timedelta(seconds=1)
    assert await health_store.holder(engine, "tass", now=later) is None
    assert await health_store.claim(engine, "tass", B, lease=LEASE, now=later)
    assert await health_store.holder(engine, "tass", now=later) == B
    assert not await health_store.release(engine, "tass", A), "A no longer holds it"
    assert await health_store.holder(engine, "tass", now=later) == B


async def test_the_holder_renews_its_own_lease(engine) -> None:
    assert await health_store.claim(engine, "tass", A, lease=LEASE, now=T0)
    renewed = T0 + LEASE * 0.9
    assert await health_store.claim(engine, "tass", A, lease=LEASE, now=renewed)
    assert not await health_store.claim(engine, "tass", B, lease=LEASE,
                                        now=T0 + LEASE + timedelta(seconds=1)), \
        "renewed: a poll longer than one lease keeps its source"
    assert await health_store.claim(engine, "tass", B, lease=LEASE,
                                    now=renewed + LEASE + timedelta(seconds=1))


async def test_release_keeps_the_others_off_until_the_next_poll(engine) -> None:
    assert await health_store.claim(engine, "tass", A, lease=LEASE, now=T0)
    due = T0 + timedelta(minutes=10)
    assert await health_store.release(engine, "tass", A, until=due)
    assert not await health_store.claim(engine, "tass", B, lease=LEASE, now=T0 + LEASE * 2), \
        "polled a moment ago: not due again until its next poll"
    assert await health_store.claim(engine, "tass", A, lease=LEASE, now=due - LEASE), \
        "its poller may always take it again"
    assert await health_store.release(engine, "tass", A, until=due)
    assert await health_store.claim(engine, "tass", B, lease=LEASE, now=due), \
        "due: the first process to fire polls it"
    assert await health_store.release(engine, "tass", B)  # no time: free at once
    assert await health_store.claim(engine, "tass", C, lease=LEASE)


async def test_the_lease_columns_survive_health_updates(engine) -> None:
    """A poll records its health while it holds the lease; that must not drop the lease, and
    the health row a claim creates reads as a source never polled."""
    assert await health_store.claim(engine, "tass", A, lease=LEASE, now=T0)
    fresh = await health_store.get_health(engine, "tass")
    assert fresh.state == "never polled" and fresh.consecutive_errors == 0
    assert fresh.poll_owner == A and fresh.poll_until == T0 + LEASE
    await health_store.record_failure(engine, "tass", FetchError("down"))
    await health_store.record_success(engine, "tass", items=3, new=1, validators={})
    await health_store.set_paused(engine, "tass", True)
    after = await health_store.get_health(engine, "tass")
    assert after.last_success is not None and after.paused
    assert (after.poll_owner, after.poll_until) == (A, T0 + LEASE)
    assert not await health_store.claim(engine, "tass", B, lease=LEASE, now=T0 + LEASE / 2)
    assert set(await health_store.all_health(engine)) == {"tass"}


async def test_process_ids_differ_per_process_and_per_start() -> None:
    first, second = health_store.process_id(), health_store.process_id()
    assert first != second and first.rsplit("-", 2)[1].isdigit()


async def test_concurrent_claims_have_one_winner(db_url) -> None:
    """Many processes (separate engines: separate connections) claim the same sources at the
    same moment, round after round: each round each source has exactly one winner."""
    engines = [await open_database(db_url) for _ in range(4)]
    try:
        for round_ in range(5):
            now = T0 + LEASE * 2 * round_  # every earlier lease has expired
            owners = [f"host-{n}-{round_}" for n in range(len(engines))]
            for source in ("tass", "kremlin"):
                won = await asyncio.wait_for(asyncio.gather(*(
                    health_store.claim(e, source, o, lease=LEASE, now=now)
                    for e, o in zip(engines, owners))), 30)
                assert sum(won) == 1, (round_, source, won)
                assert await health_store.holder(engines[0], source, now=now) == \
                    owners[won.index(True)]
    finally:
        for e in engines:
            await e.dispose()

"""Claims on outbox rows are leases: a card left `sending` goes back to the queue once its lease
has expired, while the daemon runs and when it starts (only then: a daemon starting beside
another one leaves that one's fresh claims alone); cards of a chat are claimed strictly in
order; and on PostgreSQL two processes claiming at the same moment never get the same card.

Time is injected (`now=`, `lease=`): nothing here depends on how fast the machine is, except
the bounds on waits that fail a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, update

from monitor.bot.context import BotOptions
from monitor.models import Item
from monitor.store import items as item_store
from monitor.store import outbox as outbox_store
from monitor.store.db import open_database
from monitor.store.schema import outbox
from tests.conftest import ROOT
from tests.telegram_server import BotAPIServer

CHAT, OTHER = -100777, -100888
T0 = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)
LEASE = outbox_store.LEASE
WAIT = 30.0  # seconds: the bound on every wait (a failure, never a measurement)
OPTIONS = BotOptions(min_interval=0.02, idle=0.2, retry=0.2, poll_timeout=1)


async def queued(engine, n: int, chats: tuple[int, ...] = (CHAT,), start: int = 0) -> list[int]:
    """n stored items, each enqueued for the chats; their ids in order."""
    now = datetime.now(timezone.utc)
    stored = await item_store.insert_new(engine, [
        Item(source="tass", url=f"https://tass.com/politics/{i}", title=f"Story {i}", lang="en",
             key=f"lease{i}", bucket="military_security", first_seen=now)
        for i in range(start, start + n)])
    ids = [i.id for i in stored]
    await outbox_store.enqueue(engine, ids, list(chats))
    return ids


async def states(engine, chat: int = CHAT) -> list[tuple[str, int]]:
    return [(r["state"], r["attempts"]) for r in await outbox_store.outbox_rows(engine, chat)]


async def test_a_claim_is_taken_back_only_after_its_lease(engine) -> None:
    first, _ = await queued(engine, 2)
    (row, item) = await outbox_store.claim_next(engine, CHAT, now=T0)
    assert item.id == first
    assert await outbox_store.recover(engine, lease=LEASE, now=T0 + LEASE / 2) == 0
    assert await outbox_store.claim_next(engine, CHAT, now=T0 + LEASE / 2) is None, \
        "the card in flight holds back the next one"
    assert await states(engine) == [("sending", 1), ("pending", 0)]
    assert await outbox_store.recover(engine, lease=LEASE, now=T0 + LEASE + timedelta(seconds=1)) \
        == 1
    again = await outbox_store.claim_next(engine, CHAT, now=T0 + LEASE * 2)
    assert again is not None and again[0] == row and again[1].id == first, "the same card, first"
    assert await states(engine) == [("sending", 2), ("pending", 0)]


async def test_cards_of_a_chat_are_claimed_in_order_and_chats_do_not_wait_for_each_other(
        engine) -> None:
    ids = await queued(engine, 3, chats=(CHAT, OTHER))
    row, item = await outbox_store.claim_next(engine, CHAT, now=T0)
    assert item.id == ids[0]
    assert await outbox_store.claim_next(engine, CHAT, now=T0) is None
    other = await outbox_store.claim_next(engine, OTHER, now=T0)
    assert other is not None and other[1].id == ids[0], "another chat has its own order"
    await outbox_store.release(engine, row, "timed out")  # a retry: still the first one
    row, item = await outbox_store.claim_next(engine, CHAT, now=T0)
    assert item.id == ids[0]
    await outbox_store.mark_sent(engine, row, CHAT, 1, item.id)
    _, item = await outbox_store.claim_next(engine, CHAT, now=T0)
    assert item.id == ids[1]


async def test_a_stale_release_does_not_requeue_a_card_sent_since(engine) -> None:
    (item_id,) = await queued(engine, 1)
    stale, _ = await outbox_store.claim_next(engine, CHAT, now=T0)
    await outbox_store.recover(engine, lease=LEASE, now=T0 + LEASE * 2)
    row, _ = await outbox_store.claim_next(engine, CHAT, now=T0 + LEASE * 2)
    await outbox_store.mark_sent(engine, row, CHAT, 7, item_id)
    await outbox_store.release(engine, stale, "the first sender's late timeout")
    assert await states(engine) == [("sent", 2)]


async def test_a_row_claimed_before_claims_had_a_time_counts_as_expired(engine) -> None:
    await queued(engine, 1)
    async with engine.begin() as conn:
        await conn.execute(update(outbox).values(state="sending", claimed_at=None))
    assert await outbox_store.recover(engine, lease=LEASE) == 1


async def test_two_processes_claiming_at_once_never_share_a_card(db_url) -> None:
    """Two engines (two connection pools, as two processes have) race over many chats; every
    card is claimed exactly once."""
    engines = [await open_database(db_url), await open_database(db_url, migrate=False)]
    try:
        chats = tuple(range(-1000, -1010, -1))
        await queued(engines[0], 3, chats=chats)
        claims: list[tuple[int, int]] = []

        async def drain(engine) -> None:
            for _ in range(200):
                got = False
                for chat in chats:
                    claimed = await outbox_store.claim_next(engine, chat)
                    if claimed is not None:
                        got = True
                        claims.append((claimed[0], chat))
                        await outbox_store.mark_sent(engine, claimed[0], chat, claimed[0],
                                                     claimed[1].id or 0)
                if not got:
                    return

        await asyncio.wait_for(asyncio.gather(*(drain(e) for e in engines)), WAIT)
        rows = await outbox_store.outbox_rows(engines[0])
        assert len(rows) == 30 and all(r["state"] == "sent" and r["attempts"] == 1 for r in rows)
        assert sorted(c[0] for c in claims) == sorted(r["id"] for r in rows), "each exactly once"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_postgres_skips_a_card_another_process_is_claiming(engine) -> None:
    """While another transaction holds the chat's next row locked (mid-claim), a claim returns
    None at once instead of waiting for that transaction and claiming after it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite has one writer at a time and no FOR UPDATE")
    await queued(engine, 2)
    async with engine.connect() as holder:
        transaction = await holder.begin()
        await holder.execute(select(outbox.c.id).where(outbox.c.chat_id == CHAT)
                             .order_by(outbox.c.id).limit(1).with_for_update())
        claim = asyncio.create_task(outbox_store.claim_next(engine, CHAT))
        done, _ = await asyncio.wait({claim}, timeout=WAIT)
        await transaction.rollback()
        assert done, "the claim waited for the other transaction's lock"
        assert claim.result() is None, "neither the locked card nor one after it (order)"
    claimed = await outbox_store.claim_next(engine, CHAT)
    assert claimed is not None and await states(engine) == [("sending", 1), ("pending", 0)]


@asynccontextmanager
async def bot_worker(engine, tmp_path, sources):
    """The real bot (its outbox worker started) against a Bot API stand-in: (worker, server)."""
    from monitor.bot.app import running_bot
    from monitor.config import Config
    from monitor.config.settings import load_settings
    from monitor.config.topics import load_topics

    token = "123456789:TEST-token-for-the-lease-tests_abcdef"
    with BotAPIServer(token) as server:
        settings = load_settings({
            "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_EDITOR_CHAT_IDS": f"{CHAT},{OTHER}",
            "TELEGRAM_ALLOWED_USER_IDS": "42", "TELEGRAM_API_BASE_URL": server.base_url,
            "MONITOR_TIMEZONE": "UTC", "MONITOR_STORAGE": str(tmp_path)})
        config = Config(settings, sources, load_topics(ROOT / "topics.yaml"))
        async with running_bot(config, engine, OPTIONS) as worker:
            yield worker, server


async def test_start_up_takes_back_only_expired_claims(engine, tmp_path, sources) -> None:
    """A daemon starting on a database another daemon uses: the other one's fresh claim (its
    card in flight) is left alone, neither taken back nor sent a second time; a claim whose
    lease expired (its sender died) is taken back and posted, in order. The claims are dated
    explicitly: one a second past its lease, one now (it holds for LEASE, minutes)."""
    now = datetime.now(timezone.utc)
    await queued(engine, 2, chats=(CHAT, OTHER))
    await outbox_store.claim_next(engine, CHAT, now=now - LEASE - timedelta(seconds=1))
    await outbox_store.claim_next(engine, OTHER, now=now)  # another daemon is sending it
    async with bot_worker(engine, tmp_path, sources) as (_, server):
        await until(lambda: len(server.bot_messages(CHAT)) == 2)  # past its start-up recovery
        texts = [m["text"] for m in server.bot_messages(CHAT)]
        others = server.bot_messages(OTHER)
    assert "Story 0" in texts[0] and "Story 1" in texts[1], texts
    assert await states(engine) == [("sent", 2), ("sent", 1)]
    assert others == [] and await states(engine, OTHER) == [("sending", 1), ("pending", 0)], \
        "the other daemon's card in flight is neither taken back nor sent again"
    async with engine.connect() as conn:
        claimed = (await conn.execute(select(outbox.c.claimed_at).where(
            outbox.c.chat_id == OTHER, outbox.c.state == "sending"))).scalar_one()
    assert claimed == now, "the claim is still the other daemon's"


async def test_the_running_worker_takes_back_an_expired_claim_and_posts_it(engine, tmp_path,
                                                                           sources) -> None:
    """A card claimed long ago and never finished (as after a send that raised) is posted by the
    running bot, in order, without a restart; one claimed just now is left to its sender."""
    async with bot_worker(engine, tmp_path, sources) as (worker, server):
        await queued(engine, 1, chats=(CHAT, OTHER))  # a first card: the worker is running,
        await until(lambda: all(server.bot_messages(c) for c in (CHAT, OTHER)))  # past start-up
        now = datetime.now(timezone.utc)
        ids = await queued(engine, 2, chats=(), start=1)
        async with engine.begin() as conn:  # all at once, as the running worker sees them
            for chat, claimed_at in ((CHAT, now - LEASE * 2), (OTHER, now)):
                await conn.execute(insert(outbox), [
                    {"item_id": ids[0], "chat_id": chat, "state": "sending", "attempts": 1,
                     "created_at": now, "claimed_at": claimed_at},
                    {"item_id": ids[1], "chat_id": chat, "state": "pending", "attempts": 0,
                     "created_at": now, "claimed_at": None}])
        await worker.notify([])
        await until(lambda: len(server.bot_messages(CHAT)) == 3)
        await asyncio.sleep(OPTIONS.idle * 3)  # rounds in which OTHER must stay held
        texts = [m["text"] for m in server.bot_messages(CHAT)]
        others = server.bot_messages(OTHER)
    assert "Story 1" in texts[1] and "Story 2" in texts[2], texts
    assert await states(engine) == [("sent", 1), ("sent", 2), ("sent", 1)]
    assert len(others) == 1 and [s for s, _ in await states(engine, OTHER)] == [
        "sent", "sending", "pending"], "a live claim holds its chat"


async def until(check, timeout: float = WAIT) -> None:
    """Wait until `check()` holds; fail (never measure) after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        await asyncio.sleep(0.05)


def _process_on_this_host(pid: int) -> str:
    """A process id as the leases write it (health.process_id), for another pid of this host."""
    from monitor.store.health import process_id

    host, _, _ = process_id().rsplit("-", 2)
    return f"{host}-{pid}-0badc0de"


async def test_start_up_takes_back_at_once_the_claims_of_a_dead_process_of_this_host(
        engine, tmp_path, sources) -> None:
    """A daemon killed mid-send and started again on the same host: its predecessor's claim,
    minutes inside its lease, is taken back at start-up and posted in order, not held for the
    lease. A claim by a live process of this host (here a child that sleeps) still holds."""
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        now = datetime.now(timezone.utc)
        await queued(engine, 2, chats=(CHAT, OTHER))
        await outbox_store.claim_next(engine, CHAT, now=now, owner=_process_on_this_host(gone.pid))
        await outbox_store.claim_next(engine, OTHER, now=now,
                                      owner=_process_on_this_host(alive.pid))
        async with bot_worker(engine, tmp_path, sources) as (_, server):
            await until(lambda: len(server.bot_messages(CHAT)) == 2)
            texts = [m["text"] for m in server.bot_messages(CHAT)]
            await asyncio.sleep(OPTIONS.idle * 3)  # rounds in which OTHER must stay held
            others = server.bot_messages(OTHER)
    finally:
        alive.kill()
        alive.wait()
    assert "Story 0" in texts[0] and "Story 1" in texts[1], texts
    assert await states(engine) == [("sent", 2), ("sent", 1)]
    assert others == [] and await states(engine, OTHER) == [("sending", 1), ("pending", 0)]

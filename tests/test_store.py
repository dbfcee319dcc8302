"""The store on a real SQLite file and a real PostgreSQL server (when `.ci/run` starts one)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from monitor.errors import ConfigError, HTTPStatus, RateLimited, StoreError
from monitor.models import Item
from monitor.store import health as health_store
from monitor.store import items as item_store
from monitor.store.db import async_url, open_database

T0 = datetime(2026, 11, 16, 9, 30, tzinfo=timezone.utc)


def make_item(n: int, **kw) -> Item:
    base = dict(source="tass", url=f"https://tass.com/politics/{n}", title=f"Headline {n}",
                summary=f"Lead {n}.", published=T0 + timedelta(hours=n), lang="en",
                authors=["A. Author"], key=f"key{n}")
    base.update(kw)
    return Item(**base)


async def test_insert_new_returns_only_rows_really_inserted(engine) -> None:
    first = await item_store.insert_new(engine, [make_item(1), make_item(2)])
    assert [i.key for i in first] == ["key1", "key2"]
    assert all(i.id is not None and i.first_seen is not None for i in first)
    second = await item_store.insert_new(engine, [make_item(2, title="changed"), make_item(3)])
    assert [i.key for i in second] == ["key3"]
    stored = {i.key: i for i in await item_store.find_items(engine)}
    assert stored["key2"].title == "Headline 2", "a duplicate must never rewrite the stored row"
    assert len(stored) == 3


async def test_times_round_trip_as_aware_utc(engine) -> None:
    await item_store.insert_new(engine, [make_item(1)])
    (item,) = await item_store.find_items(engine)
    assert item.published == T0 + timedelta(hours=1)
    assert item.published.utcoffset() == timedelta(0)
    assert item.authors == ["A. Author"]


async def test_find_items_filters_and_orders_newest_first(engine) -> None:
    await item_store.insert_new(engine, [
        make_item(1), make_item(2, source="kremlin", title="Talks with Xi Jinping"),
        make_item(3, bucket="military_security"), make_item(4, published=None)])
    keys = [i.key for i in await item_store.find_items(engine)]
    assert keys[0] == "key4", "an item with no published time sorts by first seen (now)"
    assert keys[1:] == ["key3", "key2", "key1"]
    assert [i.key for i in await item_store.find_items(engine, source="kremlin")] == ["key2"]
    assert [i.key for i in await item_store.find_items(engine, search="xi jin")] == ["key2"]
    assert [i.key for i in await item_store.find_items(engine, bucket="military_security")] == ["key3"]
    window = await item_store.find_items(engine, since=T0 + timedelta(hours=1, minutes=30),
                                         until=T0 + timedelta(hours=3))
    assert [i.key for i in window] == ["key2"]


async def test_unseen_skips_known_keys(engine) -> None:
    await item_store.insert_new(engine, [make_item(1)])
    fresh = await item_store.unseen(engine, [make_item(1), make_item(2)])
    assert [i.key for i in fresh] == ["key2"]


async def test_health_counts_failures_and_keeps_validators(engine) -> None:
    await health_store.record_success(engine, "tass", items=20, new=5,
                                      validators={"https://tass.com/rss/v2.xml": {"etag": '"a1"'}})
    await health_store.record_failure(engine, "tass", HTTPStatus("boom", status=503))
    health = await health_store.record_failure(engine, "tass", RateLimited("slow", retry_after=60))
    assert health.consecutive_errors == 2
    assert health.last_error_kind == "rate_limited"
    assert health.retry_after is not None
    assert health.validators == {"https://tass.com/rss/v2.xml": {"etag": '"a1"'}}
    assert health.state == "failing"
    await health_store.record_success(engine, "tass", items=3, new=0, validators={})
    health = await health_store.get_health(engine, "tass")
    assert (health.consecutive_errors, health.state, health.items_last_poll) == (0, "ok", 3)
    assert health.last_error_kind == "rate_limited", "the last error stays visible after recovery"
    assert health.validators["https://tass.com/rss/v2.xml"] == {"etag": '"a1"'}


async def test_reopening_keeps_data_and_migrations_are_idempotent(db_url: str) -> None:
    engine = await open_database(db_url)
    await item_store.insert_new(engine, [make_item(1)])
    await engine.dispose()
    engine = await open_database(db_url)
    try:
        assert len(await item_store.find_items(engine)) == 1
        async with engine.connect() as conn:
            version = (await conn.execute(text("select version_num from alembic_version"))).scalar()
        assert version == "0001" or version > "0001"
    finally:
        await engine.dispose()


def test_sqlite_file_runs_in_wal_mode(tmp_path) -> None:
    import asyncio

    async def mode() -> str:
        engine = await open_database(f"sqlite:///{tmp_path / 'w.sqlite3'}")
        async with engine.connect() as conn:
            value = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        await engine.dispose()
        return value

    assert asyncio.run(mode()) == "wal"


def test_database_urls_get_async_drivers_and_bad_ones_name_the_variable() -> None:
    assert async_url("sqlite:///storage/x.sqlite3").startswith("sqlite+aiosqlite:///")
    assert async_url("postgresql://u:p@db:5432/m").startswith("postgresql+asyncpg://u:p@db")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        async_url("mysql://x/y")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        async_url("not a url")


async def test_unreachable_postgres_is_one_store_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match="DATABASE_URL: cannot open"):
        await open_database(f"postgresql://nobody@127.0.0.1:{port}/none")

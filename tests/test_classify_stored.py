"""`monitor classify --stored`: the items `monitor import --no-classify` left unclassified in a
real SQLite store are classified in batches, get their embeddings, and are card-queued as a poll
would queue them, except those older than MONITOR_MAX_AGE (held instead); a second run finds
nothing to do. The command runs as a real subprocess with a real (tiny, trained) model.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import ROOT
from sqlalchemy import select

from monitor.models import OFF_TOPIC, Item, Label
from monitor.store.db import open_database
from monitor.store.items import insert_new
from monitor.store.schema import items as items_table
from monitor.store.schema import outbox

CHATS = (111, 222)
NAVAL = "Russia and China hold joint naval exercises"
SUMMIT = "Putin and Xi sign a statement on strategic partnership"
GAS = "Gazprom and CNPC agree on Power of Siberia 2 gas prices"
FOOTBALL = "Zenit wins the Russian football Super Cup"
SNOW = "Heavy snow expected in Moscow this weekend"


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MONITOR_STORAGE holding a model trained on five labels (the classifier is real, small)."""
    from monitor.config.topics import load_topics
    from monitor.learn.model import default_model_path
    from monitor.learn.train import train

    folder = tmp_path_factory.mktemp("storage")
    labels = [Label(NAVAL, "", "en", "military_security"),
              Label(SUMMIT, "", "en", "political_diplomatic"),
              Label(GAS, "", "en", "energy_minerals_cleantech"),
              Label(FOOTBALL, "", "en", OFF_TOPIC), Label(SNOW, "", "en", OFF_TOPIC)]
    train(labels, default_model_path(folder), load_topics(ROOT / "topics.yaml"), urls={})
    return folder


def stored(key: str, title: str, age: timedelta | None, **kw) -> Item:
    """An item as an import with --no-classify stores it (no bucket), `age` old."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return Item(key=key, source="tass", url=f"https://tass.com/{key}", title=title, lang="en",
                published=None if age is None else now - age, first_seen=now, **kw)


def classify_stored(storage: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url, MONITOR_STORAGE=str(storage), MONITOR_MAX_AGE="3d",
               MONITOR_SOURCES=str(ROOT / "sources.yaml"),
               MONITOR_TOPICS=str(ROOT / "topics.yaml"),
               TELEGRAM_EDITOR_CHAT_IDS=",".join(map(str, CHATS)))
    return subprocess.run([sys.executable, "-m", "monitor", "classify", "--stored", *args],
                          env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


async def rows(url: str) -> tuple[dict[str, dict], set[tuple[str, int]]]:
    """Every item by key, and the (item key, chat) pairs in the outbox."""
    engine = await open_database(url)
    try:
        async with engine.connect() as conn:
            by_key = {r["key"]: dict(r) for r in (await conn.execute(
                select(items_table))).mappings()}
            ids = {r["id"]: k for k, r in by_key.items()}
            cards = {(ids[r.item_id], r.chat_id) for r in await conn.execute(
                select(outbox.c.item_id, outbox.c.chat_id))}
    finally:
        await engine.dispose()
    return by_key, cards


async def test_stored_items_are_classified_in_batches_and_queued_unless_too_old(
        storage: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.sqlite3'}"
    engine = await open_database(url)
    await insert_new(engine, [
        stored("naval", NAVAL, timedelta(hours=2)),
        stored("summit-old", SUMMIT, timedelta(days=10)),  # older than MONITOR_MAX_AGE
        stored("gas-no-time", GAS, None),  # no publication time: first seen now
        stored("football", FOOTBALL, timedelta(hours=1)),
        stored("summit-kept", SUMMIT + " (kept)", timedelta(hours=1), status="kept"),
        stored("naval-held", NAVAL + " (held)", timedelta(hours=1), held=True),
        stored("done-before", "Already classified", timedelta(hours=1),
               bucket="military_security", confidence=0.9),
    ])
    await engine.dispose()

    first = classify_stored(storage, url, "--batch", "2")
    assert first.returncode == 0, first.stderr
    after, cards = await rows(url)
    assert "6 stored items classified in 3 batches" in first.stdout, first.stdout
    unclassified = [k for k in after if k != "done-before"]
    for key in unclassified:
        row = after[key]
        assert row["bucket"] is not None and row["model_version"], key
        assert 0 <= row["confidence"] <= 1 and set(row["scores"]) >= {OFF_TOPIC}
        assert len(row["embedding"]) > 0  # stories can link later imports to it
    untouched = after["done-before"]
    assert untouched["bucket"] == "military_security" and untouched["confidence"] == 0.9
    assert not untouched["model_version"] and untouched["embedding"] is None
    relevant = {k for k in unclassified if after[k]["bucket"] != OFF_TOPIC}
    assert {"naval", "summit-old", "gas-no-time"} <= relevant and "football" not in relevant
    assert after["summit-old"]["held"] and not after["naval"]["held"]
    queued = {"naval", "gas-no-time"}  # relevant, new, not held, young enough
    assert cards == {(k, chat) for k in queued for chat in CHATS}

    again = classify_stored(storage, url)
    assert again.returncode == 0, again.stderr
    assert "no unclassified stored items" in again.stdout
    assert await rows(url) == (after, cards)


def test_stored_and_eval_together_are_bad_usage(storage: Path, tmp_path: Path) -> None:
    result = classify_stored(storage, f"sqlite:///{tmp_path / 'm.sqlite3'}", "--eval")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "--stored" in result.stderr and not (tmp_path / "m.sqlite3").exists()

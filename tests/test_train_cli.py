"""`monitor train` learns from the editor's decisions stored by the bot."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

from conftest import ROOT

from monitor.models import Item
from monitor.store import decisions
from monitor.store import items as item_store
from monitor.store.db import open_database


def train(tmp_path) -> int:
    env = {**os.environ, "MONITOR_STORAGE": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-m", "monitor", "train"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return int(re.search(r": (\d+) examples", out.stdout).group(1))


async def skip_one(url: str) -> None:
    engine = await open_database(url)
    try:
        (item,) = await item_store.insert_new(engine, [Item(
            source="tass", url="https://tass.com/sport/1", title="Zenit beat Spartak 2-1",
            key="k1", bucket="political_diplomatic", lang="en",
            published=datetime(2026, 11, 16, tzinfo=timezone.utc))])
        decision = await decisions.decide(engine, item.id, rev=0, action="skip", user_id=7,
                                       user_name="editor")
        assert decision is not None
    finally:
        await engine.dispose()


def test_train_counts_the_editors_decisions(tmp_path) -> None:
    before = train(tmp_path)
    asyncio.run(skip_one(f"sqlite:///{tmp_path / 'monitor.sqlite3'}"))
    assert train(tmp_path) == before + 1

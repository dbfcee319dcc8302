"""`monitor train` learns from the editor's decisions stored by the bot, and cannot make the
classifier worse: it measures the new model on the real dev split beside the current one and
keeps the current one when recall or rejection falls (unless `--force`). Real store, real
training, real model files."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from conftest import ROOT

from monitor.config.topics import load_topics
from monitor.models import OFF_TOPIC, Item, Label
from monitor.store import items as item_store
from monitor.store.db import open_database
from monitor.store.decisions import decide

SKIPPED = ("Power of Siberia 2: What Changed?",
           "Russia and China are negotiating the route and the price of gas for the new pipeline.")
OFFTOPIC = ("Russian ballet troupe begins tour of Chinese cities",  # relevant to the model
            "The Bolshoi dancers will perform in Beijing, Shanghai and Guangzhou.")
COPIES = 5  # the same story from five outlets, all skipped (or all marked off-topic)


def cli_train(storage, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MONITOR_STORAGE": str(storage), "MONITOR_TOPICS":
           str(ROOT / "topics.yaml")}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "monitor", "train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def examples(out: str) -> int:
    return int(re.search(r": (\d+) examples", out).group(1))


async def decide_copies(url: str, text: tuple[str, str], action: str, tag: str) -> None:
    engine = await open_database(url)
    try:
        rows = await item_store.insert_new(engine, [Item(
            source="csis", url=f"https://example.org/{tag}/{n}", title=text[0], summary=text[1],
            key=f"{tag}{n}", bucket="energy_minerals_cleantech", lang="en",
            published=datetime(2026, 11, 16, tzinfo=timezone.utc)) for n in range(COPIES)])
        for row in rows:
            assert await decide(engine, row.id, rev=0, action=action, user_id=7,
                                user_name="editor") is not None
    finally:
        await engine.dispose()


def relevance(model_path, text: tuple[str, str]) -> float:
    from monitor.pipeline.classify import load_classifier

    clf = load_classifier(model_path=model_path, topics=ROOT / "topics.yaml")
    [item] = clf.classify([Item(source="csis", url="https://example.org/x", title=text[0],
                                summary=text[1], lang="en")])
    return 1 - item.scores[OFF_TOPIC]


def load_config(storage):
    from monitor.bootstrap import load
    from monitor.config.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MONITOR_STORAGE", str(storage))
        mp.setenv("MONITOR_TOPICS", str(ROOT / "topics.yaml"))
        mp.delenv("DATABASE_URL", raising=False)
        return load(load_settings())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A storage directory after a first `monitor train` (no model before it), run in-process
    (the embeddings of our labelled set are then shared with the other tests)."""
    from monitor.commands.learn import run_train

    storage = tmp_path_factory.mktemp("storage")
    out = io.StringIO()
    assert run_train(load_config(storage), out=out) == 0
    return storage, out.getvalue()


def test_first_train_prints_figures_and_writes_the_model(trained) -> None:
    storage, out = trained
    assert "before" not in out  # nothing to compare with
    assert re.search(r"after all: n=639 relevant_recall=0\.9\d\d off_topic_recall=", out)
    for lang in ("en", "ru", "zh"):
        assert f"after {lang}: n=" in out
    assert (storage / "model" / "classifier.npz").exists()
    assert not list((storage / "model").glob("candidate-*"))


def test_skip_teaches_nothing_and_offtopic_teaches_off_topic(trained) -> None:
    """Through the real command: decisions stored by the bot's store code, `monitor train`."""
    storage, first = trained
    path = storage / "model" / "classifier.npz"
    skipped_before, offtopic_before = relevance(path, SKIPPED), relevance(path, OFFTOPIC)
    url = f"sqlite:///{storage / 'monitor.sqlite3'}"
    asyncio.run(decide_copies(url, SKIPPED, "skip", "s"))
    asyncio.run(decide_copies(url, OFFTOPIC, "offtopic", "o"))
    out = cli_train(storage)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "before all: n=639" in out.stdout and "after all: n=639" in out.stdout
    assert examples(out.stdout) == examples(first) + COPIES  # the off-topic presses only
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["by_origin"]["editor-offtopic"] == COPIES
    assert "editor-skip" not in meta["by_origin"]
    threshold = load_topics(ROOT / "topics.yaml").relevance_threshold
    assert skipped_before >= threshold and offtopic_before >= threshold
    assert relevance(path, SKIPPED) >= threshold  # a skipped relevant story stays relevant
    assert relevance(path, SKIPPED) == pytest.approx(skipped_before, abs=0.02)
    assert relevance(path, OFFTOPIC) < offtopic_before - 0.2  # the press changed the training


def test_cli_help_offers_force() -> None:
    from click.testing import CliRunner

    from monitor.cli import main

    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0 and "--force" in result.output


@pytest.fixture()
def config(trained):
    return load_config(trained[0])


def test_a_retrain_that_loses_recall_is_refused_unless_forced(config, trained) -> None:
    from monitor.commands.learn import run_train
    from monitor.learn.train import LABELS_DIR, labels_from_jsonl

    storage, _ = trained
    path = storage / "model" / "classifier.npz"
    # An editor who presses Off-topic on every relevant story of our train split.
    harmful = [Label(e.title, e.summary, e.lang, e.bucket, origin="editor-offtopic")
               for e in labels_from_jsonl(LABELS_DIR / "real-train.jsonl") if e.bucket != OFF_TOPIC]
    version = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["version"]
    out = io.StringIO()
    assert run_train(config, harmful, out=out) == 1
    text = out.getvalue()
    assert "before all:" in text and "after all:" in text and "refused: relevant_recall" in text
    assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["version"] == version
    assert not list(path.parent.glob("candidate-*"))
    out = io.StringIO()
    assert run_train(config, harmful, force=True, out=out) == 0
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["version"] != version and meta["by_origin"]["editor-offtopic"] == len(harmful)
    assert "refused" not in out.getvalue()

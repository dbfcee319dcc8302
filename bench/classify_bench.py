"""Classifier speed on one core: model load time and items/s including embeddings.

Targets (issue 4): >= 200 items/s, model load <= 3 s. Run from the repo root:

    .venv/bin/python bench/classify_bench.py [--items 2000]

BLAS is pinned to one thread before numpy loads, so the figure is per core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.models import Item  # noqa: E402

DEV = ROOT / "tests" / "fixtures" / "classify" / "dev.jsonl"


def items(n: int) -> list[Item]:
    """n items cycled from the dev set, each made unique so nothing can be cached."""
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    return [Item(source="bench", url=f"https://example.org/{i}",
                 title=f"{rows[i % len(rows)]['title']} ({i})",
                 summary=rows[i % len(rows)]["summary"], lang=rows[i % len(rows)]["lang"])
            for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    from monitor.learn.train import default_examples, train
    from monitor.pipeline.classify import load_classifier

    with tempfile.TemporaryDirectory() as tmp:
        path = train(default_examples(), Path(tmp) / "classifier.npz")
        import monitor.learn.embed as embed_module

        embed_module._model = None  # measure a cold load of the embedder too
        start = time.perf_counter()
        classifier = load_classifier(model_path=path, topics=ROOT / "topics.yaml")
        classifier.classify(items(1))  # ready to serve: the embedder's weights are loaded
        load = time.perf_counter() - start
        start = time.perf_counter()
        load_classifier(model_path=Path(tmp) / "missing.npz", topics=ROOT / "topics.yaml")
        seed_load = time.perf_counter() - start
    batch = items(args.items)
    start = time.perf_counter()
    for i in range(0, len(batch), 256):
        classifier.classify(batch[i:i + 256])
    spent = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(1000):
        classifier.reload_if_changed()
    check = (time.perf_counter() - start) / 1000
    print(f"model load (model file + embedder, to first item): {load:.2f} s   (target <= 3 s)")
    print(f"seed-term fallback load (no model file):          {seed_load:.2f} s")
    print(f"classify: {len(batch)} items in {spent:.2f} s = {len(batch) / spent:.0f} items/s "
          f"on one core   (target >= 200)")
    print(f"reload_if_changed(): {check * 1e6:.1f} µs per call")


if __name__ == "__main__":
    main()

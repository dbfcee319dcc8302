"""Event-loop lag during one poll of a 13 MB feed: now, and at a baseline revision.

Prints figures; it asserts nothing. Run from the repo root:

    .venv/bin/python bench/loop.py [--mb 13] [--baseline REV] [--no-classify]

Goal (issue 14): the longest stall of the daemon's event loop during the poll under 100 ms.

What runs is the poll `monitor run` makes: `Daemon.poll` (monitor/daemon/run.py: the source's
lease, its health row, `pipeline.run.run_source`: fetch, the parse in a budgeted worker process
(monitor/adapters/budget.py), normalize, unseen, classify, story linking, store, notify, the
health row again) on a pipeline from `open_pipeline`, as the daemon opens it, with a fresh
SQLite store, no Telegram token (candidates go to the log, written to a file) and
MONITOR_MAX_AGE=0 (every item is a candidate). The feed is served by the replay server
(monitor/replay/server.py) on 127.0.0.1: the Kremlin's recorded Atom feed
(../shared/fixtures/feeds/kremlin) with its 20 entries repeated, each copy with its own id,
link and title suffix and its times moved back an hour per round, until the body is `--mb` MB
(without ../shared, a synthetic Atom feed of the same size; the output says which).

While the poll runs, a probe coroutine on the same loop sleeps 10 ms at a time and records by
how much each wake-up was late: p50/p99/max lag is that lateness, "stalls > 100 ms" how many
wake-ups were later than that. "load" is the machine's one-minute load average after the run:
on a machine whose cores are busy with other work the loop thread waits for a core too, which
no change to the poll can help. The classifier has loaded and the embedder is warm before the
poll starts (the daemon loads them once, at start-up). A tree without a model classifies with
its seed model, as a fresh install does. With the classifier a poll takes minutes (the e5
encoder, ~40 ms a text); `--no-classify` opens the pipeline as `monitor import --no-classify`
would, and takes seconds.

The comparison is the same run of the baseline revision (`--baseline`, default the main before
the poll's processing moved off the loop), its `monitor/` package and topics.yaml read with
`git archive` as bench/startup.py does; each tree runs in its own interpreter, one after the
other.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from startup import baseline_tree  # bench/ is the script's folder: on sys.path

ROOT = Path(__file__).resolve().parents[1]
KREMLIN = ROOT.parent / "shared" / "fixtures" / "feeds" / "kremlin" / \
    "en-president-news-feed-atom-2020-08-27.xml"
BASELINE = "3b3a454"  # main while normalize and story linking ran on the loop thread
GOAL_MS = 100.0
TICK = 0.010  # the probe's sleep

# The child: one poll through the tree on sys.path[0]; prints one JSON line of figures.
CHILD = r'''
import asyncio, json, logging, os, sys, threading, time
from pathlib import Path

from monitor.bootstrap import load
from monitor.config.settings import load_settings
from monitor.daemon.http import Readiness
from monitor.daemon.run import Daemon, log_alert
from monitor.logs import setup_logging
from monitor.pipeline.run import open_pipeline
from monitor.replay.server import ReplayServer, Route
from monitor.store import items as item_store

TICK = float(sys.argv[2])


async def probe(lags, stop):
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(TICK)
        lags.append(loop.time() - before - TICK)


async def main(body, classify):
    config = load(load_settings())
    source = config.sources["bench"]
    async with open_pipeline(config, classify=classify) as pipeline:
        if classify:
            await pipeline.ready_classifier()
            await asyncio.to_thread(pipeline.embed, ["warm-up"])
        daemon = Daemon(config, pipeline, log_alert, Readiness(pipeline.engine), None)
        lags, stop = [], asyncio.Event()
        probing = asyncio.create_task(probe(lags, stop))
        await asyncio.sleep(0.2)  # the probe's own baseline
        started = time.perf_counter()
        await daemon.poll(source)
        took = time.perf_counter() - started
        stop.set()
        await probing
        stored = await item_store.find_items(pipeline.engine)
    lags.sort()
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1000
    print(json.dumps({"p50": pick(0.50), "p99": pick(0.99), "max": lags[-1] * 1000,
                      "stalls": sum(lag > 0.1 for lag in lags), "wakeups": len(lags),
                      "stored": len(stored), "poll_s": took}), flush=True)


body = Path(sys.argv[1]).read_bytes()
classify = sys.argv[3] == "1"
with ReplayServer() as server:
    server.route("/feed", Route(body=body, headers={"Content-Type": "application/atom+xml"}))
    storage = Path(os.environ["MONITOR_STORAGE"])
    Path(os.environ["MONITOR_SOURCES"]).write_text(
        "sources:\n  - id: bench\n    name: Bench\n    outlet: Bench\n    adapter: rss\n"
        f"    urls: ['{server.url('/feed')}']\n    language: en\n    interval: 1h\n"
        "    timezone: Europe/Moscow\n", encoding="utf-8")
    setup_logging("INFO")  # as `monitor run`: the candidates' lines go to the child's stderr
    asyncio.run(main(body, classify))
'''


def kremlin_feed(size: int) -> bytes | None:
    """The recorded Kremlin feed's entries repeated to `size` bytes (None without ../shared)."""
    if not KREMLIN.exists():
        return None
    text = KREMLIN.read_text(encoding="utf-8")
    head, _, rest = text.partition("<entry>")
    entries = ["<entry>" + e.split("</entry>")[0] + "</entry>" for e in rest.split("<entry>")]
    tail = "</feed>"
    out, total, round_ = [], len(head) + len(tail), 0
    stamp = re.compile(r"<(published|updated)>2020-08-(\d\d)T(\d\d)")
    while total < size:
        for entry in entries:
            url = re.search(r"<id>([^<]+)</id>", entry)
            assert url is not None
            copy = entry.replace(url.group(1), f"{url.group(1)}-{round_}")
            copy = re.sub(r"<title>([^<]*)</title>", rf"<title>\1 ({round_})</title>", copy,
                          count=1)
            copy = stamp.sub(functools.partial(_earlier, hours=round_), copy)
            out.append(copy)
            total += len(copy.encode())
        round_ += 1
    return (head + "".join(out) + tail).encode()


def _earlier(match: re.Match[str], hours: int) -> str:
    """The stamp `hours` earlier (whole hours: the day and hour fields only)."""
    day, hour = int(match.group(2)), int(match.group(3)) - hours
    day, hour = day + hour // 24, hour % 24
    month, day = (8, day) if day >= 1 else (7, 31 + day)
    return f"<{match.group(1)}>2020-{month:02d}-{day:02d}T{hour:02d}"


def synthetic_feed(size: int) -> bytes:
    """An Atom feed of invented entries about the Kremlin feed's size each."""
    head = ('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>Bench</title><id>http://127.0.0.1/feed</id>")
    out, total, n = [head], len(head), 0
    words = ("Putin Xi Lavrov Wang Yi Moscow Beijing talks gas pipeline trade summit "
             "cooperation partnership security energy").split()
    while total < size:
        body = " ".join(words[(n + k) % len(words)] for k in range(900))
        entry = (f"<entry><title>{words[n % len(words)]} and {words[(n * 7) % len(words)]} "
                 f"meet ({n})</title><id>http://127.0.0.1/news/{n}</id>"
                 f'<link href="http://127.0.0.1/news/{n}" rel="alternate"/>'
                 f"<published>2020-08-{27 - (n // 500) % 20:02d}T{n % 24:02d}:00:00+04:00"
                 f"</published><summary>{body[:400]}</summary><content>{body}</content></entry>")
        out.append(entry)
        total += len(entry)
        n += 1
    return ("".join(out) + "</feed>").encode()


def run_tree(tree: Path, feed: Path, tmp: Path, classify: bool) -> dict | str:
    """The figures of one poll through `tree`, or the error's last lines."""
    tmp.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MONITOR_"))}
    env.pop("DATABASE_URL", None)
    env.update(MONITOR_SOURCES=str(tmp / "sources.yaml"), MONITOR_STORAGE=str(tmp / "storage"),
               MONITOR_TOPICS=str(tree / "topics.yaml"), MONITOR_HOST_DELAY="0",
               MONITOR_RETRIES="0", MONITOR_MAX_AGE="0", MONITOR_EXPORT_AT="",
               PYTHONPATH=str(tree))
    log = tmp / "stderr.log"
    with log.open("w", encoding="utf-8") as err:
        done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, "
                               f"{str(tree)!r}); exec(compile({CHILD!r}, 'loop-child', 'exec'))",
                               str(feed), str(TICK), "1" if classify else "0"],
                              cwd=tree, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        return "failed: " + " | ".join(log.read_text(encoding="utf-8").splitlines()[-5:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=13.0, help="feed size in MB")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with "
                        "('' for none)")
    parser.add_argument("--no-classify", action="store_true",
                        help="open the pipeline without the classifier and embedder")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    body = kremlin_feed(size)
    what = "the recorded Kremlin feed's entries repeated"
    if body is None:
        print(f"../shared is absent ({KREMLIN.relative_to(ROOT.parent)}): a synthetic feed")
        body, what = synthetic_feed(size), "synthetic entries"
    entries = body.count(b"<entry>")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        feed = tmp / "feed.xml"
        feed.write_bytes(body)
        trees = [("now", ROOT)]
        if args.baseline:
            old = baseline_tree(args.baseline, tmp / "baseline")
            if old is None:
                print(f"baseline {args.baseline}: not available (git archive failed)")
            else:
                trees.append((f"at {args.baseline}", old))
        classify = "no classifier" if args.no_classify else "classifier and embedder loaded"
        print(f"one daemon poll of a {len(body) / 1e6:.1f} MB feed ({entries} entries, {what}; "
              f"{classify}); probe sleeps {TICK * 1000:.0f} ms; goal max lag < {GOAL_MS:.0f} ms")
        print(f"{'tree':<14}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>9}{'stalls>100ms':>14}"
              f"{'stored':>8}{'poll s':>8}{'load':>7}")
        for label, tree in trees:
            got = run_tree(tree, feed, tmp / label.replace(" ", "-"), not args.no_classify)
            if isinstance(got, str):
                print(f"{label:<14}{got}")
                continue
            print(f"{label:<14}{got['p50']:>8.1f}{got['p99']:>8.1f}{got['max']:>9.1f}"
                  f"{got['stalls']:>14}{got['stored']:>8}{got['poll_s']:>8.1f}"
                  f"{os.getloadavg()[0]:>7.1f}")


if __name__ == "__main__":
    main()

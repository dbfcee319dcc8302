"""Start-up: how long the CLI and the daemon take before they do anything, now and at a baseline.

Prints figures; it asserts nothing. Run from the repo root:

    .venv/bin/python bench/startup.py [--runs 5] [--baseline REV] [--model DIR]

1. Import time, each in a fresh interpreter (best of --runs, interpreter start excluded), of the
   CLI (`monitor.cli`), the `monitor fetch` path (`monitor.commands.sources`) and the daemon
   path (`monitor.daemon.run`), for this checkout and for the baseline revision (its `monitor/`
   package read with `git archive`), with the modules the issue names (alembic, python-docx)
   marked when a path imports them.
2. Start-up to the first poll's request: `monitor fetch ID` and `monitor run` against one
   feed served from 127.0.0.1, from process start to the request arriving, on a store that
   exists already (as on a restart). Each tree gets its own store and a model trained by its
   own code on five labels (`--model DIR`: copy that `model` folder instead), since without a
   model the classifier fits its seed-term model at start-up, which would be all of the figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "0677c5f"  # main before start-up stopped importing alembic
PATHS = {"cli": "monitor.cli", "monitor fetch": "monitor.commands.sources",
         "monitor run": "monitor.daemon.run"}
HEAVY = ("alembic", "docx", "telegram")
GOAL_S = 2.0
TIMED_IMPORT = """
import sys, time
start = time.perf_counter()
import {module}
took = time.perf_counter() - start
print(took, ",".join(m for m in {heavy!r} if m in sys.modules))
"""
TINY_MODEL = """
import sys
from pathlib import Path
from monitor.config.topics import load_topics
from monitor.learn.model import default_model_path
from monitor.learn.train import train
from monitor.models import Label
labels = [Label(t, "", "en", b) for t, b in [
    ("Russia and China hold joint naval exercises", "military_security"),
    ("Putin and Xi sign a statement on strategic partnership", "political_diplomatic"),
    ("Zenit wins the Russian football Super Cup", "off_topic"),
    ("Heavy snow expected in Moscow this weekend", "off_topic")]]
train(labels, default_model_path(Path(sys.argv[1])), load_topics(Path(sys.argv[2])), urls={})
"""
FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
        b"<item><title>Lavrov and Wang Yi discuss the Ukraine settlement</title>"
        b"<link>http://127.0.0.1/a/1</link><guid>bench-1</guid>"
        b"<pubDate>Fri, 20 Nov 2026 12:00:00 +0000</pubDate></item></channel></rss>")


def import_time(module: str, cwd: Path, runs: int) -> tuple[float, str]:
    """(best seconds, heavy modules imported) for `import module` in a fresh interpreter."""
    best, heavy = float("inf"), ""
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", TIMED_IMPORT.format(module=module,
                                                                          heavy=HEAVY)],
                             cwd=cwd, capture_output=True, text=True, check=True).stdout.split()
        if float(out[0]) < best:
            best, heavy = float(out[0]), out[1] if len(out) > 1 else ""
    return best, heavy


def baseline_tree(rev: str, into: Path) -> Path | None:
    """The baseline's `monitor/` package and topics.yaml unpacked into `into` (None without git
    or that rev)."""
    try:
        data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "monitor", "topics.yaml"],
                              capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=BytesIO(data)) as archive:
        archive.extractall(into, filter="data")
    return into


class Feed(BaseHTTPRequestHandler):
    """Serves FEED and records when the first request arrived."""

    first: float | None = None

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if Feed.first is None:
            Feed.first = time.perf_counter()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *_args: object) -> None:
        pass


def first_request(args: list[str], env: dict[str, str], cwd: Path) -> float | None:
    """Seconds from starting `monitor ARGS` to its first request (None: none within 300 s);
    the process is then stopped with SIGTERM (the daemon) or left to finish (fetch)."""
    Feed.first = None
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "monitor", *args], env=env, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while Feed.first is None and process.poll() is None and \
                time.perf_counter() - start < 300:
            time.sleep(0.005)
        return None if Feed.first is None else Feed.first - start
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def environment(tmp: Path, port: int, model: Path | None, cwd: Path) -> dict[str, str]:
    """A store with its model (see the module's docstring) and a sources.yaml with one feed on
    127.0.0.1, made by the tree in `cwd`."""
    tmp.mkdir(parents=True)
    sources = tmp / "sources.yaml"
    sources.write_text(
        "sources:\n  - id: bench\n    name: Bench\n    outlet: Bench\n    adapter: rss\n"
        f"    urls: [http://127.0.0.1:{port}/feed]\n    language: en\n    interval: 1h\n",
        encoding="utf-8")
    storage = tmp / "storage"
    storage.mkdir()
    topics = cwd / "topics.yaml"  # the tree's own: its keys change with the code
    if model is not None:
        shutil.copytree(model, storage / "model")
    else:
        subprocess.run([sys.executable, "-c", TINY_MODEL, str(storage), str(topics)], cwd=cwd,
                       check=True, capture_output=True)
    env = dict(os.environ, MONITOR_SOURCES=str(sources), MONITOR_STORAGE=str(storage),
               MONITOR_TOPICS=str(topics), MONITOR_HOST_DELAY="0",
               MONITOR_HTTP_ADDR="127.0.0.1:0", MONITOR_MAX_AGE="0",
               DATABASE_URL=f"sqlite:///{storage}/monitor.sqlite3", TELEGRAM_BOT_TOKEN="")
    subprocess.run([sys.executable, "-m", "monitor", "sources"], env=env, cwd=cwd, check=True,
                   capture_output=True)  # the store exists, as on a restart
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--model", type=Path, default=None,
                        help="a trained model folder (storage/model) to start with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        old = baseline_tree(args.baseline, tmp / "baseline") if args.baseline else None
        print(f"import time, best of {args.runs} (heavy modules imported in brackets)")
        print(f"{'path':<16}{'now':>10}{'':<22}{f'at {args.baseline}':>12}")
        for label, module in PATHS.items():
            now, heavy = import_time(module, ROOT, args.runs)
            line = f"{label:<16}{now:>8.2f} s  [{heavy or '-'}]"
            if old is not None:
                then, heavy_then = import_time(module, old, args.runs)
                line = f"{line:<48}{then:>6.2f} s  [{heavy_then or '-'}]"
            print(line)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        model = "the --model given" if args.model else "a model trained on four labels"
        print(f"start-up to the first poll's request, best of {min(args.runs, 3)} ({model}; "
              f"goal {GOAL_S:.0f} s)")
        for tree, cwd in (("now", ROOT), (f"at {args.baseline}", old)):
            if cwd is None:
                continue
            env = environment(tmp / tree.replace(" ", "-"), server.server_address[1],
                              args.model, cwd)
            for label, command in (("monitor fetch", ["fetch", "bench"]),
                                   ("monitor run", ["run"])):
                tries = [first_request(command, env, cwd) for _ in range(min(args.runs, 3))]
                seconds = min((t for t in tries if t is not None), default=None)
                shown = "no request" if seconds is None else f"{seconds:.2f} s"
                print(f"{label:<16}{tree:<14}{shown:>10}")
        server.shutdown()


if __name__ == "__main__":
    main()

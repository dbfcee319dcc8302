"""The whole pipeline against a real HTTP server on 127.0.0.1, through the real CLI.

One source answers well, the others refuse connections, answer 500, serve malformed XML or a
200 with an empty channel: the good one is fetched and stored, each broken one shows in
`monitor sources` with its error class, and nothing stored is lost by a failed poll.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from monitor.replay.faults import closed_port
from monitor.replay.server import ReplayServer, Route

FEED = (FIXTURES / "feeds" / "pipeline" / "world.xml").read_bytes()
EMPTY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'


def write_sources(path: Path, entries: dict[str, str]) -> None:
    lines = ["sources:"]
    for sid, url in entries.items():
        lines += [f"  - id: {sid}", f"    name: {sid}", "    adapter: rss", f"    urls: ['{url}']",
                  "    language: en", "    interval: 5m", "    timezone: Europe/Moscow"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def monitor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MONITOR_SOURCES": str(tmp_path / "sources.yaml"),
           "MONITOR_STORAGE": str(tmp_path / "storage"), "MONITOR_HOST_DELAY": "0",
           "MONITOR_RETRIES": "0", "MONITOR_TIMEOUT": "5", "MONITOR_DEADLINE": "10"}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def health(tmp_path: Path) -> dict[str, dict]:
    out = monitor(tmp_path, "sources", "--json")
    assert out.returncode == 0, out.stderr
    return {row["id"]: row for row in map(json.loads, out.stdout.splitlines())}


@pytest.fixture
def server():
    with ReplayServer() as srv:
        srv.route("/good.xml", Route(body=FEED, headers={
            "Content-Type": "application/rss+xml", "ETag": '"v1"'}))
        srv.route("/500.xml", Route(status=500, body=b"Internal Server Error"))
        srv.route("/bad.xml", Route(body=b"<?xml version='1.0'?><rss><channel><item><title>x",
                                    headers={"Content-Type": "text/xml"}))
        srv.route("/empty.xml", Route(body=EMPTY, headers={"Content-Type": "text/xml"}))
        yield srv


def test_broken_sources_show_their_error_class_and_never_stop_the_others(tmp_path, server):
    write_sources(tmp_path / "sources.yaml", {
        "good": server.url("/good.xml"), "refused": f"http://127.0.0.1:{closed_port()}/feed",
        "error500": server.url("/500.xml"), "malformed": server.url("/bad.xml"),
        "emptyfeed": server.url("/empty.xml")})
    out = monitor(tmp_path, "fetch")
    assert out.returncode == 1, "a failed source makes `monitor fetch` exit 1"
    assert "good" in out.stdout and "3 items, 3 new" in out.stdout
    rows = health(tmp_path)
    assert rows["good"]["health"] == "ok" and rows["good"]["items_last_poll"] == 3
    assert rows["good"]["etag"] == {server.url("/good.xml"): '"v1"'}
    kinds = {sid: rows[sid]["last_error_kind"] for sid in ("refused", "error500", "malformed",
                                                           "emptyfeed")}
    assert kinds == {"refused": "connect", "error500": "http_5xx", "malformed": "malformed",
                     "emptyfeed": "empty"}
    assert all(rows[sid]["health"] == "failing" for sid in kinds)
    listing = monitor(tmp_path, "sources").stdout
    assert "failing: http_5xx" in listing and "ok: 3 items" in listing

    stored = monitor(tmp_path, "items", "--json")
    items = [json.loads(line) for line in stored.stdout.splitlines()]
    assert {i["url"] for i in items} == {"https://example.org/world/1001",
                                         "https://example.org/economy/1002",
                                         "https://example.org/sport/1003"}
    first = next(i for i in items if i["url"].endswith("1001"))
    assert first["published"] == "2026-11-16T06:30:00Z"
    assert "\xa0" not in first["summary"] and "met Chinese" in first["summary"]


def test_conditional_get_and_a_failed_poll_keep_what_is_stored(tmp_path, server):
    write_sources(tmp_path / "sources.yaml", {"good": server.url("/good.xml")})
    assert monitor(tmp_path, "fetch", "good").returncode == 0
    again = monitor(tmp_path, "fetch", "good")
    assert again.returncode == 0 and "0 items, 0 new" in again.stdout
    assert server.hits("/good.xml")[-1].headers.get("if-none-match") == '"v1"'

    server.route("/good.xml", Route(body=b"<html><body>Maintenance</body></html>",
                                    headers={"Content-Type": "text/html"}))
    failed = monitor(tmp_path, "fetch", "good")
    assert failed.returncode == 1 and "malformed" in failed.stdout
    row = health(tmp_path)["good"]
    assert row["consecutive_errors"] == 1
    assert row["etag"] == {server.url("/good.xml"): '"v1"'}, "a failed poll keeps the validators"
    stored = monitor(tmp_path, "items", "--json").stdout.splitlines()
    assert len(stored) == 3, "a failed poll never loses stored items"


def test_unknown_source_id_is_one_line_and_exit_2(tmp_path, server):
    write_sources(tmp_path / "sources.yaml", {"good": server.url("/good.xml")})
    out = monitor(tmp_path, "fetch", "nosuch")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["monitor: unknown source 'nosuch' (see `monitor sources`)"]

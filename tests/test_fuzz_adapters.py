"""Every adapter's recorded cases, mutated by hypothesis: cut short, bytes flipped, a tag
dropped, an entry duplicated, the charset swapped, a huge attribute added.

Whatever the mutation, the adapter (and normalize after it) either answers with items or with
one of `monitor.errors`' one-line errors; never another exception. Every field of an item is a
string or null (authors a list of strings) and every URL is absolute http(s). A few examples
per adapter keep the whole file to seconds (`deadline=None`: a slow machine is not a
failure). Recorded bodies under ../shared are read where they are, at test time; an adapter
whose cases are all there is skipped, saying so, when ../shared is absent.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import re
import traceback
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

import pytest
from conftest import FIXTURES, ROOT, SHARED
from hostile import long_author_feed, source
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from monitor.adapters import budget, get_adapter
from monitor.adapters.base import parse_checked
from monitor.adapters.rss import MAX_AUTHOR
from monitor.errors import MonitorError
from monitor.fetch.saved import read_saved
from monitor.models import RawResponse
from monitor.pipeline.normalize import normalize

CASES = [json.loads(p.read_text(encoding="utf-8"))
         for p in sorted((FIXTURES / "adapters").glob("*.json"))]
TAG = re.compile(rb"<[^<>]{1,200}>")
ENTRY = re.compile(rb"<(item|entry|url|li|a)\b")
CHARSETS = (b"utf-8", b"UTF-8", b"gb2312", b"GBK", b"windows-1251", b"iso-8859-1", b"utf-16")
TEXT_FIELDS = ("key", "source", "url", "title", "summary", "published", "lang")
EXAMPLES = 15  # per adapter: about 20 s for the file on a loaded two-core machine
BUDGET = 10.0  # seconds one mutated response may take to parse


def adapters_of_cases() -> list[str]:
    """The adapters that have recorded cases (collected without reading any body)."""
    from monitor.adapters import ADAPTERS
    from monitor.config.sources import load_sources

    sources = {s.id: s for s in load_sources(ROOT / "sources.yaml", ADAPTERS)}
    return sorted({sources[c["source"]].adapter for c in CASES})


def recorded(adapter: str, sources: dict) -> list[tuple[RawResponse, object]]:
    """The adapter's recorded responses with their sources; skips when none can be read."""
    found, absent = [], 0
    for case in CASES:
        source = sources[case["source"]]
        if source.adapter != adapter:
            continue
        kind, _, rel = case["body"].partition(":")
        path = (SHARED / "fixtures" / "feeds" / rel) if kind == "shared" else (
            FIXTURES / "feeds" / rel)
        if not path.exists():
            absent += 1
            continue
        found.append((read_saved(path, case["url"]), source))
    if not found:
        pytest.skip(f"needs ../shared beside the checkout: all {absent} recorded cases of "
                    f"{adapter} are under ../shared/fixtures/feeds")
    return found


@st.composite
def mutated(draw: st.DrawFn, body: bytes) -> tuple[str, bytes, str | None]:
    """(mutation, body, a swapped Content-Type charset or None)."""
    kind = draw(st.sampled_from(["truncate", "flip", "drop tag", "duplicate entry",
                                 "charset", "huge attribute"]))
    size = max(len(body), 1)
    if kind == "truncate":
        return kind, body[:draw(st.integers(0, size - 1))], None
    if kind == "flip":
        out = bytearray(body)
        for _ in range(draw(st.integers(1, 8))):
            if out:
                out[draw(st.integers(0, len(out) - 1))] ^= draw(st.integers(1, 255))
        return kind, bytes(out), None
    tags = list(TAG.finditer(body[:200_000]))
    if kind == "drop tag" and tags:
        tag = tags[draw(st.integers(0, len(tags) - 1))]
        return kind, body[:tag.start()] + body[tag.end():], None
    if kind == "duplicate entry":
        starts = [m.start() for m in ENTRY.finditer(body[:200_000])]
        if len(starts) >= 2:
            n = draw(st.integers(0, len(starts) - 2))
            piece = body[starts[n]:starts[n + 1]]
            return kind, body[:starts[n + 1]] + piece + body[starts[n + 1]:], None
    if kind == "charset":
        new = draw(st.sampled_from(CHARSETS))
        swapped = body
        for name in CHARSETS:
            swapped = swapped.replace(name, new)
        return kind, swapped, new.decode()
    if tags:  # a huge attribute (or a mutation with nothing to act on falls back to this)
        at = tags[draw(st.integers(0, len(tags) - 1))].start() + 2
        return "huge attribute", body[:at] + b' data-x="' + b"A" * 200_000 + b'" ' + body[at:], None
    return "truncate", body[:size // 2], None


def within_budget(raw: RawResponse, source, budget: float = BUDGET) -> None:
    """`check_items` in a forked child, stopped after BUDGET seconds: a mutation that makes a
    parser run away is a failure that names itself, not a suite that never ends."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    proc = context.Process(target=_report, args=(raw, source, child))
    proc.start()
    ready = parent.poll(budget)
    if not ready:
        proc.kill()
    proc.join()
    assert ready, f"{source.adapter}: parsing took over {budget:.0f} s (no parse budget)"
    problem = parent.recv()
    assert problem is None, problem


def _report(raw: RawResponse, source, conn: Connection) -> None:
    try:
        check_items(raw, source)
        conn.send(None)
    except BaseException:  # noqa: BLE001 - sent to the parent, which fails the test with it
        conn.send(traceback.format_exc(limit=-8))


def check_items(raw: RawResponse, source) -> None:
    """One-line errors only; every field a string or null; every URL absolute http(s)."""
    adapter = get_adapter(source.adapter)
    try:
        items = [normalize(i, source, raw.url) for i in parse_checked(adapter.parse, raw, source)]
    except MonitorError as exc:
        assert str(exc) and "\n" not in str(exc), repr(str(exc))
        return
    for item in items:
        data = item.to_json()
        for name in TEXT_FIELDS:
            assert data[name] is None or isinstance(data[name], str), (name, data[name])
        assert all(isinstance(a, str) for a in data["authors"]), data["authors"]
        parts = urlsplit(item.url)
        assert parts.scheme in ("http", "https") and parts.netloc, item.url


@pytest.mark.parametrize("adapter", adapters_of_cases())
def test_mutated_recorded_responses_give_items_or_one_line_errors(adapter: str,
                                                                  sources: dict) -> None:
    cases = recorded(adapter, sources)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],  # no shrinking: a stall costs BUDGET
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        raw, source = cases[data.draw(st.integers(0, len(cases) - 1), label="case")]
        _, body, charset = data.draw(mutated(raw.content), label="mutation")
        headers = dict(raw.headers)
        if charset is not None:
            headers["Content-Type"] = f"text/html; charset={charset}"
        within_budget(RawResponse(url=raw.url, content=body, status=raw.status, headers=headers),
                    source)

    fuzz()


def test_a_long_author_name_parses_within_a_two_second_parse_budget() -> None:
    """Found by the fuzz above (a huge attribute that ended up inside dc:creator): feedparser
    looks for an e-mail address in an author name with a pattern quadratic in its length (50 KB:
    over a minute). The rss adapter cuts author names to MAX_AUTHOR characters before feedparser
    reads them, so the item comes out, its byline cut, well within the budget."""
    raw = RawResponse(url="https://example.org/feed", content=long_author_feed(50_000))
    items = budget.parse(functools.partial(parse_checked, get_adapter("rss").parse), raw,
                         source("rss"), budget.Budget(seconds=2.0))
    assert [item.title for item in items] == ["Lavrov meets Wang Yi"]
    assert items[0].authors == ["A" * MAX_AUTHOR]

"""`monitor.fetch.client` against a real HTTP server on 127.0.0.1 (monitor/replay/server.py), one fault per test.

Timeouts, backoffs and caps are shrunk so the whole file runs in a few seconds; each test checks
both the error class and what the server saw (how many requests, which headers, when).
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import zlib
from datetime import datetime, timezone
from email.utils import format_datetime

import httpx
import pytest
from conftest import shared_path

from monitor.adapters.helpers import decode
from monitor.errors import (
    BadRedirect,
    ConnectFailed,
    ErrorPage,
    FetchError,
    FetchTimeout,
    HTTPStatus,
    RateLimited,
    TooLarge,
)
from monitor.fetch.client import (
    ACCEPT_ENCODING,
    FEED_ACCEPT,
    Fetcher,
    Validators,
    bound_get,
    retry_after_seconds,
    validators_of,
)
from monitor.replay.faults import closed_port, gzip_bomb, gzipped, redirect
from monitor.replay.server import ReplayServer, Route

MiB = 1024 * 1024
FAST = dict(connect_timeout=1.0, read_timeout=1.0, deadline=3.0, retries=2, backoff=0.05,
            backoff_max=0.2, retry_after_max=2.0, host_delay=0.0, max_bytes=1 * MiB)
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture(scope="module")
def server():
    with ReplayServer() as srv:
        yield srv


def fetcher(**overrides: object) -> Fetcher:
    return Fetcher(**{**FAST, **overrides})


async def fetch(url: str, **overrides: object):
    async with fetcher(**overrides) as f:
        return await f.get(url)


class Schedule(httpx.AsyncHTTPTransport):
    """The client's own schedule: when each request left the fetcher for the network.

    Timing is asserted here, not at the server: on a busy machine a server thread can see two
    requests closer together than they were sent, while the client's clock says what the
    fetcher did (the politeness delay and the Retry-After wait are the fetcher's to keep).
    """

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, float]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.path, asyncio.get_running_loop().time()))
        return await super().handle_async_request(request)

    def gaps(self, path: str) -> list[float]:
        times = sorted(at for p, at in self.sent if p == path)
        return [b - a for a, b in zip(times, times[1:])]


# -- conditional GET and request headers --

async def test_conditional_get_sends_validators_and_maps_304(server):
    etag, modified = '"v1-abc"', "Wed, 01 Jul 2026 10:00:00 GMT"
    server.route("/cond", body=FEED, headers={"ETag": etag, "Last-Modified": modified})
    url, validators = server.url("/cond"), {}
    async with fetcher() as f:
        get = bound_get(f, validators, host_delay=0)
        first = await get(url)
        second = await get(url)
        unconditional = await get(url, conditional=False)
    assert (first.status, first.content) == (200, FEED)
    assert validators[url] == Validators(etag, modified)
    assert second.status == 304 and second.not_modified and second.content == b""
    assert unconditional.status == 200 and unconditional.content == FEED
    sent = [r.headers for r in server.hits("/cond")]
    assert "if-none-match" not in sent[0] and "if-modified-since" not in sent[0]
    assert sent[1]["if-none-match"] == etag and sent[1]["if-modified-since"] == modified
    assert "if-none-match" not in sent[2]


async def test_last_modified_alone_gives_304(server):
    modified = "Wed, 01 Jul 2026 10:00:00 GMT"
    server.route("/lm", body=FEED, headers={"Last-Modified": modified})
    async with fetcher() as f:
        raw = await f.get(server.url("/lm"), validators=Validators(last_modified=modified))
    assert raw.status == 304
    assert server.hits("/lm")[0].headers["if-modified-since"] == modified


async def test_validators_not_stored_from_a_304_or_error():
    from monitor.models import RawResponse

    assert not validators_of(RawResponse(url="u", content=b"", status=304, headers={"ETag": "x"}))
    assert validators_of(RawResponse(url="u", content=b"x", headers={"etag": '"a"'})).etag == '"a"'


async def test_feed_headers_and_desktop_user_agent(server):
    server.route("/hdr", body=FEED)
    await fetch(server.url("/hdr"))
    headers = server.hits("/hdr")[0].headers
    assert headers["accept"] == FEED_ACCEPT
    assert headers["accept-encoding"] == ACCEPT_ENCODING
    assert headers["user-agent"].startswith("Mozilla/5.0") and "python" not in headers[
        "user-agent"].lower()


# -- 429, Retry-After and 5xx --

async def test_429_retried_after_retry_after_seconds(server):
    server.route("/429", body=FEED, fail_first=1,
                 failure=Route(429, {"Retry-After": "1"}, b"slow down"))
    schedule = Schedule()
    raw = await fetch(server.url("/429"), backoff=0.01, transport=schedule)
    assert raw.status == 200 and raw.content == FEED
    assert len(server.hits("/429")) == 2
    assert schedule.gaps("/429")[0] >= 0.99  # waited Retry-After, not the 10 ms backoff


async def test_429_above_cap_raises_rate_limited_without_sleeping(server):
    server.route("/429-long", status=429, headers={"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await fetch(server.url("/429-long"))
    assert time.monotonic() - started < 0.5
    assert caught.value.retry_after == 3600 and caught.value.kind == "rate_limited"
    assert len(server.hits("/429-long")) == 1
    assert server.url("/429-long") in str(caught.value)


async def test_503_with_http_date_retry_after_is_rate_limited(server):
    later = format_datetime(datetime.fromtimestamp(time.time() + 7200, timezone.utc), usegmt=True)
    server.route("/503-date", status=503, headers={"Retry-After": later})
    with pytest.raises(RateLimited) as caught:
        await fetch(server.url("/503-date"))
    assert caught.value.status == 503 and 7100 < caught.value.retry_after <= 7200


def test_retry_after_parses_seconds_and_dates():
    now = datetime(2026, 7, 1, 10, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Wed, 01 Jul 2026 10:02:30 GMT", now) == 150
    assert retry_after_seconds("Wed, 01 Jul 2026 09:00:00 GMT", now) == 0  # in the past
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


async def test_429_without_retry_after_gives_rate_limited_after_retries(server):
    server.route("/429-bare", status=429)
    with pytest.raises(RateLimited) as caught:
        await fetch(server.url("/429-bare"))
    assert caught.value.retry_after is None
    assert len(server.hits("/429-bare")) == 3  # 1 + 2 retries


async def test_5xx_retried_then_http_status(server):
    server.route("/500", status=500, body=b"oops")
    started = time.monotonic()
    with pytest.raises(HTTPStatus) as caught:
        await fetch(server.url("/500"))
    assert caught.value.status == 500 and caught.value.kind == "http_5xx"
    assert len(server.hits("/500")) == 3
    assert 0.05 <= time.monotonic() - started < 2  # backed off, briefly
    assert "\n" not in str(caught.value) and server.url("/500") in str(caught.value)


async def test_5xx_then_success(server):
    server.route("/502-once", body=FEED, fail_first=2, failure=Route(502))
    raw = await fetch(server.url("/502-once"))
    assert raw.content == FEED and len(server.hits("/502-once")) == 3


async def test_404_is_not_retried(server):
    server.route("/gone", status=404)
    with pytest.raises(HTTPStatus) as caught:
        await fetch(server.url("/gone"))
    assert caught.value.kind == "http_404" and len(server.hits("/gone")) == 1


# -- timeouts --

async def test_hanging_server_times_out(server):
    server.route("/hang", hang=10)
    started = time.monotonic()
    with pytest.raises(FetchTimeout) as caught:
        await fetch(server.url("/hang"), read_timeout=0.3, retries=0)
    assert time.monotonic() - started < 1.5
    assert caught.value.kind == "timeout" and "read timeout" in str(caught.value)


async def test_slow_drip_stopped_by_total_deadline(server):
    # One byte every 0.1 s never trips a 1 s read timeout; only the deadline ends it.
    server.route("/drip", body=b"x" * 200, drip=0.1)
    started = time.monotonic()
    with pytest.raises(FetchTimeout) as caught:
        await fetch(server.url("/drip"), deadline=0.6, retries=0)
    assert time.monotonic() - started < 1.5
    assert "deadline" in str(caught.value)


# -- size caps --

async def test_oversized_body_is_too_large(server):
    server.route("/big", body=bytes(64 * 1024), repeat=80)  # 5 MiB
    with pytest.raises(TooLarge) as caught:
        await fetch(server.url("/big"))
    assert caught.value.kind == "too_large"
    assert len(server.hits("/big")) == 1  # never retried


async def test_body_exactly_at_cap_is_accepted(server):
    server.route("/at-cap", body=bytes(1024), repeat=1024)
    raw = await fetch(server.url("/at-cap"))
    assert len(raw.content) == MiB


async def test_gzip_bomb_stops_at_cap_quickly_in_little_memory(server):
    bomb = gzip_bomb()  # 1 GiB of zeros, ~1 MB on the wire
    assert len(bomb) < 2 * MiB
    server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip",
                                              "Content-Type": "application/rss+xml"})
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(TooLarge):
            await fetch(server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 3
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB while reading a bomb with a 1 MiB cap"


async def test_gzip_and_deflate_bodies_are_decoded(server):
    body = FEED * 500
    server.route("/gz", body=gzipped(body), headers={"Content-Encoding": "gzip"})
    server.route("/zlib", body=zlib.compress(body), headers={"Content-Encoding": "deflate"})
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    server.route("/raw-deflate", body=raw_deflate.compress(body) + raw_deflate.flush(),
                 headers={"Content-Encoding": "deflate"})
    for path in ("/gz", "/zlib", "/raw-deflate"):
        assert (await fetch(server.url(path))).content == body, path


async def test_truncated_and_corrupt_gzip_are_errors(server):
    whole = gzipped(bytes(range(256)) * 400)
    server.route("/gz-cut", body=whole[:len(whole) // 2], headers={"Content-Encoding": "gzip"})
    server.route("/gz-bad", body=b"\x1f\x8b\x08\x00" + b"garbage" * 50,
                 headers={"Content-Encoding": "gzip"})
    with pytest.raises(ConnectFailed, match="cut short"):
        await fetch(server.url("/gz-cut"), retries=0)
    with pytest.raises(FetchError, match="undecodable"):
        await fetch(server.url("/gz-bad"), retries=0)


# -- redirects --

@pytest.mark.parametrize("target", ["/error.htm", "/web/system/index_17321.shtml"])
async def test_redirect_to_error_page_is_error_page(server, target):
    source = f"/moved{target.replace('/', '-')}"
    server.route(source, redirect(target))
    server.route(target, body=b"<html>system page</html>")
    with pytest.raises(ErrorPage) as caught:
        await fetch(server.url(source))
    assert caught.value.kind == "error_page" and target in str(caught.value)
    assert server.hits(target) == []  # the error page itself is never fetched


async def test_redirect_to_other_host_login_page_is_bad_redirect(server):
    server.route("/walled", redirect(f"http://localhost:{server.port}/account/login?next=/feed"))
    with pytest.raises(BadRedirect, match="login"):
        await fetch(server.url("/walled"))


async def test_redirect_chain_is_followed_to_final_url(server):
    for hop in range(5):
        server.route(f"/chain5/{hop}", redirect(f"/chain5/{hop + 1}", 301 if hop % 2 else 302))
    server.route("/chain5/5", body=FEED)
    raw = await fetch(server.url("/chain5/0"))
    assert raw.content == FEED
    assert raw.url == server.url("/chain5/5") and raw.requested_url == server.url("/chain5/0")


async def test_six_redirects_are_too_many(server):
    for hop in range(6):
        server.route(f"/chain6/{hop}", redirect(f"/chain6/{hop + 1}"))
    server.route("/chain6/6", body=FEED)
    with pytest.raises(BadRedirect, match="more than 5 redirects"):
        await fetch(server.url("/chain6/0"))
    assert server.hits("/chain6/6") == []


async def test_redirect_loop_is_bad_redirect(server):
    server.route("/loop-a", redirect("/loop-b"))
    server.route("/loop-b", redirect("/loop-a"))
    with pytest.raises(BadRedirect):
        await fetch(server.url("/loop-a"))
    assert len(server.hits("/loop-a")) + len(server.hits("/loop-b")) == 6


# -- connection failures --

async def test_connection_refused_is_connect_failed():
    url = f"http://127.0.0.1:{closed_port()}/feed"
    with pytest.raises(ConnectFailed) as caught:
        await fetch(url)
    assert caught.value.kind == "connect" and caught.value.url == url
    assert str(caught.value).startswith(url) and "\n" not in str(caught.value)


# -- bytes arrive intact; charset is the adapters' job --

async def test_utf8_without_charset_arrives_intact(server):
    body = "<html><head><title>中俄关系 — Россия и Китай</title></head></html>".encode()
    server.route("/utf8", body=body, headers={"Content-Type": "text/html"})
    raw = await fetch(server.url("/utf8"))
    assert raw.content == body and raw.header("content-type") == "text/html"
    assert "中俄关系 — Россия и Китай" in decode(raw)


async def test_gbk_bytes_declared_gb2312_arrive_intact(server):
    # 镕 is in GBK but not in GB2312: decoding as the declared charset would lose it.
    text = "<html><head><meta charset=gb2312><title>朱镕基会见俄罗斯总理</title></head></html>"
    body = text.encode("gbk")
    server.route("/gbk", body=body, headers={"Content-Type": "text/html; charset=GB2312"})
    raw = await fetch(server.url("/gbk"))
    assert raw.content == body
    assert "朱镕基会见俄罗斯总理" in decode(raw)


async def test_malformed_xml_is_passed_through_unjudged(server):
    body = b"<?xml version='1.0'?><rss><channel><item><title>broken</channel>"
    server.route("/bad.xml", body=body, headers={"Content-Type": "application/rss+xml"})
    assert (await fetch(server.url("/bad.xml"))).content == body


# -- politeness --

async def test_politeness_delay_between_requests_to_one_host(server):
    server.route("/polite", body=FEED)
    schedule = Schedule()
    async with fetcher(host_delay=0.4, transport=schedule) as f:
        await asyncio.gather(f.get(server.url("/polite")), f.get(server.url("/polite?x=1")))
    assert len(server.hits("/polite")) == 2
    assert schedule.gaps("/polite")[0] >= 0.39  # clock resolution, not load


async def test_per_source_host_delay_overrides_default(server):
    server.route("/polite-src", body=FEED)
    schedule = Schedule()
    async with fetcher(host_delay=0.0, transport=schedule) as f:
        get = bound_get(f, {}, host_delay=0.5)
        await get(server.url("/polite-src"))
        await get(server.url("/polite-src"), conditional=False)
    assert schedule.gaps("/polite-src")[0] >= 0.49


# -- saved responses replayed from ../shared --

async def test_saved_directory_is_replayed_with_its_headers(server):
    directory = shared_path("fixtures/feeds/fmprc")
    server.serve_dir("/saved-fmprc", directory)
    name = "zh-fyrbt-listing-default-2020-07-04.html"
    url = server.url(f"/saved-fmprc/{name}")
    validators = {}
    async with fetcher() as f:
        get = bound_get(f, validators)
        raw = await get(url)
        again = await get(url)
        with pytest.raises(ErrorPage, match="error page"):  # saved 302 → /error.htm
            await get(server.url("/saved-fmprc/robots-txt-302-to-error-2020-07-04.html"))
    assert raw.content == (directory / name).read_bytes()
    assert raw.header("content-type") == "text/html" and raw.header("powered-by-chinacache")
    assert again.status == 304

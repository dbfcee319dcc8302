"""HTTP for every source: one shared httpx client, and the ONE place transport failures and HTTP
statuses become `monitor.errors` classes.

httpx alone is not enough for polling servers we don't control (research/anchors-reliability.md):
it has no total deadline (a server dripping one byte every 2 s never trips its read timeout) and
no body cap (a 2 MB gzip bomb inflates to gigabytes). So here:

* every attempt runs under `asyncio.timeout(deadline)`, body included;
* the body is read raw and inflated by our own bounded decompressor, counting decoded bytes, so a
  bomb stops at the cap without ever being inflated into memory (we only advertise gzip/deflate);
* redirects are followed by hand (at most 5) and every hop's target is checked: MFA answers a
  missing page with a redirect to `/error.htm` or a 200 "system" page, which must count as a
  failure, not as "0 new items";
* connect errors, timeouts, 5xx and 429 are retried with exponential backoff and jitter, honouring
  Retry-After up to a cap; above the cap we raise `RateLimited` at once so the scheduler backs the
  source off instead of holding a worker asleep;
* requests to one host are spaced by a politeness delay (People's Daily asks for 120 s).

Charset is not decided here: `RawResponse.content` is the decoded-from-gzip bytes, and adapters
read them with `helpers.decode`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import re
from dataclasses import dataclass, replace
from typing import Any

import httpx

from monitor.config.settings import Settings
from monitor.errors import (
    BadRedirect,
    ConnectFailed,
    ErrorPage,
    FetchError,
    FetchTimeout,
    HTTPStatus,
    RateLimited,
)
from monitor.fetch.decoders import read_capped
from monitor.fetch.headers import Validators, retry_after_seconds, validators_of
from monitor.models import Get, RawResponse

log = logging.getLogger(__name__)

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
               "text/html;q=0.8, */*;q=0.5")
# Only the codings our bounded decompressor reads; advertising br/zstd would bypass the cap.
ACCEPT_ENCODING = "gzip, deflate"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Targets that mean "the page is gone": MFA's /error.htm and /web/system/index_17321.shtml.
ERROR_PAGE = re.compile(r"/(?:error|404|notfound|not-found)(?:[._-][^/]*)?$|/system/", re.I)
# A redirect to another host's sign-in or bot-challenge page is a wall, not the feed.
LOGIN_PAGE = re.compile(r"log-?in|sign-?in|sso|auth|captcha|challenge", re.I)


_DEFAULTS = Settings.model_fields  # the one set of defaults: the documented variables


def _default(name: str) -> Any:
    return _DEFAULTS[name].default


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Knobs of the fetcher. The documented ones default to their `Settings` variables
    (MONITOR_TIMEOUT, MONITOR_DEADLINE, MONITOR_MAX_BODY, MONITOR_HOST_DELAY, MONITOR_RETRIES,
    MONITOR_USER_AGENT); `from_settings` applies the environment's values."""

    user_agent: str = _default("monitor_user_agent")
    connect_timeout: float = 10.0
    read_timeout: float = _default("monitor_timeout")
    deadline: float = _default("monitor_deadline")  # one attempt, redirects and body included
    max_bytes: int = _default("monitor_max_body")  # decoded body
    max_redirects: int = 5
    retries: int = _default("monitor_retries")  # extra attempts after the first
    backoff: float = 2.0  # first retry waits about this long, doubling each time
    backoff_max: float = 60.0
    retry_after_max: float = 120.0  # a longer Retry-After is the scheduler's business
    host_delay: float = _default("monitor_host_delay")  # seconds between request starts to a host

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchSettings:
        return cls(user_agent=settings.monitor_user_agent, read_timeout=settings.monitor_timeout,
                   connect_timeout=min(10.0, settings.monitor_timeout),
                   deadline=settings.monitor_deadline, max_bytes=settings.monitor_max_body,
                   host_delay=settings.monitor_host_delay, retries=settings.monitor_retries)


class Fetcher:
    """One shared `httpx.AsyncClient` with our deadline, cap, redirect, retry and politeness rules.

    Use as `async with Fetcher(settings) as fetcher: raw = await fetcher.get(url)`; keyword
    overrides (`Fetcher(deadline=1)`) replace single settings. `transport` is for tests.
    """

    def __init__(self, settings: FetchSettings | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, **overrides: Any) -> None:
        self.settings = replace(settings or FetchSettings(), **overrides)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._host_last: dict[str, float] = {}

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._client = httpx.AsyncClient(
            transport=self._transport,
            follow_redirects=False,
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"User-Agent": s.user_agent, "Accept": FEED_ACCEPT,
                     "Accept-Encoding": ACCEPT_ENCODING,
                     "Accept-Language": "en,zh-CN;q=0.8,ru;q=0.7"},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def get(self, url: str, *, method: str = "GET", json: Any = None,
                  conditional: bool = True, validators: Validators | None = None,
                  host_delay: float | None = None) -> RawResponse:
        """Fetch `url`; a 304 is `RawResponse(status=304, content=b"")`; failures raise
        FetchError."""
        headers = validators.headers() if conditional and validators and method == "GET" else {}
        attempt = 0
        while True:
            await self._polite(url, host_delay)
            try:
                return await self._attempt(url, method, json, headers)
            except (ConnectFailed, FetchTimeout, HTTPStatus) as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    raise
                log.info("retrying in %.1fs: %s", wait, exc)
            attempt += 1
            await asyncio.sleep(wait)

    def _retry_wait(self, exc: FetchError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise `exc`."""
        s = self.settings
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        if retry_after is not None and retry_after > s.retry_after_max:
            return None
        if isinstance(exc, HTTPStatus) and exc.status != 429 and exc.status < 500:
            return None
        if attempt >= s.retries:
            return None
        if retry_after is not None:
            return retry_after
        delay = min(s.backoff_max, s.backoff * 2 ** attempt)
        return random.uniform(delay / 2, delay)

    async def _polite(self, url: str, host_delay: float | None) -> None:
        """Space request starts to one host by `host_delay` (the source's) or the default."""
        delay = self.settings.host_delay if host_delay is None else host_delay
        host = _host(url)
        loop = asyncio.get_running_loop()
        async with self._host_locks.setdefault(host, asyncio.Lock()):
            last = self._host_last.get(host)
            if last is not None and (wait := last + delay - loop.time()) > 0:
                await asyncio.sleep(wait)
            self._host_last[host] = loop.time()

    async def _attempt(self, url: str, method: str, json: Any,
                       headers: dict[str, str]) -> RawResponse:
        """One attempt, redirects and body included, under the total deadline."""
        deadline = self.settings.deadline
        try:
            async with asyncio.timeout(deadline):
                return await self._follow(url, method, json, headers)
        except TimeoutError:
            raise FetchTimeout(f"{url}: no complete response within the {deadline:g}s deadline",
                               url=url) from None
        except httpx.TimeoutException as exc:
            phase = type(exc).__name__.removesuffix("Timeout").lower() or "request"
            raise FetchTimeout(f"{url}: {phase} timeout", url=url) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"{url}: invalid URL: {exc}", url=url) from None
        except httpx.UnsupportedProtocol as exc:
            raise FetchError(f"{url}: unsupported URL: {exc}", url=url) from None
        except httpx.TransportError as exc:
            raise ConnectFailed(f"{url}: {_describe(exc)}", url=url) from None

    async def _follow(self, url: str, method: str, json: Any,
                      headers: dict[str, str]) -> RawResponse:
        """Send, following at most `max_redirects` redirects, each target checked first."""
        assert self._client is not None, "use `async with Fetcher(...)`"
        current, hops = httpx.URL(url), 0
        while True:
            request = self._client.build_request(method, current, json=json, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                if response.status_code not in REDIRECT_STATUSES:
                    return await self._response(url, response)
                hops += 1
                current = self._redirect_target(url, response, hops)
                if response.status_code == 303 or (response.status_code in (301, 302)
                                                   and method == "POST"):
                    method, json = "GET", None
            finally:
                await response.aclose()

    def _redirect_target(self, url: str, response: httpx.Response, hops: int) -> httpx.URL:
        """Where a redirect points, or BadRedirect if following it would be pointless or unsafe."""
        location = response.headers.get("location")
        if not location:
            raise BadRedirect(f"{url}: {response.status_code} redirect without a Location", url=url)
        if hops > self.settings.max_redirects:
            raise BadRedirect(f"{url}: more than {self.settings.max_redirects} redirects", url=url)
        target = response.url.join(location.strip())
        origin = httpx.URL(url)
        if target.scheme not in ("http", "https"):
            raise BadRedirect(f"{url}: redirected to a non-HTTP URL {target}", url=url)
        if ERROR_PAGE.search(target.path):
            raise ErrorPage(f"{url}: redirected to an error page {target}", url=url)
        if _site(target.host) != _site(origin.host):
            if LOGIN_PAGE.search(target.path):
                raise BadRedirect(f"{url}: redirected to a login page {target}", url=url)
            if _is_private(target.host) and not _is_private(origin.host):
                raise BadRedirect(f"{url}: redirected to a private address {target}", url=url)
        return target

    async def _response(self, url: str, response: httpx.Response) -> RawResponse:
        """The final response as a RawResponse, or the FetchError its status means."""
        status = response.status_code
        final = str(response.url)
        headers = dict(response.headers.items())
        if status == 304:
            return RawResponse(url=final, content=b"", status=304, headers=headers,
                               requested_url=url)
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if status == 429 or (status == 503 and retry_after is not None):
            wait = "" if retry_after is None else f", retry after {retry_after:g}s"
            raise RateLimited(f"{url}: HTTP {status}{wait}", url=url, status=status,
                              retry_after=retry_after)
        if 300 <= status < 400:
            raise BadRedirect(f"{url}: HTTP {status} is not a redirect we can follow", url=url)
        if status >= 400:
            raise HTTPStatus(f"{url}: HTTP {status} {response.reason_phrase}".rstrip(),
                             url=url, status=status)
        content = await read_capped(url, response.aiter_raw(),
                                    response.headers.get("content-encoding", ""),
                                    self.settings.max_bytes)
        return RawResponse(url=final, content=content, status=status, headers=headers,
                           requested_url=url)


def bound_get(fetcher: Fetcher, validators_by_url: dict[str, Validators],
              host_delay: float | None = None) -> Get:
    """The `Get` callable adapters receive: conditional by default, validators kept per URL.

    New validators are written into `validators_by_url` as 200s arrive; persist that dict only
    after the poll's items are stored, or a failed poll would turn the next one into a 304 and
    lose its items.
    """

    async def get(url: str, *, method: str = "GET", json: Any = None,
                  conditional: bool = True) -> RawResponse:
        validators = validators_by_url.get(url) if conditional else None
        raw = await fetcher.get(url, method=method, json=json, conditional=conditional,
                                validators=validators, host_delay=host_delay)
        if conditional and method == "GET" and (fresh := validators_of(raw)):
            validators_by_url[url] = fresh
        return raw

    return get


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host.lower()
    except httpx.InvalidURL:
        return ""


def _site(host: str) -> str:
    """`www.tass.com` and `tass.com` are one site for the login-page check."""
    return host.lower().removeprefix("www.")


def _is_private(host: str) -> bool:
    """A loopback/private/link-local literal or `localhost`: never reached via a public redirect."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def _describe(exc: httpx.TransportError) -> str:
    """One line for a transport error: httpx's message, or its class when it has none."""
    text = " ".join(str(exc).split())
    kind = {httpx.ConnectError: "connection failed", httpx.RemoteProtocolError:
            "connection broken", httpx.ReadError: "read failed"}.get(type(exc), "transport error")
    return f"{kind}: {text}" if text else kind

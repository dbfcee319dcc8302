"""The exception tree. Every failure a source can have is one of these, with a stable `kind`.

    MonitorError
    ├── ConfigError                 bad sources.yaml / topics.yaml / environment (names the key)
    ├── FetchError                  the request did not give us a usable body
    │   ├── ConnectFailed           refused, DNS, TLS, reset
    │   ├── FetchTimeout            connect/read timeout or the total deadline
    │   ├── HTTPStatus              4xx/5xx (kind http_4xx, http_5xx, http_403, http_404)
    │   │   └── RateLimited         429 or 503 with Retry-After; carries `retry_after`
    │   ├── TooLarge                body over the cap (counted after decompression)
    │   └── BadRedirect             too many redirects, a login wall, a private or non-HTTP target
    ├── ParseError                  we got a body but it is not what this source serves
    │   ├── NotAFeed                malformed XML, HTML instead of a feed, wrong page type
    │   ├── EmptyFeed               a 200 that parsed to zero items (a quiet day is no items
    │   │                           in a feed that answers, not a 200 with nothing in it)
    │   └── ErrorPage               the site's own error or maintenance page: a redirect to it
    │                               (MFA's /error.htm) or a 200 that is it (MFA's "system" page)
    ├── InternalError               a bug in any stage, caught at the source's boundary (logged with
    │                               its traceback) so that one source's bug never stops the others
    └── StoreError                  the database refused

Failures are mapped to these classes in one place (`fetch/client.py` for transport and status,
the adapters for content); `kind` is what `monitor sources` shows and what health counts by.
One failure, one class: the error page is `ErrorPage` whether fetch sees the redirect or the
adapter sees the page, so it raises the same layout alarm either way.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the project raises on purpose."""

    kind = "error"


class ConfigError(MonitorError):
    kind = "config"


class FetchError(MonitorError):
    kind = "fetch"

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class ConnectFailed(FetchError):
    kind = "connect"


class FetchTimeout(FetchError):
    kind = "timeout"


class HTTPStatus(FetchError):
    def __init__(self, message: str, *, url: str = "", status: int = 0) -> None:
        super().__init__(message, url=url)
        self.status = status

    @property
    def kind(self) -> str:  # type: ignore[override]
        if self.status in (403, 404, 410):
            return f"http_{self.status}"
        return "http_5xx" if self.status >= 500 else "http_4xx"


class RateLimited(HTTPStatus):
    def __init__(self, message: str, *, url: str = "", status: int = 429,
                 retry_after: float | None = None) -> None:
        super().__init__(message, url=url, status=status)
        self.retry_after = retry_after

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "rate_limited"


class TooLarge(FetchError):
    kind = "too_large"


class BadRedirect(FetchError):
    kind = "redirect"


class ParseError(MonitorError):
    kind = "parse"


class NotAFeed(ParseError):
    kind = "malformed"


class EmptyFeed(ParseError):
    kind = "empty"


class ErrorPage(ParseError):
    """The site answered with its error or maintenance page instead of the content."""

    kind = "error_page"

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class InternalError(MonitorError):
    """A bug: counted against the source like any failure, never stopping the others."""

    kind = "internal"


class StoreError(MonitorError):
    kind = "store"

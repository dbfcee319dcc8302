"""The two pieces of HTTP header arithmetic polling depends on: conditional GET and Retry-After.

Conditional GET is what keeps polling polite (a 304 costs the server almost nothing), and a
server's Retry-After is the one instruction about timing we must obey, whether it is given as
seconds or as an HTTP date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from monitor.models import RawResponse


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back: the response's ETag and Last-Modified."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


def validators_of(raw: RawResponse) -> Validators:
    """The validators to store for the next poll of this URL (empty on a 304 or an error)."""
    if raw.status != 200:
        return Validators()
    return Validators(raw.header("etag"), raw.header("last-modified"))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either delay-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())

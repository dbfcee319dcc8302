"""The shapes passed between stages.

One shape, `Item`, flows through the whole pipeline (adapter → normalize → dedupe → classify →
store → notify); database rows and raw HTML never leave their own modules. `RawResponse` is what
`fetch` hands to an adapter, and what `monitor import` rebuilds from a saved body file.
`Source` (one entry of sources.yaml), `Get` (the request callable adapters are given),
`StoryRef` (what story linking knows of a stored item) and `Label` (one labelled example, from
our set, the newsletter or the editor) live here too, so every layer can name them without
importing the layer that makes them.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

STATUSES = ("new", "kept", "skipped")
OFF_TOPIC = "off_topic"


@dataclass(frozen=True, slots=True)
class Source:
    """One polled source. `outlet` is the name exports print ("… for TASS")."""

    id: str
    name: str
    adapter: str
    urls: tuple[str, ...]
    language: str
    interval: timedelta
    timezone: str = "UTC"
    enabled: bool = True
    reason: str = ""  # why it is disabled, shown by `monitor sources`
    outlet: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    short: str = ""  # what a card or a list line calls it ("MFA (ZH)"); the outlet by default

    @property
    def label(self) -> str:
        return self.short or self.outlet or self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


class Get(Protocol):
    """`fetch`'s request function as handed to adapters (conditional GET by default)."""

    def __call__(self, url: str, *, method: str = "GET", json: Any = None,
                 conditional: bool = True) -> Awaitable[RawResponse]: ...


@dataclass(slots=True)
class StoryRef:
    """What dedupe needs to know of a stored item to link a new copy of its story."""

    key: str
    source: str
    story: str
    original: bool
    published: datetime | None
    title_sig: str
    embedding: bytes | None


@dataclass(frozen=True, slots=True)
class Label:
    """One labelled example: `bucket` is a bucket id or `off_topic`.

    Our labelled set, the newsletter's placed items and the editor's decisions all become this
    shape; `weight` says how much it counts in training and `origin` which of those it came from.
    """

    title: str
    summary: str
    lang: str
    bucket: str
    weight: float = 1.0
    origin: str = ""


@dataclass(slots=True)
class RawResponse:
    """One HTTP response (or a saved copy of one): the bytes exactly as received.

    `url` is the final URL after redirects; adapters resolve relative links against it.
    `status` 304 means "not modified" and carries no body.
    """

    url: str
    content: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    requested_url: str = ""
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        lname = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lname:
                return value
        return None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(slots=True)
class Item:
    """One candidate story.

    Adapters fill the first block. `published` may be naive: a naive time is the source's
    wall-clock time and `normalize` attaches the source's zone; an aware time is converted as is.
    Later stages fill the rest.
    """

    source: str
    url: str
    title: str
    summary: str = ""
    published: datetime | None = None
    lang: str = ""
    authors: list[str] = field(default_factory=list)
    guid: str | None = None
    variant: str = ""  # which parse variant read it (adapter name + layout), for layout changes
    origin: str | None = None  # the outlet the page names as its original publisher, if any
    date_only: bool = False  # the source gives the day, not the time (MFA listings)
    # normalize
    key: str = ""
    # store
    id: int | None = None
    first_seen: datetime | None = None
    held: bool = False  # older than MONITOR_MAX_AGE at its source's first poll: never posted
    # dedupe
    story: str | None = None
    original: bool = True
    # classify
    bucket: str | None = None
    confidence: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    why: str = ""
    model_version: str = ""
    # triage
    status: str = "new"
    comment: str = ""
    reviewed_by: str | None = None

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """The Item JSON of DESIGN.md (`--json` output); `full` adds every pipeline field."""
        data = asdict(self)
        data["published"] = iso_utc(self.published)
        data["first_seen"] = iso_utc(self.first_seen)
        if full:
            return data
        keep = ("key", "source", "url", "title", "summary", "published", "lang", "authors")
        out = {k: data[k] for k in keep}
        if self.bucket is not None:
            out.update(bucket=self.bucket, confidence=self.confidence)
        if self.id is not None or self.story is not None:
            out.update(status=self.status, comment=self.comment or None,
                       story=self.story, original=self.original)
        return out


def iso_utc(value: datetime | None) -> str | None:
    """The Item JSON time format: ISO 8601 in UTC with a Z (naive times are printed as they are)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()

"""Saved responses: a body file with an optional `<name>.headers.txt` beside it.

The format `monitor import` reads and the test fixtures and the replay server use: the headers
file holds an optional status line (`HTTP/1.1 200 OK`) then `Name: value` lines. A `.gz`
body is read as the gzip bytes the server sent and unpacked here.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from monitor.errors import NotAFeed
from monitor.models import RawResponse

_STATUS = re.compile(r"^HTTP/[\d.]+\s+(\d{3})")


def headers_path(body: Path) -> Path:
    """`feed.xml` → `feed.headers.txt` (also `feed.xml.gz` → `feed.headers.txt`)."""
    name = body.name
    for suffix in (".gz",):
        name = name.removesuffix(suffix)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return body.with_name(f"{stem}.headers.txt")


def read_saved(path: str | Path, url: str) -> RawResponse:
    """The saved response at `path`, as if fetched from `url` (relative links resolve there)."""
    path = Path(path)
    content = path.read_bytes()
    if path.suffix == ".gz" or content[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise NotAFeed(f"{path}: broken gzip body ({exc})") from None
    status, headers = 200, {}
    hpath = headers_path(path)
    if hpath.exists():
        for line in hpath.read_text(encoding="latin-1").splitlines():
            if match := _STATUS.match(line):
                status = int(match.group(1))
            elif ":" in line:
                name, value = line.split(":", 1)
                headers.setdefault(name.strip(), value.strip())
    url = headers.get("Content-Location") or url
    return RawResponse(url=url, content=content, status=status, headers=headers, requested_url=url)


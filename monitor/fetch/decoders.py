"""A gzip/deflate decoder with a cap on what it produces (counted after decompression).

httpx decodes Content-Encoding without any limit, so a small gzip bomb inflates to gigabytes;
`client.py` reads the raw body and inflates it here, stopping at the cap. Only gzip and deflate
are advertised in Accept-Encoding, so no other coding reaches this module.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from monitor.errors import ConnectFailed, FetchError, TooLarge

_GZIP_WBITS = 32 + zlib.MAX_WBITS  # auto-detects a gzip or zlib header
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS  # some servers send "deflate" with no zlib header


async def read_capped(url: str, chunks: AsyncIterator[bytes], coding: str, cap: int) -> bytes:
    """The body inflated from raw `chunks`, raising TooLarge once decoded bytes exceed `cap`."""
    body = _BoundedBody(url, coding, cap)
    async for chunk in chunks:
        body.feed(chunk)
    return body.finish()


class _BoundedBody:
    """A gzip/deflate decoder whose output never exceeds the cap, however small the input."""

    def __init__(self, url: str, coding: str, cap: int) -> None:
        codings = [c.strip().lower() for c in coding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"{url}: unsupported Content-Encoding {coding!r}", url=url)
        self.url, self.cap, self.size = url, cap, 0
        self.parts: list[bytes] = []
        self.deflate = codings == ["deflate"]
        self.z = zlib.decompressobj(_GZIP_WBITS) if codings else None
        self.started = False

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise TooLarge(f"{self.url}: body over {self.cap} bytes (after decompression)",
                           url=self.url)
        if data:
            self.parts.append(data)

    def feed(self, data: bytes) -> None:
        if self.z is None:
            self._add(data)
            return
        try:
            self._inflate(data)
        except zlib.error as exc:
            if self.deflate and not self.started:  # raw deflate with no zlib header
                self.z, self.deflate = zlib.decompressobj(_RAW_DEFLATE_WBITS), False
                self.feed(data)
                return
            raise FetchError(f"{self.url}: undecodable compressed body ({exc})",
                             url=self.url) from None

    def _inflate(self, data: bytes) -> None:
        assert self.z is not None
        while data:
            out = self.z.decompress(data, self.cap - self.size + 1)
            self.started = self.started or bool(out)
            self._add(out)
            if not out and self.z.unconsumed_tail == data:
                return  # no progress possible; `finish` reports the truncation
            data = self.z.unconsumed_tail
            if self.z.eof:  # a second gzip member may follow
                rest = self.z.unused_data
                if not rest.strip(b"\0"):
                    return
                self.z, data = zlib.decompressobj(_GZIP_WBITS), rest

    def finish(self) -> bytes:
        if self.z is not None and not self.z.eof:
            while out := self.z.decompress(b"", self.cap - self.size + 1):
                self._add(out)
            if self.started or self.size:
                raise ConnectFailed(f"{self.url}: compressed body cut short", url=self.url)
        return b"".join(self.parts)

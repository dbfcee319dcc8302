"""Responses that misbehave the way real servers do, for the replay server's tests and demo:
a redirect, a gzip body, a gzip bomb that inflates to a gigabyte, a port that refuses.
"""

from __future__ import annotations

import functools
import socket
import struct
import zlib

from monitor.replay.server import Route


def redirect(location: str, status: int = 302) -> Route:
    return Route(status=status, headers={"Location": location, "Content-Type": "text/html"},
                 body=b"<html><body>Moved</body></html>")


def gzipped(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


@functools.lru_cache(maxsize=2)
def gzip_bomb(size: int = 1 << 30) -> bytes:
    """One valid gzip member inflating to `size` zero bytes, about 1 MB per GiB on the wire.

    Built in ~0.3 s instead of compressing a gigabyte: after a full flush the deflate stream
    restarts, so every 4 MiB block of zeros compresses to the same bytes and can be repeated.
    """
    block = 1 << 22
    count, rest = divmod(size, block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(bytes(rest)) + compressor.flush()
    crc, zeros = 0, bytes(block)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + segment * count + tail + struct.pack("<II", crc, size & 0xFFFFFFFF)


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

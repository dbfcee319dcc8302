"""A real HTTP server on 127.0.0.1 that replays recorded responses and injects faults.

Fetch tests, daemon tests and `monitor demo` talk to this instead of the internet. It runs in a
background thread (stdlib `ThreadingHTTPServer`, no extra dependency)::

    with ReplayServer() as server:
        server.route("/feed", Route(body=b"<rss/>", headers={"ETag": '"v1"'}))
        server.serve_dir("/fmprc", SHARED / "fixtures/feeds/fmprc")
        url = server.url("/feed")

A `Route` is a status, headers and a body (bytes or a file), plus fault knobs: the first N
requests answered by another route (429 with Retry-After, 5xx), a delay, a hang, a slow drip of
the body, a body repeated to any size. A route whose headers carry ETag/Last-Modified answers 304
to a matching conditional request. Every request is recorded (method, path, headers, arrival time)
so tests can assert conditional headers and politeness.

`serve_dir` maps a URL prefix to a directory of saved responses in `monitor/fetch/saved.py` format
(`<name>` + `<name>.headers.txt`): the saved status and headers are replayed, hop-by-hop headers
recomputed, and absolute `Location`s rewritten to this server so nothing leaves 127.0.0.1.

Run standalone:
`python -m monitor.replay.server --dir /fmprc=../shared/fixtures/feeds/fmprc --port 8000`.
It lives in the package (not under tests/) because `monitor demo` serves recorded sources with it.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monitor.fetch.saved import headers_path

HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}
Headers = dict[str, str] | list[tuple[str, str]]


@dataclass
class Route:
    """One canned response and the faults to inject around it."""

    status: int = 200
    headers: Headers = field(default_factory=dict)
    body: bytes | Path = b""
    repeat: int = 1  # the body is sent this many times: a 50 MB response without 50 MB in memory
    delay: float = 0.0  # seconds before the status line
    hang: float = 0.0  # read the request, then send nothing for this long and close
    drip: float = 0.0  # seconds between single body bytes (slow loris)
    fail_first: int = 0  # the first N requests to this path get `failure` instead
    failure: Route | None = None
    conditional: bool = True  # 304 when If-None-Match / If-Modified-Since match

    def header_list(self) -> list[tuple[str, str]]:
        items = self.headers.items() if isinstance(self.headers, dict) else self.headers
        return [(k, v) for k, v in items]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.header_list() if k.lower() == name.lower()), None)

    def payload(self) -> bytes:
        return self.body.read_bytes() if isinstance(self.body, Path) else self.body


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it; `headers` keys are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival


def not_modified(request: dict[str, str], route: Route) -> bool:
    """RFC 9110 validator matching: If-None-Match wins; else If-Modified-Since vs Last-Modified."""
    etag, modified = route.header("etag"), route.header("last-modified")
    if (inm := request.get("if-none-match")) is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return bool(etag) and ("*" in tags or etag.removeprefix("W/") in tags)
    if (ims := request.get("if-modified-since")) and modified:
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


class ReplayServer:
    """The server; start/stop it, or use it as a context manager."""

    def __init__(self, routes: dict[str, Route] | None = None, *, port: int = 0) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.dirs: list[tuple[str, Path]] = []
        self.requests: list[Recorded] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.replay = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def route(self, path: str, route: Route | None = None, **fields: object) -> Route:
        """Serve `route` (or `Route(**fields)`) at `path` (with query, or path only)."""
        self.routes[path] = route = route or Route(**fields)  # type: ignore[arg-type]
        return route

    def serve_dir(self, prefix: str, directory: str | Path) -> None:
        """Serve saved responses under `prefix`: `/prefix/a/b.html` → `directory/a/b.html`."""
        self.dirs.append(("/" + prefix.strip("/"), Path(directory).resolve()))

    def hits(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path or r.path.split("?")[0] == path]

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"replay-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes hanging and dripping handlers
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- request handling (server threads) --

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> int:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(Recorded(handler.command, handler.path, headers, body,
                                          time.monotonic()))
            key = handler.path
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    def _find(self, path: str) -> Route | None:
        route = self.routes.get(path) or self.routes.get(path.split("?")[0])
        return route or self._saved(path.split("?")[0])

    def _saved(self, path: str) -> Route | None:
        for prefix, directory in self.dirs:
            if path != prefix and not path.startswith(prefix + "/"):
                continue
            file = (directory / unquote(path[len(prefix):]).lstrip("/")).resolve()
            if (file.is_relative_to(directory) and file.is_file()
                    and not file.name.endswith(".headers.txt")):
                return self._saved_route(file)
        return None

    def _saved_route(self, file: Path) -> Route:
        body = file.read_bytes()
        status, headers = 0, []
        hpath = headers_path(file)
        lines = hpath.read_text(encoding="latin-1").splitlines() if hpath.exists() else []
        for line in lines:
            if line.startswith("HTTP/") and len(line.split()) > 1:
                status = int(line.split()[1])
            elif ":" in line:
                name, value = (part.strip() for part in line.split(":", 1))
                if name.lower() == "location":
                    parts = urlsplit(value)
                    value = self.origin + parts.path + (f"?{parts.query}" if parts.query else "")
                if name.lower() == "content-encoding" and not body.startswith(b"\x1f\x8b"):
                    continue  # the recorder stored the body already decoded
                headers.append((name, value))
        # Scrapy's cache keeps headers without the status line; a Location means it was a 302.
        status = status or (302 if any(k.lower() == "location" for k, _ in headers) else 200)
        if status == 200 and not any(k.lower() == "etag" for k, _ in headers):
            headers.append(("ETag", '"%s"' % hashlib.sha1(body).hexdigest()[:16]))
        return Route(status=status, headers=headers, body=body)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        count = self._record(handler, body)
        route = self._find(handler.path)
        if route is None:
            route = Route(404, {"Content-Type": "text/plain"}, b"not found")
        elif count <= route.fail_first and route.failure is not None:
            route = route.failure
        try:
            self._send(handler, route)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _send(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        if route.delay and self._stop.wait(route.delay):
            return
        if route.hang:
            self._stop.wait(route.hang)
            handler.close_connection = True
            return
        request = {k.lower(): v for k, v in handler.headers.items()}
        if route.status == 200 and route.conditional and not_modified(request, route):
            handler.send_response(304)
            for name in ("ETag", "Last-Modified"):
                if value := route.header(name):
                    handler.send_header(name, value)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        payload = route.payload()
        handler.send_response_only(route.status)
        if route.header("date") is None:  # a saved response keeps its own Date
            handler.send_header("Date", handler.date_time_string())
        for name, value in route.header_list():
            if name.lower() not in HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload) * route.repeat))
        handler.end_headers()
        if handler.command != "HEAD":
            self._write_body(handler, payload, route)

    def _write_body(self, handler: BaseHTTPRequestHandler, payload: bytes, route: Route) -> None:
        if route.drip:
            for index in range(len(payload)):
                handler.wfile.write(payload[index:index + 1])
                handler.wfile.flush()
                if self._stop.wait(route.drip):
                    handler.close_connection = True
                    return
            return
        for _ in range(route.repeat):
            handler.wfile.write(payload)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    replay: ReplayServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-body is what the fault routes provoke: not worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.replay.handle(self)

    do_HEAD = do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main(argv: list[str] | None = None) -> None:
    """Serve saved-response directories until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", action="append", default=[], metavar="PREFIX=DIR",
                        help="serve saved responses in DIR under URL prefix PREFIX")
    args = parser.parse_args(argv)
    server = ReplayServer(port=args.port)
    for spec in args.dir:
        prefix, _, directory = spec.partition("=")
        server.serve_dir(prefix, directory)
    with server:
        print(f"serving on {server.origin}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

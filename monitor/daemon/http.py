"""The daemon's HTTP endpoint (MONITOR_HTTP_ADDR): /healthz, /readyz and Prometheus /metrics.

/healthz says the process answers. /readyz says it can do its work: the database answers, the
scheduler ticked recently and, when Telegram is configured, the bot is connected. Container
health checks and orchestrators poll /readyz.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.errors import ConfigError
from monitor.metrics import REGISTRY

TICK_STALE = 120.0  # seconds without a scheduler tick before /readyz fails


@dataclass
class Readiness:
    """What /readyz checks; the daemon updates `last_tick` and sets `bot_connected`."""

    engine: AsyncEngine
    last_tick: float = field(default_factory=time.monotonic)
    bot_connected: Callable[[], bool] | None = None

    def tick(self) -> None:
        self.last_tick = time.monotonic()

    async def problems(self) -> list[str]:
        found = []
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready", with its reason
            found.append(f"database: {type(exc).__name__}")
        if time.monotonic() - self.last_tick > TICK_STALE:
            found.append("scheduler: no tick for over %ds" % TICK_STALE)
        if self.bot_connected is not None and not self.bot_connected():
            found.append("telegram: not connected")
        return found


def parse_addr(value: str) -> tuple[str, int]:
    """'127.0.0.1:8080' → ('127.0.0.1', 8080); ConfigError naming MONITOR_HTTP_ADDR otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
        raise ConfigError(f"MONITOR_HTTP_ADDR: {value!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    return host.strip("[]") or "0.0.0.0", int(port)


def build_app(readiness: Readiness) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_request: web.Request) -> web.Response:
        problems = await readiness.problems()
        if problems:
            return web.Response(status=503, text="not ready: " + "; ".join(problems) + "\n")
        return web.Response(text="ready\n")

    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.add_routes([web.get("/healthz", healthz), web.get("/readyz", readyz),
                    web.get("/metrics", metrics)])
    return app


async def start_http(readiness: Readiness, addr: str) -> Callable[[], Awaitable[None]]:
    """Serve the endpoints; returns the coroutine function that stops the server."""
    host, port = parse_addr(addr)
    runner = web.AppRunner(build_app(readiness), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"MONITOR_HTTP_ADDR: cannot listen on {addr}: {exc.strerror}") from None
    return runner.cleanup

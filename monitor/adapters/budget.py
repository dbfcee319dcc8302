"""The parse budget: one response is parsed in a worker process, within time and memory.

A hostile body can make a parser run for minutes (a regular expression gone quadratic, an
entity bomb) or take gigabytes, and a thread cannot be stopped. So a poll's parse runs in a
worker process whose address space is capped (`RLIMIT_AS`, `MEMORY` by default) and which is
killed when the parse overruns its seconds: the time left of `MONITOR_DEADLINE` once the request
is in (`base.poll` counts it). An overrun is one line, `NotAFeed` (kind `malformed`); a parse
over the memory cap is `TooLarge` (kind `too_large`). Other errors come back as they were raised.

Workers are started on first use, reused from parse to parse (a round trip costs about a
millisecond, a spawn a few hundred), at most `MAX_WORKERS` at once, and replaced only when one
was killed, ran out of memory or died. `shutdown()` (also at exit) stops the idle ones; a
worker dies with its parent (Linux), and a CPU limit a little past each job's seconds is the
backstop elsewhere, so a parent killed mid-parse leaves no parse running.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import pickle
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from monitor.errors import InternalError, NotAFeed, TooLarge
from monitor.models import Item, RawResponse, Source

log = logging.getLogger("monitor.adapters")

MEMORY = 512 * 2**20  # bytes of address space a worker may use while it parses
MIN_SECONDS = 1.0  # a response that arrived just before the deadline still gets this long
MAX_WORKERS = max(2, min(4, os.cpu_count() or 2))
START_TIMEOUT = 60.0  # seconds a new worker may take to import the adapters (not the budget's)


@dataclass(frozen=True, slots=True)
class Budget:
    """What one response's parse may use: `seconds` of wall time, `memory` bytes."""

    seconds: float
    memory: int = MEMORY


class _Died(Exception):
    """The worker ended without an answer (a crash, or killed from outside)."""


class _Overran(Exception):
    """No answer within the seconds given."""


class _Worker:
    """One process that parses what it is sent, one response at a time.

    A plain `python -c` child with two pipes rather than a `multiprocessing` one: spawning
    those runs the parent's main script again in the child, which a script without a
    `__main__` guard cannot survive, and forking a threaded parent is unsafe."""

    def __init__(self) -> None:
        jobs_r, jobs_w = os.pipe()
        answers_r, answers_w = os.pipe()
        code = (f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r}; "
                f"from monitor.adapters.budget import _serve; _serve({jobs_r}, {answers_w})")
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(jobs_r, answers_w),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         close_fds=True)
        finally:
            os.close(jobs_r)
            os.close(answers_w)
        self.jobs = Connection(jobs_w, readable=False)
        self.answers = Connection(answers_r, writable=False)
        try:
            if not self.answers.poll(START_TIMEOUT):
                raise InternalError(f"a parse worker did not start within {START_TIMEOUT:g}s")
            self.answers.recv_bytes()  # ready
        except (EOFError, OSError):
            self.kill()
            raise InternalError("a parse worker died while starting") from None
        except BaseException:
            self.kill()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, payload: bytes, seconds: float) -> tuple[Any, ...]:
        """Send one job and wait at most `seconds` for its answer; `_Overran` if none."""
        try:
            self.jobs.send_bytes(payload)
            if not self.answers.poll(seconds):
                raise _Overran
            return pickle.loads(self.answers.recv_bytes())
        except (EOFError, OSError) as exc:
            raise _Died(f"exit code {self.proc.poll()}") from exc

    def kill(self) -> None:
        """Stop the process now and reap it: no worker is left running after an overrun."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.jobs.close()
        self.answers.close()


_lock = threading.Lock()
_idle: list[_Worker] = []
_slots = threading.BoundedSemaphore(MAX_WORKERS)
last_pid: int | None = None  # the pid of the worker that took the latest parse (for tests)


def parse(parse: Any, raw: RawResponse, source: Source, budget: Budget) -> list[Item]:
    """`parse(raw, source)` (any picklable callable; `base.parse_checked` and an adapter's
    `parse` are) in a worker, within `budget`; raises what the parse raised, `NotAFeed` after
    `budget.seconds` (waiting for a free worker included), `TooLarge` over `budget.memory`."""
    global last_pid
    entered = time.monotonic()
    payload = pickle.dumps((parse, raw, source, budget.seconds, budget.memory),
                           protocol=pickle.HIGHEST_PROTOCOL)
    with _slots:
        worker = _take()
        last_pid = worker.pid
        # waiting for a worker (and starting one) counts, down to MIN_SECONDS at most
        seconds = max(min(budget.seconds, MIN_SECONDS), budget.seconds - (time.monotonic()
                                                                           - entered))
        try:
            reply = worker.run(payload, seconds)
        except _Overran:
            worker.kill()
            raise NotAFeed(f"{raw.url}: not parsed within its {seconds:.3g}s parse budget; "
                           "the worker was stopped") from None
        except _Died as exc:
            worker.kill()
            raise TooLarge(f"{raw.url}: the parse ended its worker ({exc}), as one over the "
                           f"{budget.memory // 2**20} MB parse budget does", url=raw.url) from None
        except BaseException:  # interrupted while waiting: the worker is in an unknown state
            worker.kill()
            raise
        if reply[0] == "memory":
            worker.kill()
            raise TooLarge(f"{raw.url}: parsing took over the {budget.memory // 2**20} MB "
                           "parse budget", url=raw.url)
        _give(worker)
    return _result(reply, raw)


def _result(reply: tuple[Any, ...], raw: RawResponse) -> list[Item]:
    kind, value, text = reply
    if kind == "items":
        return value
    if kind == "raised":
        value.add_note(f"in the parse worker:\n{text}")
        raise value
    log.error("parse of %s failed in the worker:\n%s", raw.url, text)
    raise InternalError(f"{raw.url}: {value}")


def _take() -> _Worker:
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                return worker
            worker.kill()
    return _Worker()


def _give(worker: _Worker) -> None:
    with _lock:
        _idle.append(worker)


def workers() -> list[int]:
    """The pids of the idle workers."""
    with _lock:
        return [w.pid for w in _idle if w.alive()]


def shutdown() -> None:
    """Stop every idle worker (a busy one is stopped when its parse ends or overruns)."""
    with _lock:
        idle, _idle[:] = list(_idle), []
    for worker in idle:
        worker.kill()


atexit.register(shutdown)


def _serve(jobs_fd: int, answers_fd: int) -> None:  # pragma: no cover - in the worker
    """The worker: import the adapters, then parse job after job until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to act on
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:
        return
    jobs, answers = Connection(jobs_fd, writable=False), Connection(answers_fd, readable=False)
    import monitor.adapters as adapters

    for name in adapters.ADAPTERS.values():
        adapters.get_adapter(name)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    answers.send_bytes(b"ready")
    while True:
        try:
            answer = _job(jobs.recv_bytes(), hard)  # the job's bytes are freed as it parses
        except (EOFError, OSError):
            return
        answers.send_bytes(answer)


def _die_with_parent() -> None:  # pragma: no cover - runs in the worker
    """SIGKILL this worker when the thread that started it ends (Linux): a parent killed with
    kill -9 mid-parse leaves no runaway parse behind, and an idle worker whose thread ended is
    replaced. Elsewhere the CPU limit of each job is the backstop."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _job(job: bytes, hard: int) -> bytes:  # pragma: no cover - runs in the worker
    reply: tuple[Any, ...]
    try:
        parse, raw, source, seconds, memory = pickle.loads(job)
        del job
        limit = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        cpu = resource.getrlimit(resource.RLIMIT_CPU)
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(used.ru_utime + used.ru_stime + seconds) + 5  # SIGXCPU past it: a backstop
        resource.setrlimit(resource.RLIMIT_CPU, (soft if cpu[1] == resource.RLIM_INFINITY
                                                 else min(soft, cpu[1]), cpu[1]))
        try:
            reply = ("items", parse(raw, source), "")
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            resource.setrlimit(resource.RLIMIT_CPU, cpu)
    except MemoryError:
        reply = ("memory", None, "")
    except BaseException as exc:  # noqa: BLE001 - every error goes back to the parent
        reply = ("raised", exc, traceback.format_exc(limit=-8))
    try:
        answer = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        if reply[0] == "raised":
            pickle.loads(answer)  # an exception that pickles but cannot be rebuilt
        return answer
    except MemoryError:
        return pickle.dumps(("memory", None, ""))
    except Exception:  # noqa: BLE001 - an exception or item that does not pickle
        text = reply[2] or traceback.format_exc(limit=-8)
        value = reply[1]
        what = f"{type(value).__name__}: {value}" if reply[0] == "raised" else "unpicklable items"
        return pickle.dumps(("failed", what.splitlines()[0] if what else what, text))


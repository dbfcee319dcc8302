"""Reliability in one run: hostile inputs timed, hostile cards and Telegram outages through the
real bot, then the real daemon killed with SIGKILL.

1. Every attack of tests/hostile.py (entity bombs behind decoy DOCTYPEs, JSON nested 100,000
   deep, inputs crafted against the adapters' regular expressions, dates out of range), each
   in a forked child so that one that runs away is stopped at `--timeout` instead of stopping
   the bench: its time, its peak memory (tracemalloc) and how it ended (items, a one-line
   error, or a traceback). Goal: each under 1 s and 100 MB. Each again as a poll parses it,
   through the parse budget (monitor/adapters/budget.py: a worker process given `--deadline`
   seconds and a memory cap): it must end within the deadline. Then the adapter fuzz of the
   suite (tests/test_fuzz_adapters.py) and its count. Between them, the regex audit's crafted
   inputs (tests/test_regex_linear.py, about 80 KB each), timed the same way.
2. Hostile-title cards (tests/hostile_cards.py): titles and summaries with broken markup,
   stray < > &, entities, NUL and control characters, lone surrogates, emoji, bidirectional
   marks and thousands of UTF-16 units, in an RSS feed and a JSON API polled from the replay
   server and in items imported, through the real pipeline and the real bot (its own process)
   to the test Bot API server, which refuses what Telegram refuses. Counts: cards queued,
   messages sent, invalid messages (goal 0), cards lost (goal 0).
3. Telegram outage phases (tests/outages.py): while an item is stored every 0.4 s, the Bot
   API stand-in refuses one editor chat ("bot was kicked"), then goes unreachable (connection
   refused), answers 502, leaves sends unanswered until python-telegram-bot gives up, answers
   429 with retry_after, and the bot is killed with SIGKILL while a send is in flight (the
   server still delivers it); then it is up until the outbox drains. Per phase and in total:
   cards queued, sent during the phase, delivered, lost (goal 0), duplicates (goal: no more
   than the cards a kill cut off mid-request), order kept per chat, and whether the refusing
   chat was announced in the other chat and the log (goal: once).
4. Kill -9 durability (tests/durability.py): `monitor run` against growing feeds on the replay
   server and the test Bot API server, killed `--kills` times at random moments of start-up,
   ingest and posting, restarted each time, then drained. On SQLite, and on PostgreSQL when
   `--postgres URL` (or MONITOR_TEST_POSTGRES_URL) names a server (a fresh database is made
   there). Goals: 0 lost, 0 missed, 0 duplicate items, integrity ok, 0 uncarded, duplicate
   cards <= kills that left a card claimed and unsent, 0 out of order, 0 decisions lost.

    .venv/bin/python bench/reliability.py [--kills 30] [--postgres URL] [--seed N]
        [--deadline 6] [--attacks-only | --cards-only]

`--attacks-only` stops after phase 1; `--cards-only` runs phases 2 and 3 alone. The exit
status is 1 when any goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import _fresh_postgres_database  # a new database on the given server
from durability import Outcome, run
from hostile import ATTACKS
from hostile_cards import HostileOutcome, run_hostile_cards
from outages import CHAT, KICKED, OutageRun, run_outages
from test_parse_budget import attack
from test_regex_linear import REGEX_ATTACKS

from monitor.adapters import budget
from monitor.errors import MonitorError
from monitor.models import RawResponse, Source

GOAL_S, GOAL_MB = 1.0, 100.0


def _attack(name: str, conn: Connection) -> None:
    """In the child: run one attack under tracemalloc and send back how it went."""
    tracemalloc.start()
    began = time.perf_counter()
    try:
        result = (ATTACKS.get(name) or REGEX_ATTACKS[name])()
        outcome = f"{len(result)} items" if isinstance(result, list) else "ok"
    except MonitorError as exc:
        outcome = f"error: {type(exc).__name__}" + (" (multi-line!)" if "\n" in str(exc) else "")
    except BaseException as exc:  # noqa: BLE001 - the traceback is what is being counted
        outcome = f"TRACEBACK {type(exc).__name__}"
    seconds = time.perf_counter() - began
    conn.send((seconds, tracemalloc.get_traced_memory()[1] / 2**20, outcome))


def time_attack(name: str, timeout: float) -> tuple[float, float | None, str]:
    """(seconds, peak MB or None, outcome) of one attack, stopped after `timeout` seconds."""
    parent, child = multiprocessing.Pipe(duplex=False)
    proc = multiprocessing.get_context("fork").Process(target=_attack, args=(name, child))
    began = time.perf_counter()
    proc.start()
    if parent.poll(timeout):
        seconds, peak, outcome = parent.recv()
        proc.join()
        return seconds, peak, outcome
    proc.kill()
    proc.join()
    return time.perf_counter() - began, None, f"STOPPED after {timeout:.0f} s"


def through_budget(name: str, deadline: float) -> tuple[float, str]:
    """(seconds, outcome) of one attack parsed as a poll parses: in the budget's worker, with
    `deadline` seconds (MONITOR_DEADLINE) and its memory cap."""
    body = RawResponse(url="https://example.org/feed", content=name.encode())
    source = Source(id="bench", name="bench", adapter="rss", urls=(body.url,), language="en",
                    interval=timedelta(minutes=30))
    began = time.perf_counter()
    try:
        outcome = budget.parse(attack, body, source, budget.Budget(deadline))[0]
    except MonitorError as exc:
        outcome = exc.kind + (" (multi-line!)" if "\n" in str(exc) else "")
    except BaseException as exc:  # noqa: BLE001 - the traceback is what is being counted
        outcome = f"TRACEBACK {type(exc).__name__}"
    return time.perf_counter() - began, outcome


def print_attacks(timeout: float, deadline: float) -> int:
    """The attack table; returns how many missed a goal (in-process; through the parse budget
    each must end within the deadline and without a traceback)."""
    budget_column = f"budget {deadline:g}s"
    print(f"{'attack':<50}{'time':>9}{'peak':>10}  {'outcome':<22}{budget_column:>14}")
    missed = 0
    through_budget("date: year 1 in page text", deadline)  # the worker started before timing
    for name in ATTACKS:
        seconds, peak, outcome = time_attack(name, timeout)
        bad = (seconds >= GOAL_S or peak is None or peak >= GOAL_MB
               or outcome.startswith(("TRACEBACK", "STOPPED")) or "multi-line" in outcome)
        held, ended = through_budget(name, deadline)
        bad_budget = held >= deadline + GOAL_S or ended.startswith("TRACEBACK") or "!" in ended
        missed += bad or bad_budget
        shown = "—" if peak is None else f"{peak:.1f} MB"
        print(f"{name:<50}{seconds:>7.3f} s{shown:>10}  {outcome:<22}{held:>7.3f} s {ended}"
              f"{'   ✗ goal' if bad or bad_budget else ''}")
    print(f"goal: each < {GOAL_S:.0f} s and < {GOAL_MB:.0f} MB, no traceback; through the parse "
          f"budget (a worker process, {deadline:g} s, {budget.MEMORY // 2**20} MB) each ended "
          f"within the deadline; {missed} of {len(ATTACKS)} missed it\n")
    return missed


def print_regex_attacks(timeout: float) -> int:
    """The regex audit's crafted inputs, each timed in a child; returns how many missed a goal."""
    print(f"{'regex audit (tests/test_regex_linear.py)':<66}{'time':>9}{'peak':>10}  outcome")
    missed = 0
    for name in REGEX_ATTACKS:
        seconds, peak, outcome = time_attack(name, timeout)
        bad = (seconds >= GOAL_S or peak is None or peak >= GOAL_MB
               or outcome.startswith(("TRACEBACK", "STOPPED")) or "multi-line" in outcome)
        missed += bad
        shown = "—" if peak is None else f"{peak:.1f} MB"
        print(f"{name:<66}{seconds:>7.3f} s{shown:>10}  {outcome}{'   ✗ goal' if bad else ''}")
    print(f"goal: each < {GOAL_S:.0f} s and < {GOAL_MB:.0f} MB; {missed} of {len(REGEX_ATTACKS)} "
          "missed it\n")
    return missed


def print_fuzz() -> int:
    """The adapter fuzz (tests/test_fuzz_adapters.py) run as the suite runs it; returns 1 if
    any adapter failed."""
    import subprocess

    from test_fuzz_adapters import EXAMPLES, adapters_of_cases

    began = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(ROOT / "tests" / "test_fuzz_adapters.py")], cwd=ROOT,
                         capture_output=True, text=True)
    summary = (out.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
    adapters = len(adapters_of_cases())
    print(f"fuzz: {adapters} adapters x {EXAMPLES} mutated recorded responses = "
          f"{adapters * EXAMPLES}, each within its budget and without a traceback unless "
          f"said here: {summary} ({time.perf_counter() - began:.0f} s)\n")
    return int(out.returncode != 0)


def print_hostile_cards(outcome: HostileOutcome) -> int:
    """The hostile-title cards' counts; returns 1 if a goal was missed."""
    rows = [("items offered / stored", f"{outcome.offered} / {outcome.stored}"),
            ("cards queued (items x editor chats)", outcome.queued),
            ("messages sent (as plain text after a refusal)", f"{outcome.sent} ({outcome.plain})"),
            ("invalid messages (refused as Telegram would)", outcome.invalid),
            ("cards lost (queued, never delivered)", outcome.lost),
            ("duplicate cards", outcome.duplicates),
            ("polls that failed", "; ".join(outcome.poll_errors) or 0),
            ("tracebacks in the bot's log", outcome.tracebacks),
            ("wall time", f"{outcome.seconds:.0f} s"),
            ("goals missed (0 invalid, 0 lost)", ", ".join(outcome.failures()) or "none")]
    print("hostile-title cards (tests/hostile_cards.py): an RSS feed and a JSON API polled, "
          "items imported; the real bot to the test Bot API server")
    for label, value in rows:
        print(f"  {label:<48}{value!s:>12}")
    for reason in outcome.reasons:
        print(f"  refused: {reason}")
    print()
    return int(bool(outcome.failures()))


def print_outages(run: OutageRun) -> int:
    """Each outage phase's cards, counted once everything drained; returns 1 if a goal was
    missed."""
    print(f"{'Telegram outage phases (tests/outages.py)':<44}{'secs':>5}{'queued':>8}"
          f"{'in phase':>10}{'delivered':>11}{'lost':>6}{'dup (allowed)':>15}{'order':>7}")
    for phase in (*run.phases, run.total):
        print(f"{phase.name:<44}{phase.seconds:>5.0f}{phase.queued:>8}{phase.sent_during:>10}"
              f"{phase.delivered:>11}{phase.lost:>6}"
              f"{f'{phase.duplicates} ({phase.allowed})':>15}"
              f"{'kept' if phase.in_order else 'NO':>7}")
    telegram = sum(n for logger, n in run.tracebacks.items() if logger.startswith("telegram"))
    print(f"cards per phase: queued while it ran (x {len((CHAT, KICKED))} editor chats), sent "
          "before it ended, delivered once Telegram was back; duplicates allowed: cards a kill "
          f"cut off mid-request ({run.total.kills} kill)")
    print(f"chat {KICKED} refusing the bot: announced in chat {CHAT}: "
          f"{'yes' if run.announced else 'NO'} ({run.announced} message), in the log: "
          f"{'yes' if run.logged else 'NO'}; requests the server never answered: {run.hung}")
    print(f"tracebacks in the bot's log: {sum(run.tracebacks.values()) - telegram} from monitor, "
          f"{telegram} from python-telegram-bot's updater (getUpdates failing while it was down)")
    print(f"goals missed (0 lost, duplicates <= allowed, order kept, announced once): "
          f"{', '.join(run.failures()) or 'none'} ({run.seconds:.0f} s)\n")
    return int(bool(run.failures()))


def print_kills(outcomes: list[Outcome]) -> int:
    rows = [("kills (start-up/ingest/posting)", lambda o: f"{o.kills} ({o.phases['start-up']}/"
             f"{o.phases['ingest']}/{o.phases['posting']})"),
            ("kills that left a card mid-send", lambda o: o.mid_send),
            ("items offered / stored", lambda o: f"{o.served} / {o.stored}"),
            ("committed items lost", lambda o: o.lost),
            ("offered, never stored", lambda o: o.missed),
            ("duplicate items", lambda o: o.duplicate_items),
            ("integrity_check after each kill", lambda o: ",".join(sorted(set(o.integrity)))),
            ("relevant items / card messages", lambda o: f"{o.relevant} / {o.cards}"),
            ("joined their story's card", lambda o: o.joined),
            ("duplicate cards (allowed: mid-send)", lambda o: f"{o.duplicate_cards} "
             f"(<= {o.mid_send})"),
            ("relevant items never carded", lambda o: o.uncarded),
            ("cards out of queue order", lambda o: o.out_of_order),
            ("Keep presses just before a kill / lost", lambda o: f"{o.decisions} / "
             f"{o.decisions_lost}"),
            ("tracebacks in the daemon's log", lambda o: o.tracebacks),
            ("wall time", lambda o: f"{o.seconds:.0f} s"),
            ("goals missed", lambda o: ", ".join(o.failures()) or "none")]
    print(f"{'kill -9':<40}" + "".join(f"{o.database:>22}" for o in outcomes))
    for label, value in rows:
        print(f"{label:<40}" + "".join(f"{value(o)!s:>22}" for o in outcomes))
    return sum(bool(o.failures()) for o in outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--postgres", default=os.environ.get("MONITOR_TEST_POSTGRES_URL"),
                        help="a PostgreSQL server URL (a fresh database is created there)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per attack")
    parser.add_argument("--deadline", type=float, default=6.0,
                        help="MONITOR_DEADLINE for the attacks through the parse budget")
    parser.add_argument("--attacks-only", action="store_true", help="stop after the attacks")
    parser.add_argument("--cards-only", action="store_true",
                        help="only the hostile-title cards and the Telegram outage phases")
    args = parser.parse_args()
    missed = 0
    if not args.cards_only:
        missed += print_attacks(args.timeout, args.deadline) + print_regex_attacks(args.timeout)
        if args.attacks_only:
            return 1 if missed else 0
        missed += print_fuzz()
    with tempfile.TemporaryDirectory(prefix="monitor-reliability-") as tmp:
        missed += print_hostile_cards(asyncio.run(run_hostile_cards(Path(tmp) / "hostile")))
        missed += print_outages(asyncio.run(run_outages(Path(tmp) / "outages", seed=args.seed)))
    if args.cards_only:
        return 1 if missed else 0
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="monitor-reliability-") as tmp:
        databases = [f"sqlite:///{Path(tmp) / 'sqlite' / 'monitor.sqlite3'}"]
        if args.postgres:
            databases.append(asyncio.run(_fresh_postgres_database(args.postgres)))
        else:
            print("PostgreSQL: not run (give --postgres URL or MONITOR_TEST_POSTGRES_URL)")
        for url in databases:
            name = url.split(":", 1)[0]
            outcomes.append(run(url, Path(tmp) / name, args.kills, seed=args.seed))
    failed = print_kills(outcomes)
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())

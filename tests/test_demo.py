"""`monitor demo` shows the whole system on recorded responses and stops by itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_prints_cards_and_health_then_stops(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MONITOR_"))}
    env.pop("DATABASE_URL", None)
    # It stops by itself: within the timeout, with exit 0. No wall-clock bound beyond that: on a
    # busy machine fitting the fallback model alone can take a minute.
    out = subprocess.run([sys.executable, "-m", "monitor", "demo", "--seconds", "12"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("┌") >= 10, "candidate cards are printed"
    assert "items stored:" in out.stdout
    assert "broken_demo        failing" in out.stdout and "http_5xx" in out.stdout
    assert "tass               ok" in out.stdout
    assert "Traceback" not in out.stderr

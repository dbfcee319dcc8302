"""Kill -9 durability, a short run: the real daemon killed with SIGKILL three times, during
start-up, ingest or posting (tests/durability.py picks the moments), then drained.

Nothing committed may be lost or stored twice, the SQLite file must pass its integrity check,
every relevant item must be carded, and a card may repeat only once per kill that left it
claimed and unsent. `bench/reliability.py` runs the same with 30 kills.
"""

from __future__ import annotations

import pytest
from durability import run


@pytest.mark.slow
def test_kill_9_loses_nothing_and_repeats_only_cards_in_flight(db_url, tmp_path) -> None:
    outcome = run(db_url, tmp_path / "daemon", kills=3, seed=3, press=0.5)
    assert outcome.kills == 3 and outcome.served > 0 and outcome.relevant > 0, outcome
    assert outcome.stored == outcome.served, outcome
    assert not outcome.failures(), outcome

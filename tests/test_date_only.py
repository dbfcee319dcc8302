"""Items known only to the day (MFA listings) keep their own calendar day: on the card and in
the week's draft, whatever the editor's zone (here Europe/London, where 00:00 Beijing time is
the previous evening)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import ROOT, shared_path

from monitor.bot import render
from monitor.config.topics import load_topics
from monitor.models import Item

LISTING = "fixtures/feeds/fmprc/en-regular-press-conference-listing-default-2020-07-04.html"
LISTING_URL = ("https://www.fmprc.gov.cn/mfa_eng/xwfw_665399/s2510_665401/2511_665403/"
               "default.shtml")
TITLE = "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on June 29, 2020"


def monitor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "TELEGRAM_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'm.sqlite3'}", MONITOR_STORAGE=str(tmp_path),
               MONITOR_TIMEZONE="Europe/London", MONITOR_MAX_AGE="0",
               MONITOR_SOURCES=str(ROOT / "sources.yaml"), MONITOR_TOPICS=str(ROOT / "topics.yaml"))
    return subprocess.run([sys.executable, "-m", "monitor", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_a_date_only_item_of_monday_29_june_is_that_day_in_london(tmp_path: Path) -> None:
    listing = shared_path(LISTING)
    imported = monitor(tmp_path, "import", "--source", "mfa_en_briefings", "--url", LISTING_URL,
                       str(listing))
    assert imported.returncode == 0, imported.stderr
    week = monitor(tmp_path, "items", "--week", "2020-W27", "--json", "--limit", "500")
    rows = [json.loads(line) for line in week.stdout.splitlines()]
    (row,) = [r for r in rows if r["title"].replace("’", "'") == TITLE]
    assert row["published"] == "2020-06-29T12:00:00Z"
    previous = monitor(tmp_path, "items", "--week", "2020-W26", "--json", "--limit", "500")
    assert TITLE not in previous.stdout.replace("’", "'")

    table = monitor(tmp_path, "export", "--week", "2020-W27", "--format", "csv", "--out", "-")
    assert table.returncode == 0 and TITLE in table.stdout.replace("’", "'")

    item = Item(source=row["source"], url=row["url"], title=row["title"], date_only=True,
                published=datetime.fromisoformat(row["published"].replace("Z", "+00:00")))
    card = render.card_text(item, load_topics(ROOT / "topics.yaml"), ZoneInfo("Europe/London"),
                            "MFA (EN)")
    assert "Mon 29 Jun 2020" in card and "Sun 28 Jun" not in card and "01:00" not in card

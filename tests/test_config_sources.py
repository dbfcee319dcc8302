"""sources.yaml: the shipped file is complete and valid; bad entries stop start-up naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from monitor.adapters import ADAPTERS, get_adapter
from monitor.config.sources import load_sources, parse_interval
from monitor.errors import ConfigError

OUTLETS = {"TASS", "Kremlin", "PRC Ministry of Foreign Affairs", "RFE/RL", "Xinhua",
           "People's Daily", "Global Times", "Carnegie Endowment for International Peace", "CSIS",
           "Atlantic Council", "Hoover Institution", "War on the Rocks", "Foreign Affairs",
           "ASPI The Strategist", "Jamestown Foundation"}


def test_shipped_sources_cover_every_outlet(sources) -> None:
    assert len(sources) >= 18
    assert OUTLETS <= {s.outlet for s in sources.values()}
    langs = {(s.outlet, s.language) for s in sources.values()}
    assert {("TASS", "ru"), ("Kremlin", "ru"), ("PRC Ministry of Foreign Affairs", "zh"),
            ("PRC Ministry of Foreign Affairs", "en"), ("People's Daily", "zh")} <= langs
    for source in sources.values():
        assert source.enabled or source.reason, f"{source.id}: disabled without a reason"
        assert callable(get_adapter(source.adapter).parse)


def test_every_adapter_module_imports() -> None:
    for name in ADAPTERS:
        assert callable(get_adapter(name).parse), name


ENTRY = """sources:
  - id: one
    adapter: rss
    urls: [https://example.org/feed]
    interval: 30m
"""


@pytest.mark.parametrize("change, message", [
    (("adapter: rss", "adapter: nosuch"), "source 'one': key 'adapter': unknown adapter 'nosuch'"),
    (("interval: 30m", "interval: soon"), "source 'one': key 'interval': 'soon' is not an interval"),
    (("interval: 30m", "interval: 10s"), "source 'one': key 'interval': '10s' is shorter"),
    (("urls: [https://example.org/feed]", "urls: [ftp://x]"), "source 'one': key 'urls'"),
    (("interval: 30m", "interval: 30m\n    colour: red"), "source 'one': key 'colour': unknown key"),
    (("interval: 30m", "interval: 30m\n    timezone: Mars/Olympus"), "key 'timezone'"),
    (("interval: 30m", "interval: 30m\n    options: {calendar: {days: sundays}}"),
     "key 'options.calendar': days must be weekdays or daily"),
    (("interval: 30m", "interval: 30m\n    options: {relevance_threshold: 2}"),
     "key 'options.relevance_threshold'"),
])
def test_bad_entries_name_the_entry_and_the_key(tmp_path: Path, change, message) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(ENTRY.replace(*change), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(path, ADAPTERS)
    assert message in str(info.value)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_duplicate_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(ENTRY + ENTRY.split("\n", 1)[1], encoding="utf-8")
    with pytest.raises(ConfigError, match="source 'one': key 'id': duplicate id"):
        load_sources(path, ADAPTERS)


def test_intervals() -> None:
    assert parse_interval("90s").total_seconds() == 90
    assert parse_interval("2h").total_seconds() == 7200
    assert parse_interval(600).total_seconds() == 600


def test_bad_sources_file_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(ENTRY.replace("adapter: rss", "adapter: nosuch"), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "monitor", "sources"], cwd=ROOT,
                         env={"MONITOR_SOURCES": str(path), "MONITOR_STORAGE": str(tmp_path),
                              "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "key 'adapter': unknown adapter 'nosuch'" in lines[0]

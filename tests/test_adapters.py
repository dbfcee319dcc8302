"""Every adapter against recorded responses, with expected JSON: one parametrized test.

A case is `tests/fixtures/adapters/<case>.json`:
    {"source": <id in sources.yaml>, "body": "shared:<path under ../shared/fixtures/feeds>"
     or "local:<path under tests/fixtures/feeds>", "url": <the URL it was fetched from>,
     "synthetic": <true for responses we wrote ourselves>, "items": [Item JSON...]}
or, for a body the adapter must refuse, "error": "<error kind>" instead of "items".
Items are compared after `normalize`, i.e. as `monitor import --json` prints them.
Run `pytest tests/test_adapters.py --update-expected` to rewrite the JSON after a parser
change, then review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, shared_path

from monitor.adapters import get_adapter
from monitor.adapters.base import parse_checked
from monitor.errors import ParseError
from monitor.fetch.saved import read_saved
from monitor.pipeline.normalize import normalize

CASES = sorted((FIXTURES / "adapters").glob("*.json"))


def body_path(spec: str) -> Path:
    kind, _, rel = spec.partition(":")
    if kind == "shared":
        return shared_path(f"fixtures/feeds/{rel}")
    assert kind == "local", f"body must start with shared: or local:, not {spec!r}"
    return FIXTURES / "feeds" / rel


def run_case(case: dict, sources: dict) -> dict:
    source = sources[case["source"]]
    raw = read_saved(body_path(case["body"]), case["url"])
    adapter = get_adapter(source.adapter)
    try:
        items = parse_checked(adapter.parse, raw, source)
    except ParseError as exc:
        return {"error": exc.kind}
    return {"items": [normalize(item, source, raw.url).to_json() for item in items]}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_adapter_case(path: Path, sources: dict, request: pytest.FixtureRequest) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    got = run_case(case, sources)
    if request.config.getoption("--update-expected"):
        case.pop("items", None), case.pop("error", None)
        case.update(got)
        path.write_text(json.dumps(case, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
    expected = {k: case[k] for k in ("items", "error") if k in case}
    assert got == expected


def test_every_enabled_adapter_has_a_case(sources: dict) -> None:
    cases = [json.loads(p.read_text(encoding="utf-8")) for p in CASES]
    covered = {sources[c["source"]].adapter for c in cases}
    wanted = {s.adapter for s in sources.values() if s.enabled}
    assert wanted <= covered, f"adapters without a recorded case: {sorted(wanted - covered)}"

"""The week as a table (CSV or JSON): one row per stored item, every status, for spreadsheets.

Unlike the draft, the table hides nothing: skipped, off-topic and duplicate copies are rows
too (with their status, bucket and story), so compilers can filter and the classifier can be
checked; `--kept-only` keeps only the kept rows. Rows are ordered kept, new, skipped, then by
section order and time.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from monitor.config.topics import Topics
from monitor.export.draft import moment
from monitor.models import Item, iso_utc

COLUMNS = ("week", "bucket", "status", "source", "url", "title", "published", "comment",
           "confidence", "reviewed_by", "outlet", "authors", "first_seen", "story", "original")
_STATUS_ORDER = {"kept": 0, "new": 1, "skipped": 2}
# A spreadsheet runs a cell starting with one of these as a formula; text from the web must not.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def table_rows(items: list[Item], topics: Topics, outlets: dict[str, str], week: str, *,
               kept_only: bool = False) -> list[dict[str, Any]]:
    """Typed rows (None for unknown) in COLUMNS order; JSON prints them as they are."""
    order = {b: n for n, b in enumerate(topics.ids)}
    chosen = [i for i in items if i.status == "kept" or not kept_only]
    chosen.sort(key=lambda i: (_STATUS_ORDER.get(i.status, 3), order.get(i.bucket or "", 99),
                               moment(i), i.id or 0))
    return [{
        "week": week, "bucket": item.bucket, "status": item.status, "source": item.source,
        "url": item.url, "title": item.title, "published": iso_utc(item.published),
        "comment": item.comment or None,
        "confidence": None if item.confidence is None else round(item.confidence, 3),
        "reviewed_by": item.reviewed_by, "outlet": outlets.get(item.source, item.source),
        "authors": list(item.authors), "first_seen": iso_utc(item.first_seen),
        "story": item.story, "original": item.original,
    } for item in chosen]


def flat(row: dict[str, Any]) -> dict[str, str]:
    """A row as the strings a CSV file holds: '' for unknown, 'true'/'false', authors joined."""
    out = {}
    for key in COLUMNS:
        value = row[key]
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = "; ".join(value)
        else:
            text = str(value)
        out[key] = "'" + text if text.startswith(_FORMULA_START) else text
    return out


def render_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(flat(r) for r in rows)
    return buffer.getvalue()


def render_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"

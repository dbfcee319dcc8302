"""dedupe: one item per key, the folded headline signature, copies naming another outlet.

Linking reports into stories is tested in test_stories.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from monitor.models import Item
from monitor.pipeline.dedupe import is_copy, title_signature, unique_by_key, vector_bytes

T0 = datetime(2026, 11, 16, 8, 0, tzinfo=timezone.utc)
OUTLETS = {"xinhua": "Xinhua", "peoples_daily_zh": "People's Daily", "globaltimes": "Global Times"}


def item(key: str, source: str, title: str, hours: float, origin: str | None = None) -> Item:
    return Item(source=source, url=f"https://x/{key}", title=title, key=key,
                published=T0 + timedelta(hours=hours), origin=origin)


def test_the_same_headline_folds_to_one_signature() -> None:
    assert title_signature("Xi, Putin hold talks — in Moscow") == \
        title_signature("Xi, Putin hold talks in Moscow!")
    assert title_signature("China's exports rise 5 percent") != \
        title_signature("Xi, Putin hold talks in Moscow")
    assert title_signature("…") == ""


def test_a_page_naming_another_outlet_is_a_copy() -> None:
    copy = item("p", "peoples_daily_zh", "习近平同普京举行会谈", 0, origin="新华网")
    assert is_copy(copy, "People's Daily") and not is_copy(copy, "Xinhua")
    assert not is_copy(item("x", "xinhua", "习近平同普京举行会谈", 0), "Xinhua")


def test_embeddings_are_stored_as_float16() -> None:
    v = np.linspace(-1, 1, 512, dtype=np.float32)
    stored = vector_bytes(v)
    assert len(stored) == 1024
    assert np.allclose(np.frombuffer(stored, dtype=np.float16), v, atol=1e-3)


def test_unique_by_key_keeps_the_first() -> None:
    a1, a2 = item("a", "xinhua", "one", 0), item("a", "xinhua", "two", 0)
    assert [i.title for i in unique_by_key([a1, a2])] == ["one"]

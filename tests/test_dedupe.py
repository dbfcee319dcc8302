"""dedupe: copies of one story across outlets are linked, the first publisher marked original."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from monitor.models import Item, StoryRef
from monitor.pipeline.dedupe import (
    is_copy,
    link_stories,
    title_signature,
    unique_by_key,
    vector_bytes,
)

T0 = datetime(2026, 11, 16, 8, 0, tzinfo=timezone.utc)
OUTLETS = {"xinhua": "Xinhua", "peoples_daily_zh": "People's Daily", "globaltimes": "Global Times"}


def item(key: str, source: str, title: str, hours: float, origin: str | None = None) -> Item:
    return Item(source=source, url=f"https://x/{key}", title=title, key=key,
                published=T0 + timedelta(hours=hours), origin=origin)


def test_same_headline_across_outlets_is_one_story_with_the_earliest_original() -> None:
    late = item("b", "globaltimes", "Xi, Putin hold talks — in Moscow", 2)
    early = item("a", "xinhua", "Xi, Putin hold talks in Moscow!", 1)
    other = item("c", "xinhua", "China's exports rise 5 percent", 1.5)
    assert link_stories([late, early, other], OUTLETS, [], None) == []
    assert late.story == early.story == "a" and other.story == "c"
    assert (early.original, late.original, other.original) == (True, False, True)


def test_a_page_naming_another_outlet_is_a_copy_even_when_first() -> None:
    copy = item("p", "peoples_daily_zh", "习近平同普京举行会谈", 0, origin="新华网")
    assert is_copy(copy, "People's Daily") and not is_copy(copy, "Xinhua")
    original = item("x", "xinhua", "习近平同普京举行会谈", 0.5)
    link_stories([copy, original], OUTLETS, [], None)
    assert copy.story == original.story
    assert (original.original, copy.original) == (True, False)


def test_embeddings_link_reworded_copies_and_stored_originals_are_demoted() -> None:
    v = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    w = np.array([0.95, 0.312, 0.0], dtype=np.float32)
    w /= np.linalg.norm(w)
    stored = StoryRef(key="s1", source="globaltimes", story="s1", original=True,
                      published=T0 + timedelta(hours=3), title_sig=title_signature("GT headline"),
                      embedding=vector_bytes(v))
    new = item("n1", "xinhua", "Entirely different wording", 1)
    demoted = link_stories([new], OUTLETS, [stored], np.stack([w]))
    assert new.story == "s1" and new.original is True
    assert demoted == ["s1"]
    unrelated = item("n2", "xinhua", "Another story", 1)
    far = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    assert link_stories([unrelated], OUTLETS, [stored], far) == []
    assert unrelated.story == "n2" and unrelated.original


def test_unique_by_key_keeps_the_first() -> None:
    a1, a2 = item("a", "xinhua", "one", 0), item("a", "xinhua", "two", 0)
    assert [i.title for i in unique_by_key([a1, a2])] == ["one"]

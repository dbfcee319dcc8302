"""Dedupe: one key per item (enforced by the store), and the identity signals stories use.

State media copy travels: a Xinhua item reappears in People's Daily and Global Times, an
RFE/RL story in several service feeds. This module keeps the identity concerns: one item per
key within a poll, the folded title signature (the same headline from two outlets), whether a
page names another outlet as its source ("来源：新华网": a copy even if it arrived first), and
how embeddings are stored. Linking reports into stories is `pipeline.stories`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

from monitor.models import Item

_NOT_WORD = re.compile(r"[\W_]+", re.U)
# Names pages give for their original publisher → the outlet id we compare by.
_OUTLETS = {"新华网": "xinhua", "新华社": "xinhua", "xinhua": "xinhua", "xinhuanet": "xinhua",
            "人民网": "people's daily", "人民日报": "people's daily", "环球时报": "global times",
            "环球网": "global times", "тасс": "tass", "央视新闻": "cctv", "cctv": "cctv"}


def unique_by_key(items: list[Item]) -> list[Item]:
    """The first item of each key: the same article listed twice in one poll."""
    seen: dict[str, Item] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())


def title_signature(title: str) -> str:
    """Case, punctuation and spacing folded: the same headline from two outlets matches."""
    folded = _NOT_WORD.sub("", unicodedata.normalize("NFKC", title).casefold())
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()[:16] if folded else ""


def is_copy(item: Item, outlet: str) -> bool:
    """True when the page names a publisher other than the outlet it came from."""
    if not item.origin:
        return False
    origin = item.origin.strip().casefold()
    named = _OUTLETS.get(origin, origin)
    return named not in outlet.casefold() and outlet.casefold() not in named


def vector_bytes(vector: np.ndarray) -> bytes:
    """How embeddings are stored: float16, 1 KB for 512 dimensions."""
    return vector.astype(np.float16).tobytes()

"""Dedupe: one key per item (enforced by the store), and one story for copies across outlets.

State media copy travels: a Xinhua item reappears in People's Daily and Global Times, an
RFE/RL story in several service feeds, an MFA briefing in English and Chinese. Items are linked
into a story when their titles match after normalisation, or when their multilingual sentence
embeddings are close. In each story the first publisher is `original`; an item that names
another outlet as its source ("来源：新华网") is a copy even if it arrived first.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from monitor.models import Item, StoryRef

SAME_STORY = 0.86  # cosine of USE-multilingual vectors; same event across outlets ≈ 0.7–0.95
_NOT_WORD = re.compile(r"[\W_]+", re.U)
# Names pages give for their original publisher → the outlet id we compare by.
_OUTLETS = {"新华网": "xinhua", "新华社": "xinhua", "xinhua": "xinhua", "xinhuanet": "xinhua",
            "人民网": "people's daily", "人民日报": "people's daily", "环球时报": "global times",
            "环球网": "global times", "тасс": "tass", "央视新闻": "cctv", "cctv": "cctv"}


@dataclass(slots=True)
class Member:
    """A story member as dedupe sees it (stored or new)."""

    key: str
    story: str
    published: datetime | None
    copy: bool  # names another outlet as its source
    signature: str
    vector: np.ndarray | None
    stored: bool


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


def link_stories(new: list[Item], outlets: dict[str, str], refs: list[StoryRef],
                 vectors: np.ndarray | None) -> list[str]:
    """Set `story` and `original` on the new items; return stored keys no longer original.

    `vectors` holds one L2-normalised embedding per new item (or None to match titles only);
    `outlets` maps source id → outlet name.
    """
    members = [_stored_member(r) for r in refs]
    originals = {m.story: m for m, r in zip(members, refs) if r.original}
    demoted: list[str] = []
    order = sorted(range(len(new)), key=lambda i: _when(new[i].published))
    for i in order:
        item = new[i]
        me = Member(item.key, item.key, item.published, is_copy(item, outlets.get(item.source, "")),
                    title_signature(item.title), None if vectors is None else vectors[i], False)
        match = _best_match(me, members)
        item.story = me.story = match.story if match else item.key
        current = originals.get(me.story)
        if current is None or (not me.copy and (current.copy or
                                                _when(me.published) < _when(current.published))):
            if current is not None and current.stored:
                demoted.append(current.key)
            elif current is not None:
                _item_by_key(new, current.key).original = False
            originals[me.story] = me
            item.original = not me.copy
        else:
            item.original = False
        members.append(me)
    return demoted


def _best_match(me: Member, members: list[Member]) -> Member | None:
    if me.signature:
        for member in members:
            if member.signature == me.signature:
                return member
    if me.vector is None:
        return None
    best, best_score = None, SAME_STORY
    for member in members:
        if member.vector is not None:
            score = float(np.dot(me.vector, member.vector))
            if score >= best_score:
                best, best_score = member, score
    return best


def _stored_member(ref: StoryRef) -> Member:
    vector = (np.frombuffer(ref.embedding, dtype=np.float16).astype(np.float32)
              if ref.embedding else None)
    return Member(ref.key, ref.story, ref.published, False, ref.title_sig, vector, True)


def _item_by_key(items: list[Item], key: str) -> Item:
    return next(i for i in items if i.key == key)


def _when(value: datetime | None) -> datetime:
    return value or datetime.max.replace(tzinfo=timezone.utc)


def vector_bytes(vector: np.ndarray) -> bytes:
    """How embeddings are stored: float16, 1 KB for 512 dimensions."""
    return vector.astype(np.float16).tobytes()

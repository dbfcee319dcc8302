"""Inline keyboards and their callback data: short, signed, and bound to a card revision.

Callback data reads `<kind>:<id>:<action>:<rev>:<sig>`, e.g. `t:42:keep:0:Xb3…`: kind `t` acts
on item 42, `o` opens an item's card, `n` shows the next card of a digest, `p` pages /pending,
`s` lists the reports of an item's story or compares its readouts. `rev` is the item's
decision count when the buttons were drawn (the store refuses a decision for any other), and
`sig` is an HMAC over the rest with a key derived from the bot token, so a forged or altered
button is refused before the database is asked anything. Telegram allows 64 bytes; the
longest we make is about 35.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from monitor.config.topics import Topics
from monitor.models import Item

MAX_DATA = 64
SIG_BYTES = 8
_DATA = re.compile(r"^([tonps]):(\d{1,12}):([a-z0-9]{1,8}):(\d{1,6}):([A-Za-z0-9_-]{11})$")
PAGE = 8  # items per /pending or /find page


@dataclass(frozen=True)
class Callback:
    kind: str
    id: int
    action: str
    rev: int = 0


class Signer:
    """Packs and checks callback data; the key never leaves the process."""

    def __init__(self, token: str) -> None:
        self._key = hmac.new(b"monitor/callback-data", token.encode(), hashlib.sha256).digest()

    def _sig(self, body: str) -> str:
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:SIG_BYTES]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def pack(self, kind: str, ident: int, action: str, rev: int = 0) -> str:
        body = f"{kind}:{ident}:{action}:{rev}"
        data = f"{body}:{self._sig(body)}"
        assert len(data.encode()) <= MAX_DATA, data
        return data

    def unpack(self, data: str | None) -> Callback | None:
        """The callback, or None when it is malformed or its signature is wrong."""
        match = _DATA.match(data or "")
        if not match:
            return None
        kind, ident, action, rev, sig = match.groups()
        if not hmac.compare_digest(sig, self._sig(f"{kind}:{ident}:{action}:{rev}")):
            return None
        return Callback(kind, int(ident), action, int(rev))

    def button(self, text: str, kind: str, ident: int, action: str,
               rev: int = 0) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=self.pack(kind, ident, action, rev))


def card_keyboard(signer: Signer, item: Item, rev: int, *, undo: bool,
                  review: bool = False, reports: int = 1,
                  comparable: bool = False) -> InlineKeyboardMarkup:
    """Keep/Skip/Off-topic/Move/Comment while undecided; Undo (and Next in a review) once
    decided. Skip ("not this week") and Off-topic ("not our subject") teach the classifier
    different things, so both are offered."""
    assert item.id is not None
    b = signer.button
    rows = []
    if item.status == "new":
        rows += [[b("✅ Keep", "t", item.id, "keep", rev), b("⏭ Skip", "t", item.id, "skip", rev),
                  b("🚫 Off-topic", "t", item.id, "offtopic", rev)],
                 [b("🗂 Move", "t", item.id, "move", rev),
                  b("💬 Comment", "t", item.id, "comm", rev)]]
        if undo:
            rows.append([b("↩ Undo", "t", item.id, "undo", rev)])
    else:
        rows.append([b("↩ Undo", "t", item.id, "undo", rev),
                     b("💬 Comment", "t", item.id, "comm", rev)])
        if review:
            rows.append([b("Next ▶", "n", 0, "next")])
    extra = []
    if reports > 1:
        extra.append(b(f"📚 {reports} reports", "s", item.id, "reports"))
    if comparable:
        extra.append(b("⚖ Compare", "s", item.id, "compare"))
    if extra:
        rows.append(extra)
    return InlineKeyboardMarkup(rows)


def move_keyboard(signer: Signer, item: Item, rev: int, topics: Topics) -> InlineKeyboardMarkup:
    """One button per other bucket (by position in topics.yaml), and Back; choosing one moves the
    item there and keeps it."""
    assert item.id is not None
    rows = [[signer.button(topic.title, "t", item.id, f"m{n}", rev)]
            for n, topic in enumerate(topics.buckets) if topic.id != item.bucket]
    rows.append([signer.button("« Back", "t", item.id, "back", rev)])
    return InlineKeyboardMarkup(rows)


def digest_keyboard(signer: Signer, items: list[Item]) -> InlineKeyboardMarkup:
    """A numbered button per digest line (opens that card), then Review one by one."""
    numbers = [signer.button(str(n + 1), "o", item.id or 0, "open")
               for n, item in enumerate(items)]
    rows = [numbers[i:i + 5] for i in range(0, len(numbers), 5)]
    rows.append([signer.button("Review one by one ▶", "n", 0, "next")])
    return InlineKeyboardMarkup(rows)


def list_keyboard(signer: Signer, items: list[Item], offset: int = 0,
                  total: int | None = None) -> InlineKeyboardMarkup | None:
    """A numbered button per listed item (opens its card); page arrows when `total` is known."""
    numbers = [signer.button(str(offset + n + 1), "o", item.id or 0, "open")
               for n, item in enumerate(items)]
    rows = [numbers[i:i + 4] for i in range(0, len(numbers), 4)]
    nav = []
    if total is not None and offset > 0:
        nav.append(signer.button("◀ Prev", "p", max(0, offset - PAGE), "page"))
    if total is not None and offset + PAGE < total:
        nav.append(signer.button("Next ▶", "p", offset + PAGE, "page"))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None

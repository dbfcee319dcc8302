"""Which reports of a story are its official readouts: the Russian one (the Kremlin, the Russian
MFA) and the Chinese one (the PRC MFA, Xinhua, People's Daily). `monitor compare` and the bot's
Compare button both ask here, so they agree on what a comparable story is.
"""

from __future__ import annotations

import re

from monitor.models import Item
from monitor.pipeline.compare import Readout

_RU_OFFICIAL = ("kremlin", "kremlin_ru")
_CN_OFFICIAL = ("mfa_", "xinhua", "peoples_daily")
_RU_MFA = (r"russian (?:federation )?(?:ministry of foreign affairs|foreign ministry|mfa)"
           r"|(?:ministry of foreign affairs|mfa) of (?:the )?russia|мид росс|mid\.ru")


def readout_side(item: Item, outlet: str = "") -> str | None:
    """"ru" for a Russian official account (the Kremlin, the Russian MFA), "cn" for a Chinese
    one (PRC MFA, Xinhua, People's Daily), None for anything else (TASS, RFE/RL …)."""
    if item.source in _RU_OFFICIAL or re.search(_RU_MFA, f"{outlet} {item.origin or ''}", re.I):
        return "ru"
    if item.source.startswith(_CN_OFFICIAL):
        return "cn"
    return None


def pick_readouts(items: list[Item], outlets: dict[str, str]) -> tuple[Item, Item] | None:
    """The Russian and the Chinese official account among a story's items (on each side the
    one with the most text), or None when a side has none."""
    sides: dict[str, list[Item]] = {"ru": [], "cn": []}
    for item in items:
        side = readout_side(item, outlets.get(item.source, ""))
        if side:
            sides[side].append(item)
    if not sides["ru"] or not sides["cn"]:
        return None
    def longest(found: list[Item]) -> Item:
        return max(found, key=lambda i: (len(i.title) + len(i.summary or ""), i.original))
    return longest(sides["ru"]), longest(sides["cn"])


def item_readout(item: Item) -> Readout:
    """What is compared of a stored item: its title and lead (stored items hold no more)."""
    return Readout(text=item.summary or "", title=item.title, lang=item.lang, source=item.source)

"""CSIS (csis.org/analysis): the HTML analysis listing; the site's feeds are stale.

Each result is an `article` holding `h3 a[href^="/analysis/"]` (title and link); under it,
`.contributors` holds one `span.inline-block` per author and, last, the date prefixed "— "
("— July 30, 2026"). Dates have no time: they stay naive and `normalize` reads them as the
source's zone (America/New_York). A card whose heading link is missing is skipped; a page with
no such card at all is not the listing (NotAFeed), e.g. a bot wall or a redesign.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

from monitor.adapters.helpers import absolutize, decode, document, first_text, parse_time
from monitor.errors import NotAFeed
from monitor.models import Item, RawResponse, Source
from monitor.text import clean_text

CARD = "article"
HEADLINE = ('h3 a[href^="/analysis/"]', 'h2 a[href^="/analysis/"]',
            'a[href^="https://www.csis.org/analysis/"]')
CONTRIBUTOR_SPANS = ".contributors span.inline-block"
PEOPLE_LINKS = '.contributors a[href*="/people/"]'
TEASER = (".field--name-field-summary", ".teaser", "p")
DATE_PREFIX = re.compile(r"^[\s—–-]+")
DATE_SHAPE = re.compile(r"\b\d{4}\b")
NOT_NAMES = re.compile(r"^(by|and|,|&)$", re.I)


def parse(raw: RawResponse, source: Source) -> list[Item]:
    """One item per analysis card on the listing page."""
    root = document(decode(raw))
    cards = [card for card in root.cssselect(CARD) if _headline(card) is not None]
    if not cards:
        raise NotAFeed(f"{raw.url}: no CSIS analysis cards (not the /analysis listing)")
    items = (card_item(card, raw, source) for card in cards)
    return list({item.url: item for item in items}.values())


def _headline(card: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    for selector in HEADLINE:
        found = card.cssselect(selector)
        if found and clean_text(found[0].text_content()):
            return found[0]
    return None


def card_item(card: lxml_html.HtmlElement, raw: RawResponse, source: Source) -> Item:
    """Title, link, teaser, authors and date of one card."""
    link = _headline(card)
    assert link is not None  # parse keeps only cards with a headline
    spans = [clean_text(s.text_content()) for s in card.cssselect(CONTRIBUTOR_SPANS)]
    dated = spans[-1] if spans and DATE_SHAPE.search(spans[-1]) else ""
    names = [clean_text(a.text_content()) for a in card.cssselect(PEOPLE_LINKS)]
    if not names:
        names = [s for s in (spans[:-1] if dated else spans) if not NOT_NAMES.match(s)]
    teaser = first_text(card, *TEASER)
    return Item(source=source.id, url=absolutize(link.get("href", ""), raw.url),
                title=clean_text(link.text_content()),
                summary="" if teaser == clean_text(link.text_content()) else teaser,
                published=parse_time(DATE_PREFIX.sub("", dated)) if dated else None,
                lang=source.language, authors=[n for n in names if n], variant="csis:listing")

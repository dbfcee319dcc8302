"""Cards: an item's message in an editor chat, drawn from its state in the store.

A card's text and buttons depend on the item, its revision (which the buttons carry) and its
verdict in force (the footer, and whether Undo is offered); `decisions.card_state` reads all
three in one connection, so drawing a card, or redrawing every card of an item after a
decision, costs one read. The handlers and the outbox both post through `send_card` and
`send_digest`; only these functions know how a card is laid out in a message.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from monitor.bot import keyboards, render
from monitor.bot.context import BotState
from monitor.logs import fields
from monitor.models import Item
from monitor.pipeline.readouts import pick_readouts
from monitor.store import cards as card_store
from monitor.store import decisions
from monitor.store.decisions import CardState

log = logging.getLogger("monitor.bot")
DIGEST_LINES = 20  # candidates per digest message: a screenful, and 20 buttons at most


def card_markup(state: BotState, card: CardState, kind: str) -> InlineKeyboardMarkup:
    """The card's buttons; a review card (from a digest) also offers Next once decided."""
    outlets = {s.id: s.outlet for s in state.sources.values()}
    comparable = pick_readouts(list(card.reports), outlets) is not None
    return keyboards.card_keyboard(state.signer, card.item, card.rev,
                                   undo=card.verdict is not None, review=kind == "review",
                                   reports=len(card.reports), comparable=comparable)


def card_content(state: BotState, card: CardState, kind: str) -> tuple[str, InlineKeyboardMarkup]:
    text = render.card_text(card.item, state.topics, state.zone,
                            render.outlets_line(report_names(state, card.reports or (card.item,))),
                            card.verdict)
    return text, card_markup(state, card, kind)


def report_names(state: BotState, reports: tuple[Item, ...] | list[Item]) -> list[str]:
    """The short names of a story's sources, first report first, each once."""
    names = []
    for report in reports:
        source = state.sources.get(report.source)
        name = source.label if source else report.source
        if name not in names:
            names.append(name)
    return names


async def send_card(bot: Bot, state: BotState, chat: int, item_id: int, *, kind: str = "card",
                    record: bool = True) -> Message | None:
    """Posts an item's card (None if there is no such item); `record` registers it as a card
    of the item (the outbox does so itself, with the outbox row)."""
    card = await decisions.card_state(state.engine, item_id)
    if card is None:
        return None
    text, markup = card_content(state, card, kind)
    message = await send_html(bot, chat, text, markup)
    if record:
        await card_store.add_card(state.engine, chat, message.message_id, item_id, kind)
    return message


async def send_digest(bot: Bot, state: BotState, chat: int, items: list[Item],
                      heading: str = "new candidates") -> list[Message]:
    """A burst (or the day's candidates) as one message per section, in topics.yaml order:
    numbered lines, a numbered button per line that opens its card, and Review one by one."""
    names = {s.id: s.label for s in state.sources.values()}
    sent = []
    for section, members in digest_sections(state, items):
        members, more = one_per_story(members)
        for start in range(0, len(members), DIGEST_LINES):
            part = members[start:start + DIGEST_LINES]
            text = render.digest_text(section, part, state.zone, names, heading, more)
            sent.append(await send_html(bot, chat, text,
                                        keyboards.digest_keyboard(state.signer, part)))
    return sent


async def send_html(bot: Bot, chat: int, text: str, markup: InlineKeyboardMarkup) -> Message:
    """Send a message in Telegram's HTML; if Telegram refuses it, the same as plain text, so a
    card or digest is never dropped for its markup."""
    try:
        return await bot.send_message(chat, text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                      disable_web_page_preview=True)
    except BadRequest as exc:
        log.warning("message %s", fields(chat=chat, outcome="sent as plain text",
                                         error=str(exc)[:200]))
        return await bot.send_message(chat, render.plain(text), reply_markup=markup,
                                      disable_web_page_preview=True)


def one_per_story(items: list[Item]) -> tuple[list[Item], dict[int, int]]:
    """The first report of each story, and how many more reports each has."""
    first: dict[str, Item] = {}
    more: dict[int, int] = {}
    for item in items:
        key = item.story or f"item:{item.id}"
        if key in first:
            more[first[key].id or 0] = more.get(first[key].id or 0, 0) + 1
        else:
            first[key] = item
    return list(first.values()), more


def digest_sections(state: BotState, items: list[Item]) -> list[tuple[str, list[Item]]]:
    """(section title, its items) in topics.yaml order; unknown buckets last."""
    order = {topic.id: n for n, topic in enumerate(state.topics.buckets)}
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.bucket or "", []).append(item)
    ranked = sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order)))
    return [(render.bucket_title(state.topics, bucket), members) for bucket, members in ranked]


async def refresh_cards(bot: Bot, state: BotState, item_id: int) -> None:
    """Redraws every card of the item after a decision (text, decision, buttons)."""
    card = await decisions.card_state(state.engine, item_id)
    if card is None:
        return
    for chat, message_id, kind in await card_store.cards_of(state.engine, item_id):
        text, markup = card_content(state, card, kind)
        try:
            await _edit(bot, chat, message_id, text, markup)
        except TelegramError as exc:
            log.warning("edit %s", fields(chat=chat, message=message_id, error=str(exc)))


async def _edit(bot: Bot, chat: int, message_id: int, text: str,
                markup: InlineKeyboardMarkup) -> None:
    """Edit a card in place; refused HTML is sent again as plain text; "not modified" is fine."""
    try:
        await bot.edit_message_text(text, chat_id=chat, message_id=message_id,
                                    parse_mode=ParseMode.HTML, reply_markup=markup,
                                    disable_web_page_preview=True)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        await bot.edit_message_text(render.plain(text), chat_id=chat, message_id=message_id,
                                    reply_markup=markup, disable_web_page_preview=True)

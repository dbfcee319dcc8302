"""The bot's handlers: flat async functions, wired in `app.build_application`.

Each gets a `BotContext` (context.py) whose properties are the bot's state, and reads and
writes the store itself; drawing and posting cards is `cards.py`'s, shared with the outbox.

`guard` runs first for every update: only TELEGRAM_ALLOWED_USER_IDS writing in
TELEGRAM_EDITOR_CHAT_IDS get further; anyone else gets a one-line refusal and nothing else.
A button press is checked (signature, item, revision) and its decision committed before the
press is answered; then every card of the item, in every editor chat, is redrawn.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import CallbackQuery, ForceReply, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop

from monitor import metrics
from monitor.bot import keyboards, render
from monitor.bot.cards import card_markup, refresh_cards, send_card
from monitor.bot.context import BotContext
from monitor.bot.keyboards import PAGE, Callback
from monitor.logs import fields
from monitor.models import Item
from monitor.pipeline.compare import compare, comparison_html
from monitor.pipeline.readouts import item_readout, pick_readouts
from monitor.store import cards as card_store
from monitor.store import decisions
from monitor.store import health as source_store
from monitor.store import items as item_store
from monitor.store import outbox as outbox_store
from monitor.weeks import current_week, week_bounds

log = logging.getLogger("monitor.bot")
REFUSAL = "Sorry, this bot only works for its editors."
HELP = (
    "I post new candidates for The China-Russia Report as cards.\n"
    "• <b>Keep</b> takes it; <b>Skip</b>: not needed this week (the classifier learns nothing "
    "from it); <b>Off-topic</b>: not our subject (the classifier learns from it); <b>Move</b> "
    "re-files it in another section and keeps it; <b>Comment</b> (or reply to a card) adds "
    "your comment; <b>Undo</b> takes a decision back.\n"
    "• /pending: undecided candidates, oldest first\n"
    "• /week: this week's kept items per bucket\n"
    "• /export: this week's draft as .md and .docx\n"
    "• /sources: source health · /pause ID · /resume ID\n"
    "• /find TEXT: search stored items\n"
    "• /stats: counts per bucket, and how often the classifier agreed with you"
)
VERBS = {"keep": "Kept.", "skip": "Skipped.", "offtopic": "Marked off-topic.",
         "undo": "Undone.", "move": "Moved and kept."}
UNKNOWN = "I don't know that command. /help lists what I understand."


async def guard(update: Update, context: BotContext) -> None:
    """Stops every update that is not from an allowed user in an editor chat."""
    user, chat = update.effective_user, update.effective_chat
    if user and chat and user.id in context.allowed and chat.id in context.chats:
        return
    log.warning("refused %s", fields(user=user.id if user else None,
                                     chat=chat.id if chat else None))
    if update.callback_query:
        await update.callback_query.answer(REFUSAL)
    elif update.message and update.message.text and update.message.text.startswith("/"):
        await update.message.reply_text(REFUSAL)
    raise ApplicationHandlerStop


async def help_command(update: Update, context: BotContext) -> None:
    """Says what the bot does (/start and /help)."""
    await update.effective_message.reply_html(HELP)


async def pending(update: Update, context: BotContext) -> None:
    """Lists undecided candidates, oldest first, a page at a time."""
    text, markup = await _pending_page(context, 0)
    await update.effective_message.reply_html(text, reply_markup=markup,
                                              disable_web_page_preview=True)


async def _pending_page(context: BotContext,
                        offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    found, total = await decisions.pending_items(context.engine, offset, PAGE)
    if not found:
        return "Nothing pending. 🎉", None
    heading = f"<b>Pending</b>: {offset + 1}–{offset + len(found)} of {total}, oldest first"
    text = render.item_list(found, context.topics, context.zone, heading, offset,
                            names=_names(context))
    return text, keyboards.list_keyboard(context.signer, found, offset, total)


def _names(context: BotContext) -> dict[str, str]:
    """Source id → the short name lists and cards print ("MFA (ZH)")."""
    return {s.id: s.label for s in context.sources.values()}


async def week(update: Update, context: BotContext) -> None:
    """Shows this week's kept items per bucket."""
    name = current_week(context.zone)
    since, until = week_bounds(name, context.zone)
    found = await item_store.find_items(context.engine, since=since, until=until)
    for text in render.week_text(name, found, context.topics):
        await update.effective_message.reply_html(text, disable_web_page_preview=True)


async def export(update: Update, context: BotContext) -> None:
    """Sends this week's draft as .md and .docx (when the export module is installed)."""
    try:
        from monitor.export import write_week_exports
    except ImportError:
        await update.effective_message.reply_text("Export is not available yet.")
        return
    name = current_week(context.zone)
    try:
        paths = await write_week_exports(context.config, context.engine, name)
    except (OSError, ValueError) as exc:
        log.error("export %s", fields(week=name, error=str(exc)))
        await update.effective_message.reply_text("The export failed; the log says why.")
        return
    wanted = [p for p in paths if p.suffix in (".md", ".docx")]
    if not wanted:
        await update.effective_message.reply_text(f"Nothing to export for {name}.")
    for path in wanted:
        with path.open("rb") as handle:
            await update.effective_message.reply_document(handle, filename=path.name,
                                                          caption=f"Draft for {name}")


async def sources(update: Update, context: BotContext) -> None:
    """Shows each source's health."""
    health = await source_store.all_health(context.engine)
    for text in render.sources_text(list(context.sources.values()), health, context.zone):
        await update.effective_message.reply_html(text)


async def find(update: Update, context: BotContext) -> None:
    """Searches stored titles and summaries: /find TEXT."""
    query = " ".join(context.args or []).strip()
    if not query:
        await update.effective_message.reply_text("Usage: /find TEXT")
        return
    found = await item_store.find_items(context.engine, search=query[:200], limit=PAGE)
    if not found:
        await update.effective_message.reply_text("No stored item matches.")
        return
    heading = f"<b>Found</b> for “{escape(query[:200])}” (newest first)"
    await update.effective_message.reply_html(
        render.item_list(found, context.topics, context.zone, heading, names=_names(context)),
        reply_markup=keyboards.list_keyboard(context.signer, found),
        disable_web_page_preview=True)


async def pause(update: Update, context: BotContext) -> None:
    """Pauses a source: /pause ID."""
    await _set_paused(update, context, True)


async def resume(update: Update, context: BotContext) -> None:
    """Resumes a source: /resume ID."""
    await _set_paused(update, context, False)


async def _set_paused(update: Update, context: BotContext, paused: bool) -> None:
    source_id = (context.args or [""])[0]
    if source_id not in context.sources:
        await update.effective_message.reply_text("Unknown source id; /sources lists them.")
        return
    await source_store.set_paused(context.engine, source_id, paused)
    await update.effective_message.reply_text(f"{source_id} {'paused' if paused else 'resumed'}.")


async def stats(update: Update, context: BotContext) -> None:
    """Per-bucket counts this week, and the classifier's agreement with the editor."""
    name = current_week(context.zone)
    since, until = week_bounds(name, context.zone)
    counts = await decisions.bucket_counts(context.engine, since, until)
    agreed, labelled = await decisions.agreement(context.engine)
    await update.effective_message.reply_html(
        render.stats_text(name, counts, context.topics, agreed, labelled))


async def button(update: Update, context: BotContext) -> None:
    """Every inline button: checked, acted on, then answered."""
    query = update.callback_query
    callback = context.signer.unpack(query.data)
    if callback is None:
        log.warning("bad callback %s", fields(user=query.from_user.id))
        await query.answer("This button is not valid.")
        return
    chat = update.effective_chat.id
    if callback.kind == "t":
        await item_button(update, context, callback)
    elif callback.kind == "o":
        await query.answer()
        await send_card(context.bot, context.state, chat, callback.id)
    elif callback.kind == "n":
        await query.answer()
        item = await outbox_store.next_for_review(context.engine, chat)
        if item is None:
            await context.bot.send_message(chat, "All reviewed. /pending lists anything left.")
        else:
            await send_card(context.bot, context.state, chat, item.id or 0, kind="review")
    elif callback.kind == "p":
        await query.answer()
        text, markup = await _pending_page(context, callback.id)
        await context.bot.send_message(chat, text, parse_mode=ParseMode.HTML,
                                       reply_markup=markup, disable_web_page_preview=True)
    elif callback.kind == "s":
        await query.answer()
        card = await decisions.card_state(context.engine, callback.id)
        if card is not None:
            text = (compared(context, list(card.reports)) if callback.action == "compare"
                    else render.reports_text(list(card.reports), _names(context), context.zone))
            await context.bot.send_message(chat, text, parse_mode=ParseMode.HTML,
                                           disable_web_page_preview=True)


async def item_button(update: Update, context: BotContext, callback: Callback) -> None:
    """Keep, Skip, Move (picker, then a bucket), Comment, Undo on one item's card."""
    query, user = update.callback_query, update.effective_user
    card = await decisions.card_state(context.engine, callback.id)
    if card is None or card.rev != callback.rev:
        await query.answer("This card has changed; use its current buttons.")
        return
    item, action, bucket = card.item, callback.action, None
    if action in ("move", "back"):
        await query.answer()
        markup = (keyboards.move_keyboard(context.signer, item, card.rev, context.topics)
                  if action == "move" else card_markup(context.state, card, "card"))
        await _edit_markup(query, markup)
        return
    if action == "comm":
        await ask_comment(update, context, item)
        return
    if action.startswith("m") and action[1:].isdigit():
        index = int(action[1:])
        if index >= len(context.topics.buckets):
            await query.answer("Unknown bucket.")
            return
        action, bucket = "move", context.topics.buckets[index].id
    decision = await decisions.decide(context.engine, callback.id, rev=card.rev, action=action,
                                      user_id=user.id, user_name=display_name(update),
                                      bucket=bucket)
    if decision is None:
        await query.answer("Nothing changed.")
        return
    await query.answer(VERBS.get(action, "Done."))
    metrics.DECISIONS.labels(action).inc()
    log.info("decision %s", fields(item=item.id, action=action, user=user.id, bucket=bucket))
    await refresh_cards(context.bot, context.state, callback.id)


async def ask_comment(update: Update, context: BotContext, item: Item) -> None:
    """Comment pressed: the user's next message (or a reply to the card) is the comment."""
    query, item_id = update.callback_query, item.id or 0
    chat, user = update.effective_chat.id, update.effective_user.id
    await card_store.set_prompt(context.engine, chat, user, item_id)
    await query.answer("Send your comment as the next message.")
    prompt = await context.bot.send_message(
        chat, f"💬 Your comment on “{escape(render.shorten(item.title, 200))}”:",
        parse_mode=ParseMode.HTML, reply_markup=ForceReply(selective=True,
                                                           input_field_placeholder="Comment"))
    await card_store.add_card(context.engine, chat, prompt.message_id, item_id, "prompt")


async def text(update: Update, context: BotContext) -> None:
    """A reply to a card (or the message after Comment) becomes the item's comment."""
    engine, message = context.engine, update.effective_message
    chat, user = update.effective_chat.id, update.effective_user.id
    item_id = None
    if message.reply_to_message is not None:
        card = await card_store.card_at(engine, chat, message.reply_to_message.message_id)
        item_id = card[0] if card else None
    prompted = await card_store.take_prompt(engine, chat, user)
    item_id = item_id or prompted
    if item_id is None:
        return
    for _ in range(3):  # the revision may move under us if someone presses a button meanwhile
        rev = await decisions.revision(engine, item_id)
        decision = await decisions.decide(engine, item_id, rev=rev, action="comment",
                                          user_id=user, user_name=display_name(update),
                                          comment=(message.text or "")[:3000])
        if decision is not None:
            metrics.DECISIONS.labels("comment").inc()
            break
    else:
        return
    await message.reply_text("💬 Comment saved.")
    await refresh_cards(context.bot, context.state, item_id)


async def error_handler(update: object, context: BotContext) -> None:
    """Logs every exception a handler raised."""
    log.error("exception while handling an update", exc_info=context.error)


def display_name(update: Update) -> str:
    user = update.effective_user
    return (user.full_name or user.username or str(user.id)) if user else "?"


async def _edit_markup(query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def unknown_command(update: Update, context: BotContext) -> None:
    """Any other /command gets an answer, not silence."""
    await update.effective_message.reply_text(UNKNOWN)


def compared(context: BotContext, reports: list[Item]) -> str:
    """The story's Russian and Chinese official readouts compared (Telegram HTML)."""
    outlets = {s.id: s.outlet for s in context.sources.values()}
    pair = pick_readouts(reports, outlets)
    if pair is None:
        return "This story has no Russian and Chinese official readouts to compare yet."
    return comparison_html(compare(item_readout(pair[0]), item_readout(pair[1])))

"""The bot's handlers: flat async functions, wired in `app.build_application`.

`guard` runs first for every update: only TELEGRAM_ALLOWED_USER_IDS writing in
TELEGRAM_EDITOR_CHAT_IDS get further; anyone else gets a one-line refusal and nothing else.
A button press is checked (signature, item, revision) and its decision committed before the
press is answered; then every card of the item, in every editor chat, is redrawn.
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from telegram import Bot, CallbackQuery, ForceReply, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from monitor import metrics
from monitor.bot import keyboards, render
from monitor.bot.keyboards import PAGE, Callback
from monitor.logs import fields
from monitor.models import Item
from monitor.store import health as source_store
from monitor.store import items as item_store
from monitor.store import triage
from monitor.weeks import current_week, week_bounds

if TYPE_CHECKING:
    from monitor.bot.app import BotDeps

log = logging.getLogger("monitor.bot")
REFUSAL = "Sorry, this bot only works for its editors."
HELP = (
    "I post new candidates for The China-Russia Report as cards.\n"
    "• <b>Keep</b> / <b>Skip</b> decide; <b>Move</b> re-files it in another bucket; "
    "<b>Comment</b> (or reply to a card) adds your comment; <b>Undo</b> takes a decision back.\n"
    "• /pending: undecided candidates, oldest first\n"
    "• /week: this week's kept items per bucket\n"
    "• /export: this week's draft as .md and .docx\n"
    "• /sources: source health · /pause ID · /resume ID\n"
    "• /find TEXT: search stored items\n"
    "• /stats: counts per bucket, and how often the classifier agreed with you"
)
VERBS = {"keep": "Kept.", "skip": "Skipped.", "undo": "Undone.", "move": "Moved."}


def deps_of(context: ContextTypes.DEFAULT_TYPE) -> BotDeps:
    return context.application.bot_data["deps"]


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops every update that is not from an allowed user in an editor chat."""
    deps = deps_of(context)
    user, chat = update.effective_user, update.effective_chat
    if user and chat and user.id in deps.allowed and chat.id in deps.chats:
        return
    log.warning("refused %s", fields(user=user.id if user else None,
                                     chat=chat.id if chat else None))
    if update.callback_query:
        await update.callback_query.answer(REFUSAL)
    elif update.message and update.message.text and update.message.text.startswith("/"):
        await update.message.reply_text(REFUSAL)
    raise ApplicationHandlerStop


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Says what the bot does (/start and /help)."""
    await update.effective_message.reply_html(HELP)


async def pending(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists undecided candidates, oldest first, a page at a time."""
    text, markup = await pending_page(deps_of(context), 0)
    await update.effective_message.reply_html(text, reply_markup=markup,
                                              disable_web_page_preview=True)


async def pending_page(deps: BotDeps, offset: int):  # -> (str, markup)
    found, total = await triage.pending_items(deps.engine, offset, PAGE)
    if not found:
        return "Nothing pending. 🎉", None
    heading = f"<b>Pending</b>: {offset + 1}–{offset + len(found)} of {total}, oldest first"
    text = render.item_list(found, deps.topics, deps.settings.zone, heading, offset)
    return text, keyboards.list_keyboard(deps.signer, found, offset, total)


async def week(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows this week's kept items per bucket."""
    deps = deps_of(context)
    name = current_week(deps.settings.zone)
    since, until = week_bounds(name, deps.settings.zone)
    found = await item_store.find_items(deps.engine, since=since, until=until)
    for text in render.week_text(name, found, deps.topics):
        await update.effective_message.reply_html(text, disable_web_page_preview=True)


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends this week's draft as .md and .docx (when the export module is installed)."""
    deps = deps_of(context)
    try:
        from monitor.export import write_week_exports
    except ImportError:
        await update.effective_message.reply_text("Export is not available yet.")
        return
    name = current_week(deps.settings.zone)
    try:
        paths = await write_week_exports(deps.config, deps.engine, name)
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


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows each source's health."""
    deps = deps_of(context)
    health = await source_store.all_health(deps.engine)
    names = {s.id: s.name for s in deps.sources.values()}
    for text in render.sources_text(names, health, deps.settings.zone):
        await update.effective_message.reply_html(text)


async def find(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Searches stored titles and summaries: /find TEXT."""
    deps = deps_of(context)
    query = " ".join(context.args or []).strip()
    if not query:
        await update.effective_message.reply_text("Usage: /find TEXT")
        return
    found = await item_store.find_items(deps.engine, search=query[:200], limit=PAGE)
    if not found:
        await update.effective_message.reply_text("No stored item matches.")
        return
    heading = f"<b>Found</b> for “{escape(query[:200])}” (newest first)"
    await update.effective_message.reply_html(
        render.item_list(found, deps.topics, deps.settings.zone, heading),
        reply_markup=keyboards.list_keyboard(deps.signer, found), disable_web_page_preview=True)


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pauses a source: /pause ID."""
    await _set_paused(update, context, True)


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Resumes a source: /resume ID."""
    await _set_paused(update, context, False)


async def _set_paused(update: Update, context: ContextTypes.DEFAULT_TYPE, paused: bool) -> None:
    deps = deps_of(context)
    source_id = (context.args or [""])[0]
    if source_id not in deps.sources:
        await update.effective_message.reply_text("Unknown source id; /sources lists them.")
        return
    await source_store.set_paused(deps.engine, source_id, paused)
    await update.effective_message.reply_text(f"{source_id} {'paused' if paused else 'resumed'}.")


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Per-bucket counts this week, and the classifier's agreement with the editor."""
    deps = deps_of(context)
    name = current_week(deps.settings.zone)
    since, until = week_bounds(name, deps.settings.zone)
    counts = await triage.bucket_counts(deps.engine, since, until)
    agreed, labelled = await triage.agreement(deps.engine)
    await update.effective_message.reply_html(
        render.stats_text(name, counts, deps.topics, agreed, labelled))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every inline button: checked, acted on, then answered."""
    deps, query = deps_of(context), update.callback_query
    callback = deps.signer.unpack(query.data)
    if callback is None:
        log.warning("bad callback %s", fields(user=query.from_user.id))
        await query.answer("This button is not valid.")
        return
    chat = update.effective_chat.id
    if callback.kind == "t":
        await item_button(update, context, callback)
    elif callback.kind == "o":
        item = await triage.get_item(deps.engine, callback.id)
        await query.answer()
        if item is not None:
            await send_card(context.bot, deps, chat, item)
    elif callback.kind == "n":
        await query.answer()
        item = await triage.next_for_review(deps.engine, chat)
        if item is None:
            await context.bot.send_message(chat, "All reviewed. /pending lists anything left.")
        else:
            await send_card(context.bot, deps, chat, item, kind="review")
    elif callback.kind == "p":
        await query.answer()
        text, markup = await pending_page(deps, callback.id)
        await context.bot.send_message(chat, text, parse_mode=ParseMode.HTML,
                                       reply_markup=markup, disable_web_page_preview=True)


async def item_button(update: Update, context: ContextTypes.DEFAULT_TYPE,
                      callback: Callback) -> None:
    """Keep, Skip, Move (picker, then a bucket), Comment, Undo on one item's card."""
    deps, query, user = deps_of(context), update.callback_query, update.effective_user
    item = await triage.get_item(deps.engine, callback.id)
    if item is None or await triage.revision(deps.engine, item.id) != callback.rev:
        await query.answer("This card has changed; use its current buttons.")
        return
    action, bucket = callback.action, None
    if action in ("move", "back"):
        await query.answer()
        markup = (keyboards.move_keyboard(deps.signer, item, callback.rev, deps.topics)
                  if action == "move" else await card_markup(deps, item, "card"))
        await _edit_markup(query, markup)
        return
    if action == "comm":
        await ask_comment(update, context, item)
        return
    if action.startswith("m") and action[1:].isdigit():
        index = int(action[1:])
        if index >= len(deps.topics.buckets):
            await query.answer("Unknown bucket.")
            return
        action, bucket = "move", deps.topics.buckets[index].id
    decision = await triage.decide(deps.engine, item.id, rev=callback.rev, action=action,
                                   user_id=user.id, user_name=display_name(update),
                                   bucket=bucket)
    if decision is None:
        await query.answer("Nothing changed.")
        return
    await query.answer(VERBS.get(action, "Done."))
    metrics.DECISIONS.labels(action).inc()
    log.info("decision %s", fields(item=item.id, action=action, user=user.id, bucket=bucket))
    await refresh_cards(context.bot, deps, item.id)


async def ask_comment(update: Update, context: ContextTypes.DEFAULT_TYPE, item: Item) -> None:
    """Comment pressed: the user's next message (or a reply to the card) is the comment."""
    deps, query = deps_of(context), update.callback_query
    chat, user = update.effective_chat.id, update.effective_user.id
    await triage.set_prompt(deps.engine, chat, user, item.id)
    await query.answer("Send your comment as the next message.")
    prompt = await context.bot.send_message(
        chat, f"💬 Your comment on “{escape(render.shorten(item.title, 200))}”:",
        parse_mode=ParseMode.HTML, reply_markup=ForceReply(selective=True,
                                                           input_field_placeholder="Comment"))
    await triage.add_card(deps.engine, chat, prompt.message_id, item.id, "prompt")


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply to a card (or the message after Comment) becomes the item's comment."""
    deps, message = deps_of(context), update.effective_message
    chat, user = update.effective_chat.id, update.effective_user.id
    item_id = None
    if message.reply_to_message is not None:
        card = await triage.card_at(deps.engine, chat, message.reply_to_message.message_id)
        item_id = card[0] if card else None
    prompted = await triage.take_prompt(deps.engine, chat, user)
    item_id = item_id or prompted
    if item_id is None:
        return
    for _ in range(3):  # the revision may move under us if someone presses a button meanwhile
        rev = await triage.revision(deps.engine, item_id)
        decision = await triage.decide(deps.engine, item_id, rev=rev, action="comment",
                                       user_id=user, user_name=display_name(update),
                                       comment=(message.text or "")[:3000])
        if decision is not None:
            metrics.DECISIONS.labels("comment").inc()
            break
    else:
        return
    await message.reply_text("💬 Comment saved.")
    await refresh_cards(context.bot, deps, item_id)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs every exception a handler raised."""
    log.error("exception while handling an update", exc_info=context.error)


def display_name(update: Update) -> str:
    user = update.effective_user
    return (user.full_name or user.username or str(user.id)) if user else "?"


async def card_markup(deps: BotDeps, item: Item, kind: str):  # -> InlineKeyboardMarkup
    rev = await triage.revision(deps.engine, item.id)
    verdict = await triage.last_verdict(deps.engine, item.id)
    return keyboards.card_keyboard(deps.signer, item, rev, undo=verdict is not None,
                                   review=kind == "review")


async def card_content(deps: BotDeps, item: Item, kind: str) -> tuple[str, object]:
    verdict = await triage.last_verdict(deps.engine, item.id)
    source = deps.sources.get(item.source)
    text_ = render.card_text(item, deps.topics, deps.settings.zone,
                             source.name if source else item.source, verdict)
    return text_, await card_markup(deps, item, kind)


async def send_card(bot: Bot, deps: BotDeps, chat: int, item: Item, *, kind: str = "card",
                    record: bool = True) -> Message:
    """Posts an item's card; `record` registers it (the outbox does so itself)."""
    text_, markup = await card_content(deps, item, kind)
    message = await bot.send_message(chat, text_, parse_mode=ParseMode.HTML, reply_markup=markup,
                                     disable_web_page_preview=True)
    if record:
        await triage.add_card(deps.engine, chat, message.message_id, item.id, kind)
    return message


async def send_digest(bot: Bot, deps: BotDeps, chat: int, items: list[Item]) -> Message:
    return await bot.send_message(chat, render.digest_text(items, deps.topics),
                                  parse_mode=ParseMode.HTML,
                                  reply_markup=keyboards.digest_keyboard(deps.signer))


async def refresh_cards(bot: Bot, deps: BotDeps, item_id: int) -> None:
    """Redraws every card of the item after a decision (text, decision, buttons)."""
    item = await triage.get_item(deps.engine, item_id)
    if item is None:
        return
    for chat, message_id, kind in await triage.cards_of(deps.engine, item_id):
        text_, markup = await card_content(deps, item, kind)
        try:
            await bot.edit_message_text(text_, chat_id=chat, message_id=message_id,
                                        parse_mode=ParseMode.HTML, reply_markup=markup,
                                        disable_web_page_preview=True)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("edit %s", fields(chat=chat, message=message_id, error=str(exc)))
        except TelegramError as exc:
            log.warning("edit %s", fields(chat=chat, message=message_id, error=str(exc)))


async def _edit_markup(query: CallbackQuery, markup: object) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise

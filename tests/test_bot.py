"""The bot end to end: python-telegram-bot against tests/telegram_server.py on 127.0.0.1.

Each test starts `running_bot` (the daemon's way of running it) with TELEGRAM_API_BASE_URL set
to the test server, injects updates from chosen users, and checks both what the server saw and
what the database holds. Polling and pacing are shortened; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from html import escape
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from monitor.bot import render
from monitor.bot.app import COMMANDS, running_bot
from monitor.bot.context import BotOptions, bot_options
from monitor.bot.keyboards import Signer
from monitor.bot.pacer import QuietHours
from monitor.config import Config
from monitor.config.settings import load_settings
from monitor.config.topics import load_topics
from monitor.errors import ConfigError
from monitor.models import Item
from monitor.store import decisions
from monitor.store import health as source_store
from monitor.store import items as item_store
from monitor.store import outbox as outbox_store
from monitor.weeks import current_week
from tests.conftest import ROOT
from tests.telegram_server import BotAPIServer, message_problem

TOKEN = "123456789:TEST-token-for-the-fake-server_abcdef"
TOPICS = load_topics(ROOT / "topics.yaml")
CHAT, EDITOR, STRANGER, OTHER_CHAT = -100777, 42, 666, -100888
FAST = BotOptions(min_interval=0.02, idle=0.2, retry=0.2, poll_timeout=1, digest_at=5)
WAIT = 10.0  # seconds: the bound on every wait


@pytest.fixture
def server():
    with BotAPIServer(TOKEN) as api:
        yield api


@pytest.fixture
def settings(server, tmp_path):
    return load_settings({
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_EDITOR_CHAT_IDS": f"{CHAT}",
        "TELEGRAM_ALLOWED_USER_IDS": f"{EDITOR},7", "TELEGRAM_API_BASE_URL": server.base_url,
        "MONITOR_TIMEZONE": "Europe/Berlin", "MONITOR_STORAGE": str(tmp_path)})


@pytest.fixture(scope="session")
def topics():
    return load_topics(ROOT / "topics.yaml")


@pytest.fixture
def bot(settings, engine, sources, topics):
    """`async with bot(options) as outbox:` runs the bot until the block ends."""

    @asynccontextmanager
    async def run(options: BotOptions = FAST):
        async with running_bot(Config(settings, sources, topics), engine, options) as outbox:
            yield outbox

    return run


async def until(check, what: str, timeout: float = WAIT):
    """Wait until `check()` is truthy (it may be async); fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


MARCH = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)


async def stored(engine, n: int, start: int = 0, published: datetime | None = MARCH) -> list[Item]:
    """n relevant items as the pipeline stores them; `published` None means "now" for /week."""
    now = datetime.now(timezone.utc)
    items = [Item(source="tass", url=f"https://tass.com/politics/{i}", title=f"Story <{i}> & co",
                  summary="Moscow and Beijing signed an agreement. " * 10, lang="en",
                  key=f"key{i}", bucket="military_security", confidence=0.82,
                  published=published and published + timedelta(minutes=i),
                  first_seen=now + timedelta(milliseconds=i)) for i in range(start, start + n)]
    return await item_store.insert_new(engine, items)


def buttons(message) -> dict[str, str]:
    """Button text → callback data of a message as the server holds it."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def cards(server) -> list[dict]:
    return [m for m in server.bot_messages(CHAT) if "✅ Keep" in buttons(m) or "↩ Undo" in
            buttons(m)]


async def status(engine, item_id: int) -> tuple[str, str | None, str]:
    item = await decisions.get_item(engine, item_id)
    return item.status, item.bucket, item.comment


async def test_cards_keep_and_edit_in_place(server, bot, engine):
    items = await stored(engine, 2)
    async with bot() as outbox:
        await outbox.notify(items)
        await until(lambda: len(cards(server)) == 2, "two cards")
        card = cards(server)[0]
        assert [c["command"] for c in server.commands] == [c for c, _ in COMMANDS]
        assert "<b>Military &amp; security</b> · TASS (EN) · Tue 10 Mar 09:00 CET" in \
            card["text"]
        assert '<a href="https://tass.com/politics/0">Story &lt;0&gt; &amp; co</a>' in card["text"]
        assert "relevance 82%" in card["text"]
        assert set(buttons(card)) == {"✅ Keep", "⏭ Skip", "🚫 Off-topic", "🗂 Move", "💬 Comment"}
        assert all(len(d.encode()) <= 64 for d in buttons(card).values())
        assert buttons(card)["✅ Keep"].startswith(f"t:{items[0].id}:keep:0:")

        server.press(CHAT, EDITOR, card["message_id"], buttons(card)["✅ Keep"])
        await until(lambda: "Kept by" in cards(server)[0]["text"], "the card edited")
        assert (await status(engine, items[0].id))[0] == "kept"
        assert "✅ Kept by User42" in cards(server)[0]["text"]
        assert set(buttons(cards(server)[0])) == {"↩ Undo", "💬 Comment"}
        answers = server.calls_of("answerCallbackQuery")
        assert answers[-1].params.get("text") == "Kept."
        decision = (await decisions.history(engine, items[0].id))[0]
        assert (decision.user_id, decision.action, decision.bucket_from) == (
            EDITOR, "keep", "military_security")
    assert len(server.calls_of("sendMessage")) == 2  # each card once


async def test_move_comment_reply_and_undo(server, bot, engine, topics):
    (item,) = await stored(engine, 1)
    async with bot() as outbox:
        await outbox.notify([item])
        card = (await until(lambda: cards(server), "the card"))[0]
        mid = card["message_id"]
        server.press(CHAT, EDITOR, mid, buttons(card)["🗂 Move"])
        picker = await until(lambda: "« Back" in buttons(server.messages[(CHAT, mid)])
                             and buttons(server.messages[(CHAT, mid)]), "the bucket picker")
        assert "Military & security" not in picker and len(picker) == len(topics.buckets)
        server.press(CHAT, EDITOR, mid, picker["Energy, critical minerals & clean-tech"])
        await until(lambda: "Moved from" in server.messages[(CHAT, mid)]["text"], "moved card")
        assert (await status(engine, item.id))[:2] == ("kept", "energy_minerals_cleantech")
        assert "and kept" in server.messages[(CHAT, mid)]["text"]
        assert "↩ Undo" in buttons(server.messages[(CHAT, mid)])

        server.reply(CHAT, EDITOR, "Key signal for the energy section", to=mid)
        await until(lambda: "Key signal" in server.messages[(CHAT, mid)]["text"], "comment shown")
        server.reply(CHAT, EDITOR, "Lead item <b>this week</b>", to=mid)
        await until(lambda: "Lead item" in server.messages[(CHAT, mid)]["text"], "comment replaced")
        assert (await status(engine, item.id))[2] == "Lead item <b>this week</b>"
        assert "Lead item &lt;b&gt;this week&lt;/b&gt;" in server.messages[(CHAT, mid)]["text"]

        card = server.messages[(CHAT, mid)]
        server.press(CHAT, EDITOR, mid, buttons(card)["💬 Comment"])
        await until(lambda: any("Your comment on" in m.get("text", "")
                                for m in server.bot_messages(CHAT)), "the comment prompt")
        server.send(CHAT, EDITOR, "Plain follow-up comment")
        await until(lambda: "Plain follow-up" in server.messages[(CHAT, mid)]["text"],
                    "comment after pressing Comment")

        server.press(CHAT, EDITOR, mid, buttons(server.messages[(CHAT, mid)])["↩ Undo"])
        await until(lambda: "Moved from" not in server.messages[(CHAT, mid)]["text"], "undone")
        assert await status(engine, item.id) == ("new", "military_security",
                                                 "Plain follow-up comment")
        assert "✅ Keep" in buttons(server.messages[(CHAT, mid)])
    assert [d.action for d in await decisions.history(engine, item.id)] == [
        "move", "comment", "comment", "comment", "undo"]


async def test_strangers_forged_and_replayed_presses_change_nothing(server, bot, engine):
    (item,) = await stored(engine, 1)
    async with bot() as outbox:
        await outbox.notify([item])
        card = (await until(lambda: cards(server), "the card"))[0]
        mid, keep = card["message_id"], buttons(card)["✅ Keep"]
        sent_before = len(server.calls_of("sendMessage"))

        server.press(CHAT, STRANGER, mid, keep)  # not an allowed user
        server.command(CHAT, STRANGER, "/pending")
        server.command(OTHER_CHAT, EDITOR, "/pending")  # an allowed user outside editor chats
        server.messages[(OTHER_CHAT, 1)] = dict(card, chat={"id": OTHER_CHAT, "type": "group"})
        server.press(OTHER_CHAT, EDITOR, 1, keep)
        forged = keep.rsplit(":", 1)[0].replace(":keep:", ":skip:") + ":" + keep.rsplit(":", 1)[1]
        server.press(CHAT, EDITOR, mid, forged)  # altered action, old signature
        server.press(CHAT, EDITOR, mid, Signer("another:token").pack("t", item.id, "keep"))
        await until(lambda: len(server.calls_of("answerCallbackQuery")) >= 4, "four answers")
        await until(lambda: len(server.calls_of("sendMessage")) >= sent_before + 2, "refusals")
        await asyncio.sleep(0.3)

        refusals = server.calls_of("sendMessage")[sent_before:]
        assert [c.params["text"] for c in refusals] == ["Sorry, this bot only works for its "
                                                        "editors."] * 2
        assert item.title not in str([c.params for c in server.calls[1:]
                                      if c.method != "sendMessage" or c in refusals])
        assert not server.calls_of("editMessageText")
        assert await status(engine, item.id) == ("new", "military_security", "")
        assert await decisions.history(engine, item.id) == []

        # replay: Keep, Undo, then the first Keep's data again (it was drawn for revision 0)
        server.press(CHAT, EDITOR, mid, keep)
        await until(lambda: "Kept by" in server.messages[(CHAT, mid)]["text"], "kept")
        server.press(CHAT, EDITOR, mid, buttons(server.messages[(CHAT, mid)])["↩ Undo"])
        await until(lambda: "Kept by" not in server.messages[(CHAT, mid)]["text"], "undone")
        edits = len(server.calls_of("editMessageText"))
        server.press(CHAT, EDITOR, mid, keep)
        await until(lambda: server.calls_of("answerCallbackQuery")[-1].params.get("text", "")
                    .startswith("This card has changed"), "the replay refused")
        assert (await status(engine, item.id))[0] == "new"
        assert len(server.calls_of("editMessageText")) == edits
        assert len(await decisions.history(engine, item.id)) == 2


async def test_429_every_card_exactly_once_in_order(server, bot, engine):
    items = await stored(engine, 4)
    server.throttle("sendMessage", {2, 3}, retry_after=1)
    async with bot() as outbox:
        await outbox.notify(items)
        await until(lambda: len(cards(server)) == 4, "four cards", timeout=15)
    assert len(server.calls_of("sendMessage", ok=False)) == 6  # two 429s, then retried
    assert [m["text"].split("\n")[1] for m in cards(server)] == [
        f'<a href="https://tass.com/politics/{i}">Story &lt;{i}&gt; &amp; co</a>'
        for i in range(4)]
    rows = await outbox_store.outbox_rows(engine, CHAT)
    assert [r["state"] for r in rows] == ["sent"] * 4


async def test_network_error_is_retried(server, bot, engine):
    items = await stored(engine, 2)
    server.fail("sendMessage", {1}, status=502)
    async with bot() as outbox:
        await outbox.notify(items)
        await until(lambda: len(cards(server)) == 2, "both cards after a 502")
    assert len(server.calls_of("sendMessage")) == 2
    assert [r["attempts"] for r in await outbox_store.outbox_rows(engine, CHAT)] == [2, 1]


async def test_failing_get_updates_is_one_line_each_and_polling_recovers(server, bot, caplog):
    """getUpdates answering 502 three times: a one-line warning each (PTB would log a traceback
    per attempt), and the bot still answers a command once Telegram is back."""
    server.fail("getUpdates", {1, 2, 3}, status=502)
    caplog.set_level(logging.WARNING)
    async with bot():
        await until(lambda: len(server.calls_of("getUpdates", ok=False)) >= 3, "three failures")
        server.command(CHAT, EDITOR, "/help")
        await until(lambda: any("/pending" in m.get("text", "")
                                for m in server.bot_messages(CHAT)), "an answer to /help")
    failed = [r for r in caplog.records if "getUpdates failed" in r.getMessage()]
    assert len(failed) >= 3 and all("\n" not in r.getMessage() and r.exc_info is None
                                    for r in failed)
    assert not [r for r in caplog.records if r.exc_info and "telegram" in r.name]


async def test_restart_mid_posting_loses_and_repeats_nothing(server, bot, engine):
    items = await stored(engine, 4)
    server.delays["sendMessage"] = 0.15
    async with bot() as outbox:
        await outbox.notify(items)
        await until(lambda: len(cards(server)) >= 2, "two cards before the restart")
    # stopped with cards still waiting (and one in flight when the stop came)
    assert len(cards(server)) < 4
    rows = await outbox_store.outbox_rows(engine, CHAT)
    waiting = [r for r in rows if r["state"] == "pending"]
    assert waiting
    # as if a crash hit after a claim, before the send, longer than the claim's lease ago
    await outbox_store.claim_next(engine, CHAT,
                                  now=datetime.now(timezone.utc) - outbox_store.LEASE)
    items += await stored(engine, 2, start=4)
    await outbox_store.enqueue(engine, [items[4].id], [CHAT])  # stored and enqueued while down
    # items[5] was stored but never enqueued (a crash between the two): caught up on start
    async with bot():
        await until(lambda: len(cards(server)) == 6, "all six cards after the restart")
    texts = [m["text"] for m in cards(server)]
    assert len(set(texts)) == 6
    assert [t.split("/politics/")[1].split('"')[0] for t in texts] == [str(i) for i in range(6)]
    assert len(server.calls_of("sendMessage")) == 6


async def test_burst_becomes_a_digest_reviewed_one_by_one(server, bot, engine):
    items = await stored(engine, 3) + await stored_more(engine, 3)
    async with bot(BotOptions(**{**FAST.__dict__, "digest_at": 4})) as outbox:
        await outbox.notify(items)
        digests = await until(lambda: len(server.bot_messages(CHAT)) >= 2
                              and server.bot_messages(CHAT), "a digest per section")
        await asyncio.sleep(0.3)
        assert len(server.bot_messages(CHAT)) == 2  # two sections, one message each, no cards
        military, economy = digests
        assert "Military &amp; security</b>: 3 new candidates" in military["text"]
        assert "Economy" in economy["text"] and "3. " in economy["text"]
        assert {"1", "2", "3", "Review one by one ▶"} <= set(buttons(military))
        digest = military
        server.press(CHAT, EDITOR, digest["message_id"], buttons(digest)["Review one by one ▶"])
        first = (await until(lambda: cards(server), "the first review card"))[0]
        assert "/politics/0" in first["text"]
        server.press(CHAT, EDITOR, first["message_id"], buttons(first)["⏭ Skip"])
        await until(lambda: "Next ▶" in buttons(server.messages[(CHAT, first["message_id"])]),
                    "a Next button")
        server.press(CHAT, EDITOR, first["message_id"],
                     buttons(server.messages[(CHAT, first["message_id"])])["Next ▶"])
        await until(lambda: len(cards(server)) == 2, "the second review card")
        assert "/politics/1" in cards(server)[1]["text"]
    assert [r["state"] for r in await outbox_store.outbox_rows(engine, CHAT)] == [
        "sent", "sent", "digested", "digested", "digested", "digested"]


async def test_a_burst_that_keeps_arriving_while_cards_go_out_becomes_digests(server, bot,
                                                                              engine):
    first = await stored(engine, 3)
    slow = BotOptions(**{**FAST.__dict__, "min_interval": 0.3})
    async with bot(slow) as outbox:
        await outbox.notify(first)  # below digest_at: cards start going out one by one
        await until(lambda: cards(server), "the first card")
        for start in range(3, 50, 8):  # the rest of the burst arrives while they post
            await outbox.notify(await stored(engine, min(8, 50 - start), start=start))
        async def all_posted() -> bool:
            rows = await outbox_store.outbox_rows(engine, CHAT)
            return len(rows) == 50 and {r["state"] for r in rows} <= {"sent", "digested"}

        await until(all_posted, "every row posted")
    rows = await outbox_store.outbox_rows(engine, CHAT)
    assert len(rows) == 50 and {r["state"] for r in rows} <= {"sent", "digested"}
    posted_cards = [m for m in server.bot_messages(CHAT) if "✅ Keep" in buttons(m)]
    digests = [m for m in server.bot_messages(CHAT) if "Review one by one ▶" in buttons(m)]
    assert digests, "the growing queue became a digest"
    assert len(posted_cards) < 10 and len(server.bot_messages(CHAT)) < 15
    shown = sum(t.count("/politics/") for t in (m["text"] for m in digests)) + len(posted_cards)
    assert shown == 50  # every item either carded or listed in a digest, once


async def test_daily_digest_instead_of_cards(server, bot, engine, settings):
    items = await stored(engine, 3) + await stored_more(engine, 2)
    now = datetime.now(settings.zone)
    earlier = (now - timedelta(minutes=1)).time()
    async with bot(BotOptions(**{**FAST.__dict__, "daily_at": earlier})) as outbox:
        await outbox.notify(items)
        await asyncio.sleep(0.8)
        assert server.bot_messages(CHAT) == []  # queued after today's digest: tomorrow's
    from sqlalchemy import update

    from monitor.store.schema import outbox as outbox_table
    async with engine.begin() as conn:  # as if they had been queued yesterday
        await conn.execute(update(outbox_table).values(
            created_at=datetime.now(timezone.utc) - timedelta(days=1)))
    async with bot(BotOptions(**{**FAST.__dict__, "daily_at": earlier})):
        digests = await until(lambda: len(server.bot_messages(CHAT)) >= 2
                              and server.bot_messages(CHAT), "the day's digests")
        await asyncio.sleep(0.3)
    assert len(server.bot_messages(CHAT)) == 2 and cards(server) == []
    assert "candidates of the day" in digests[0]["text"]


async def test_a_first_poll_of_old_items_posts_none(server, bot, engine, sources):
    from monitor.pipeline.run import Pipeline, process

    old = datetime(2020, 6, 1, tzinfo=timezone.utc)
    items = [Item(source="tass", url=f"https://tass.com/politics/old{i}", title=f"Old story {i}",
                  summary="Moscow and Beijing.", lang="en",
                  published=old + timedelta(hours=i)) for i in range(100)]
    fresh = Item(source="tass", url="https://tass.com/politics/fresh", title="Fresh story",
                 lang="en", published=datetime.now(timezone.utc) - timedelta(hours=2))
    async with bot() as outbox:
        pipeline = Pipeline(engine=engine, sources=sources, notify=outbox.notify,
                            max_age=timedelta(days=3))
        stored_items = await process(pipeline, sources["tass"], [*items, fresh])
        await until(lambda: cards(server), "the fresh item's card")
        await asyncio.sleep(0.5)
    assert len(stored_items) == 101 and sum(i.held for i in stored_items) == 100
    assert len(cards(server)) == 1 and "Fresh story" in cards(server)[0]["text"]
    assert len(await item_store.find_items(engine, search="Old story")) == 100  # searchable


async def test_card_says_why_when_and_from_whom(server, bot, engine, settings):
    now = datetime.now(timezone.utc)
    (item,) = await item_store.insert_new(engine, [Item(
        source="mfa_zh_briefings", url="https://www.fmprc.gov.cn/web/t1.shtml",
        title="2020年6月29日外交部发言人赵立坚主持例行记者会", lang="zh", key="mfa629",
        bucket="political_diplomatic", confidence=0.5, date_only=True,
        scores={"political_diplomatic": 0.5, "off_topic": 0.1}, why="terms: 外交部",
        published=datetime(2020, 6, 29, 12, tzinfo=timezone.utc), first_seen=now)])
    async with bot() as outbox:
        await outbox.notify([item])
        card = (await until(lambda: cards(server), "the card"))[0]
    text = card["text"]
    assert "MFA (ZH)" in text and "Mon 29 Jun 2020" in text and ":" not in text.split("·")[2][:16]
    assert "relevance 90%" in text and "terms: 外交部" in text


async def test_unknown_command_and_disabled_source_reason(server, bot, engine):
    async with bot():
        server.command(CHAT, EDITOR, "/frobnicate")
        answer = await until(lambda: server.bot_messages(CHAT), "an answer")
        assert "/help" in answer[0]["text"]
        server.command(CHAT, EDITOR, "/sources")
        answers = await until(lambda: len(server.bot_messages(CHAT)) >= 2
                              and server.bot_messages(CHAT)[1:], "the sources")
    text = "\n".join(m["text"] for m in answers)
    assert "rferl_kazakh" in text and "disabled" in text and "feed id" in text.lower()


async def stored_more(engine, n: int) -> list[Item]:
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    items = [Item(source="xinhua", url=f"https://english.news.cn/{i}", title=f"Trade {i}",
                  summary="Trade grew.", lang="en", key=f"more{i}",
                  bucket="economy_trade_sanctions", confidence=0.6,
                  first_seen=now + timedelta(milliseconds=i)) for i in range(n)]
    return await item_store.insert_new(engine, items)


async def test_quiet_hours_hold_cards(server, bot, engine, settings):
    items = await stored(engine, 2)
    now = datetime.now(settings.zone)
    quiet = QuietHours((now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time())
    async with bot(BotOptions(**{**FAST.__dict__, "quiet": quiet})) as outbox:
        await outbox.notify(items)
        await asyncio.sleep(0.6)
        assert cards(server) == []
    assert [r["state"] for r in await outbox_store.outbox_rows(engine, CHAT)] == ["pending"] * 2


async def test_commands(server, bot, engine, settings):
    items = await stored(engine, 3, published=None)
    await decisions.decide(engine, items[0].id, rev=0, action="keep", user_id=EDITOR,
                        user_name="Ed")
    await decisions.decide(engine, items[0].id, rev=1, action="comment", user_id=EDITOR,
                        user_name="Ed", comment="Worth quoting")

    async def ask(text: str) -> str:
        before = len(server.bot_messages(CHAT))
        server.command(CHAT, EDITOR, text)
        new = await until(lambda: server.bot_messages(CHAT)[before:], f"an answer to {text}")
        await asyncio.sleep(0.1)
        return "\n".join(m.get("text", m.get("caption", "")) for m in
                         server.bot_messages(CHAT)[before:]) or str(new)

    async with bot():
        # The two undecided items were stored but never queued: start-up catches them up as
        # cards. Let that finish first, so the answers below are the next messages.
        await until(lambda: len(cards(server)) == 2, "the caught-up cards")
        assert "/pending" in await ask("/help")
        pending = await ask("/pending")
        assert "1–2 of 2" in pending and "/politics/1" in pending and "/politics/0" not in pending
        week = await ask("/week")
        assert "Military &amp; security" in week and "Worth quoting" in week
        assert "tass" in await ask("/sources")
        assert "paused" in await ask("/pause tass")
        assert (await source_store.get_health(engine, "tass")).paused
        assert "resumed" in await ask("/resume tass")
        assert "Unknown source" in await ask("/pause nope")
        assert "/politics/2" in await ask("/find story <2>")
        assert "1 of 1 decided items (100%)" in await ask("/stats")
        await ask("/export")
        await until(lambda: len(server.documents) == 2, "two documents")
    week_name = current_week(settings.zone)
    assert [d["filename"] for d in server.documents] == [
        f"china-russia-report-{week_name}.md", f"china-russia-report-{week_name}.docx"]
    assert b"Worth quoting" in server.documents[0]["data"]
    assert server.documents[1]["data"][:2] == b"PK"  # a .docx is a zip


def test_render_is_escaped_linked_safely_and_short(topics):
    item = Item(source="x", url="javascript:alert(1)", title="<script>", summary="word " * 5000,
                id=1, bucket="military_security", confidence=0.5, comment="c " * 5000)
    text = render.card_text(item, topics, ZoneInfo("UTC"), "X")
    assert "<a " not in text and "&lt;script&gt;" in text and len(text) <= 4096
    assert render.link("https://e.org/?a=1&b=\"2\"", "t") == \
        '<a href="https://e.org/?a=1&amp;b=&quot;2&quot;">t</a>'


def test_signed_callback_data():
    signer = Signer(TOKEN)
    data = signer.pack("t", 2_147_483_647, "m5", 99_999)
    assert len(data.encode()) <= 64
    assert signer.unpack(data).action == "m5"
    assert signer.unpack(data[:-1] + ("A" if data[-1] != "A" else "B")) is None
    assert signer.unpack("t:1:keep") is None


def test_quiet_hours_and_options():
    night = QuietHours.parse("22:00-07:00")
    assert night.active(datetime(2026, 1, 1, 23, 30)) and night.active(datetime(2026, 1, 1, 6))
    assert not night.active(datetime(2026, 1, 1, 12))
    assert bot_options(load_settings({"TELEGRAM_QUIET_HOURS": "22:00-07:00"})).quiet == night
    assert QuietHours(dtime(9), dtime(17)).active(datetime(2026, 1, 1, 9))
    with pytest.raises(ConfigError, match="TELEGRAM_DIGEST_AT"):
        load_settings({"TELEGRAM_DIGEST_AT": "many"})


async def test_daemon_runs_the_bot_in_its_loop_and_stops_on_sigterm(server, settings, engine,
                                                                    monkeypatch):
    import os
    import signal
    from contextlib import asynccontextmanager

    from monitor.daemon import run as daemon
    from monitor.pipeline.run import Pipeline

    pipeline = Pipeline(engine=engine, sources={})

    @asynccontextmanager
    async def fake_pipeline(_settings):
        yield pipeline

    monkeypatch.setattr(daemon, "open_pipeline", fake_pipeline)
    settings = settings.model_copy(update={"telegram_min_interval": 0.02})
    items = await stored(engine, 1)
    task = asyncio.create_task(daemon.run_daemon(Config(settings, {}, load_topics(ROOT / "topics.yaml"))))
    await until(lambda: pipeline.notify is not None and server.commands, "the bot started")
    await pipeline.notify(items)
    await until(lambda: cards(server), "a card from the daemon's notifier")
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, WAIT) == 0


async def test_three_reports_of_one_story_make_one_card_edited_twice(server, bot, engine):
    now = datetime.now(timezone.utc)
    reports = [("kremlin", "Telephone conversation with President of China Xi Jinping", "en"),
               ("mfa_zh_remarks", "习近平同俄罗斯总统普京通电话", "zh"),
               ("tass_ru", "Путин и Си Цзиньпин провели телефонный разговор", "ru")]
    async with bot() as outbox:
        for n, (source, title, lang) in enumerate(reports):
            (item,) = await item_store.insert_new(engine, [Item(
                source=source, url=f"https://example.org/call/{n}", title=title, lang=lang,
                key=f"call{n}", story="call-story", bucket="political_diplomatic",
                confidence=0.9, published=now, first_seen=now + timedelta(seconds=n))])
            await outbox.notify([item])
            await until(lambda n=n: len(server.calls_of("sendMessage"))
                        + len(server.calls_of("editMessageText")) == n + 1, f"report {n}")
        card = cards(server)[0]
        assert len(cards(server)) == 1 and len(server.calls_of("editMessageText")) == 2
        text = server.messages[(CHAT, card["message_id"])]["text"]
        assert "Kremlin (EN) · MFA (ZH) · TASS (RU)" in text
        current = server.messages[(CHAT, card["message_id"])]
        server.press(CHAT, EDITOR, card["message_id"], buttons(current)["📚 3 reports"])
        listing = await until(lambda: [m for m in server.bot_messages(CHAT)
                                       if "3 reports of this story" in m["text"]], "reports")
        assert "Путин" in listing[0]["text"] and "习近平" in listing[0]["text"]
        server.press(CHAT, EDITOR, card["message_id"], buttons(current)["⚖ Compare"])
        compared = await until(lambda: [m for m in server.bot_messages(CHAT)
                                        if "Readout comparison" in m["text"]], "the comparison")
        assert "Russian side (kremlin" in compared[0]["text"] and "Chinese side (mfa_zh" in \
            compared[0]["text"]
        server.press(CHAT, EDITOR, card["message_id"], buttons(current)["✅ Keep"])
        await until(lambda: "Kept" in server.messages[(CHAT, card["message_id"])]["text"], "kept")
    statuses = {(await decisions.get_item(engine, i)).status
                for i in [r["item_id"] for r in await outbox_store.outbox_rows(engine, CHAT)]}
    assert statuses == {"kept"}  # the decision acts on the story
    assert [r["state"] for r in await outbox_store.outbox_rows(engine, CHAT)] == [
        "sent", "merged", "merged"]


HOSTILE = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=3000) | \
    st.sampled_from(["<b>unclosed", "a < b & c > d", "</i>", "&amp", "&#xZZ;", "\x00\x01\x1f",
                     "😀" * 5000, "<a href='javascript:x'>", "\ud800", "x" * 20000])


@settings_(max_examples=150, deadline=None)
@given(title=HOSTILE, summary=HOSTILE, comment=HOSTILE, source=HOSTILE, why=HOSTILE)
def test_every_card_is_valid_telegram_html_within_the_limit(title, summary, comment, source,
                                                            why) -> None:
    item = Item(source="x", url="https://e.org/a?b=<1>&c=\"2\"", title=title, summary=summary,
                id=1, bucket="military_security", confidence=0.5, comment=comment, why=why,
                scores={"off_topic": 0.2}, published=datetime(2026, 3, 10, tzinfo=timezone.utc))
    text = render.card_text(item, TOPICS, ZoneInfo("Europe/London"), source)
    assert message_problem(text, "HTML") == "", text[:300]
    for line_text in render.chunks([render.link(item.url, title or "t"),
                                    escape(render.shorten(summary, 90))]):
        assert message_problem(line_text, "HTML") in ("", "message text is empty")


async def test_hostile_titles_always_reach_the_chat(server, bot, engine, sources):
    from monitor.pipeline.normalize import normalize

    now = datetime.now(timezone.utc)
    titles = ["<b>unclosed tag from a broken feed", "Rates < 5% & rising > fast", "NUL\x00in title",
              "😀" * 4000, "</i> stray end tag", "plain"]
    items = await item_store.insert_new(engine, [normalize(Item(
        source="tass", url=f"https://tass.com/politics/h{n}", title=t, summary="&" * 5000,
        bucket="military_security", confidence=0.7, comment="", published=now,
        first_seen=now + timedelta(milliseconds=n)), sources["tass"]) for n, t in enumerate(titles)])
    server.fail("sendMessage", {2}, status=400)  # Telegram refuses one card's HTML outright
    async with bot(BotOptions(**{**FAST.__dict__, "digest_at": 50})) as outbox:
        await outbox.notify(items)
        await until(lambda: len(cards(server)) == len(titles), "every card")
    assert server.refused == []  # no message Telegram's HTML rules would refuse
    assert {r["state"] for r in await outbox_store.outbox_rows(engine, CHAT)} == {"sent"}
    resent = [c for c in server.calls_of("sendMessage") if not c.params.get("parse_mode")]
    assert len(resent) == 1 and "Rates < 5%" in resent[0].params["text"], \
        "the refused card went out again as plain text"


async def test_telegram_unreachable_at_start_is_retried_and_nothing_is_lost(server, bot, engine):
    server.fail("getMe", {1, 2}, status=502)  # Telegram down when the daemon starts
    items = await stored(engine, 2)
    async with bot() as outbox:
        assert not outbox.connected()  # serving, and /readyz says the bot is not connected
        await outbox.notify(items)  # the cards wait in the database meanwhile
        await until(lambda: len(cards(server)) == 2, "the cards once Telegram answers", 20)
        assert outbox.connected()
    assert [c.status for c in server.calls_of("getMe", ok=False)][:3] == [502, 502, 200]
    assert [r["state"] for r in await outbox_store.outbox_rows(engine, CHAT)] == ["sent"] * 2


async def test_a_chat_that_refuses_the_bot_keeps_its_cards_and_is_announced(server, bot, engine):
    from monitor import metrics

    refused_before = metrics.CHAT_REFUSED._value.get()
    server.fail("sendMessage", {1}, status=403)  # "bot was kicked", then added back
    items = await stored(engine, 2)
    async with bot() as outbox:
        await outbox.notify(items)
        await until(lambda: len(cards(server)) == 2, "both cards after the chat took it back", 20)
    assert metrics.CHAT_REFUSED._value.get() == refused_before + 1
    rows = await outbox_store.outbox_rows(engine, CHAT)
    assert [r["state"] for r in rows] == ["sent", "sent"]
    assert [c.params["text"].split("/politics/")[1][:1] for c in server.calls_of("sendMessage")] \
        == ["0", "1"]  # in order, and the refused one not lost

"""The bot's messages about items, and the comments it is waiting for.

A row in `cards` says which item a message in an editor chat shows (a card, a review card) or
asks about (a comment prompt): a reply to it comments on that item, and a decision redraws
every card of the item. A row in `comment_prompts` means the user pressed Comment and their
next plain message in that chat is the comment; taking it uses it up.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import insert_ignoring_duplicates
from monitor.store.schema import cards, comment_prompts, items, outbox


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def add_card(engine: AsyncEngine, chat: int, message_id: int, item_id: int,
                   kind: str = "card") -> None:
    """A message that shows (or asks about) an item: replies to it comment on that item.

    A review card (from a digest) also marks the item's outbox row in that chat as sent.
    """
    async with engine.begin() as conn:
        await conn.execute(insert_ignoring_duplicates(engine, cards).values(
            chat_id=chat, message_id=message_id, item_id=item_id, kind=kind, posted_at=_now()))
        if kind == "review":
            await conn.execute(update(outbox).where(outbox.c.item_id == item_id,
                                                    outbox.c.chat_id == chat)
                               .values(state="sent", message_id=message_id))


async def card_at(engine: AsyncEngine, chat: int, message_id: int) -> tuple[int, str] | None:
    """(item id, kind) of the card at that message, if it is one."""
    query = select(cards.c.item_id, cards.c.kind).where(cards.c.chat_id == chat,
                                                        cards.c.message_id == message_id)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return (row.item_id, row.kind) if row else None


async def cards_of(engine: AsyncEngine, item_id: int) -> list[tuple[int, int, str]]:
    """Every (chat, message id, kind) showing the item, to edit them all after a decision."""
    query = select(cards.c.chat_id, cards.c.message_id, cards.c.kind).where(
        cards.c.item_id == item_id, cards.c.kind != "prompt").order_by(cards.c.posted_at)
    async with engine.connect() as conn:
        return [(r.chat_id, r.message_id, r.kind) for r in await conn.execute(query)]


async def set_prompt(engine: AsyncEngine, chat: int, user: int, item_id: int) -> None:
    """The user pressed Comment: their next plain message in the chat is the comment."""
    async with engine.begin() as conn:
        await conn.execute(delete(comment_prompts).where(comment_prompts.c.chat_id == chat,
                                                         comment_prompts.c.user_id == user))
        await conn.execute(comment_prompts.insert().values(chat_id=chat, user_id=user,
                                                           item_id=item_id, since=_now()))


async def take_prompt(engine: AsyncEngine, chat: int, user: int) -> int | None:
    """The item the user was asked to comment on (the prompt is used up), if any."""
    where = and_(comment_prompts.c.chat_id == chat, comment_prompts.c.user_id == user)
    async with engine.begin() as conn:
        row = (await conn.execute(select(comment_prompts.c.item_id).where(where))).first()
        if row is not None:
            await conn.execute(delete(comment_prompts).where(where))
    return row.item_id if row else None


async def story_card(engine: AsyncEngine, chat: int, story: str) -> tuple[int, int] | None:
    """(item id, message id) of the card already showing this story in the chat, if any: a
    later report of the story joins that card instead of getting its own."""
    query = (select(cards.c.item_id, cards.c.message_id).join(items, items.c.id == cards.c.item_id)
             .where(cards.c.chat_id == chat, cards.c.kind.in_(("card", "review")),
                    items.c.story == story)
             .order_by(cards.c.posted_at, cards.c.message_id).limit(1))
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return (row.item_id, row.message_id) if row else None

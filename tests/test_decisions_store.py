"""The editor's store on SQLite and PostgreSQL: decisions as labels, stale presses, undo, the outbox."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from monitor.models import Item
from monitor.store import cards as card_store
from monitor.store import decisions
from monitor.store import items as item_store
from monitor.store import outbox as outbox_store

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


async def stored(engine, n: int = 3, bucket: str = "military_security") -> list[Item]:
    """n classified items inserted through the item store, oldest first."""
    items = [Item(source="tass", url=f"https://tass.com/{i}", title=f"Title {i}",
                  summary=f"Summary {i}", lang="en", key=f"k{i}", bucket=bucket,
                  confidence=0.8, published=NOW + timedelta(minutes=i),
                  first_seen=datetime.now(timezone.utc) + timedelta(seconds=i))
             for i in range(n)]
    return await item_store.insert_new(engine, items)


async def test_keep_move_skip_become_labels(engine):
    a, b, c = await stored(engine)
    kept = await decisions.decide(engine, a.id, rev=0, action="keep", user_id=7, user_name="Ed")
    assert kept is not None and (kept.status_from, kept.status_to) == ("new", "kept")
    assert await decisions.decide(engine, b.id, rev=0, action="move", user_id=7, user_name="Ed",
                               bucket="energy_minerals_cleantech")
    assert await decisions.decide(engine, c.id, rev=0, action="skip", user_id=7, user_name="Ed")
    labels = await decisions.labels(engine)
    assert [lab.bucket for lab in labels] == ["military_security", "energy_minerals_cleantech",
                                              "off_topic"]
    first = labels[0]
    assert (first.title, first.summary, first.lang, first.bucket) == (
        "Title 0", "Summary 0", "en", "military_security")
    assert [lab.origin for lab in labels] == ["editor", "editor", "editor-skip"]
    assert await decisions.agreement(engine) == (1, 3)
    item = await decisions.get_item(engine, a.id)
    assert item.status == "kept" and item.reviewed_by == "Ed"
    moved = (await decisions.history(engine, b.id))[0]
    assert (moved.bucket_from, moved.bucket_to, moved.user_id) == (
        "military_security", "energy_minerals_cleantech", 7)


async def test_stale_or_replayed_revision_changes_nothing(engine):
    (a,) = await stored(engine, 1)
    assert await decisions.decide(engine, a.id, rev=0, action="keep", user_id=1, user_name="Ed")
    again = await decisions.decide(engine, a.id, rev=0, action="skip", user_id=1, user_name="Ed")
    assert again is None
    assert (await decisions.get_item(engine, a.id)).status == "kept"
    assert await decisions.decide(engine, a.id, rev=1, action="keep", user_id=1,
                               user_name="Ed") is None  # not applicable to a kept item
    assert await decisions.decide(engine, 999_999, rev=0, action="keep", user_id=1,
                               user_name="Ed") is None
    assert len(await decisions.history(engine, a.id)) == 1


async def test_racing_presses_commit_once(engine):
    (a,) = await stored(engine, 1)
    results = await asyncio.gather(*(
        decisions.decide(engine, a.id, rev=0, action=action, user_id=1, user_name="Ed")
        for action in ("keep", "skip", "keep", "skip")))
    assert sum(r is not None for r in results) == 1
    assert len(await decisions.history(engine, a.id)) == 1


async def test_undo_restores_status_and_bucket(engine):
    (a,) = await stored(engine, 1)
    await decisions.decide(engine, a.id, rev=0, action="keep", user_id=1, user_name="Ed")
    await decisions.decide(engine, a.id, rev=1, action="move", user_id=1, user_name="Ed",
                           bucket="tech_cyber_info")
    await decisions.decide(engine, a.id, rev=2, action="comment", user_id=1, user_name="Ed",
                           comment="Worth a line")
    assert await decisions.decide(engine, a.id, rev=3, action="undo", user_id=1, user_name="Ed")
    item = await decisions.get_item(engine, a.id)
    assert (item.status, item.bucket, item.comment) == ("kept", "military_security",
                                                        "Worth a line")
    assert await decisions.decide(engine, a.id, rev=4, action="undo", user_id=1, user_name="Ed")
    item = await decisions.get_item(engine, a.id)
    assert (item.status, item.bucket) == ("new", "military_security")
    assert await decisions.decide(engine, a.id, rev=5, action="undo", user_id=1,
                                  user_name="Ed") is None  # nothing left to undo
    assert await decisions.labels(engine) == []


async def test_outbox_posts_each_item_once_per_chat(engine):
    a, b = await stored(engine, 2)
    assert await outbox_store.enqueue(engine, [a.id, b.id], [10, 20]) == 4
    assert await outbox_store.enqueue(engine, [a.id, b.id], [10, 20]) == 0
    claimed = await outbox_store.claim_next(engine, 10)
    assert claimed is not None and claimed[1].id == a.id
    # a crash here: the row stays `sending` until its lease has expired
    assert await outbox_store.recover(engine) == 0
    assert await outbox_store.recover(
        engine, now=datetime.now(timezone.utc) + outbox_store.LEASE) == 1
    outbox_id, item = await outbox_store.claim_next(engine, 10)
    assert item.id == a.id
    await outbox_store.mark_sent(engine, outbox_id, 10, 555, item.id)
    assert await card_store.card_at(engine, 10, 555) == (a.id, "card")
    assert (await outbox_store.claim_next(engine, 10))[1].id == b.id
    assert await outbox_store.claim_next(engine, 10) is None
    rows = await outbox_store.outbox_rows(engine, 10)
    assert [(r["state"], r["attempts"]) for r in rows] == [("sent", 2), ("sending", 1)]


async def test_digest_and_review_queue(engine):
    items = await stored(engine, 3)
    await outbox_store.enqueue(engine, [i.id for i in items], [10])
    digest = await outbox_store.queued(engine, 10)
    assert [i.id for _, i in digest] == [i.id for i in items]
    await outbox_store.mark_digested(engine, [row for row, _ in digest])
    assert await outbox_store.pending_count(engine, 10) == 0
    first = await outbox_store.next_for_review(engine, 10)
    await card_store.add_card(engine, 10, 77, first.id, "review")
    assert (await outbox_store.next_for_review(engine, 10)).id == items[1].id


async def test_catch_up_enqueues_what_a_crash_left_out(engine):
    a, b = await stored(engine, 2)
    await outbox_store.enqueue(engine, [a.id], [10])
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    assert await outbox_store.catch_up(engine, [10], since) == 1
    assert [r["item_id"] for r in await outbox_store.outbox_rows(engine, 10)] == [a.id, b.id]


async def test_catch_up_leaves_unclassified_and_off_topic_items_alone(engine):
    """`monitor import --no-classify` stores items without a bucket: a restart must not post
    them before `monitor classify --stored` has judged them."""
    [raw] = await item_store.insert_new(engine, [Item(
        source="tass", url="https://tass.com/raw", title="Raw", lang="en", key="raw",
        first_seen=datetime.now(timezone.utc))])
    [off] = await stored(engine, 1, bucket="off_topic")
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    assert raw.bucket is None and off.id != raw.id
    assert await outbox_store.catch_up(engine, [10], since) == 0
    assert await outbox_store.outbox_rows(engine, 10) == []


async def test_prompts_and_pending(engine):
    a, b, c = await stored(engine, 3)
    await card_store.set_prompt(engine, 10, 7, b.id)
    assert await card_store.take_prompt(engine, 10, 7) == b.id
    assert await card_store.take_prompt(engine, 10, 7) is None
    await decisions.decide(engine, a.id, rev=0, action="skip", user_id=7, user_name="Ed")
    page, total = await decisions.pending_items(engine, 0, 1)
    assert total == 2 and [i.id for i in page] == [b.id]


async def test_off_topic_and_skip_teach_differently_and_move_keeps(engine):
    a, b, c = await stored(engine)
    assert await decisions.decide(engine, a.id, rev=0, action="offtopic", user_id=7,
                                  user_name="Ed")
    assert await decisions.decide(engine, b.id, rev=0, action="skip", user_id=7, user_name="Ed")
    moved = await decisions.decide(engine, c.id, rev=0, action="move", user_id=7,
                                   user_name="Ed", bucket="tech_cyber_info")
    assert moved is not None and (moved.status_to, moved.bucket_to) == ("kept", "tech_cyber_info")
    labels = {label.title: label for label in await decisions.labels(engine)}
    assert (labels["Title 0"].bucket, labels["Title 0"].origin) == ("off_topic", "editor-offtopic")
    assert labels["Title 1"].origin == "editor-skip"
    assert (labels["Title 2"].bucket, labels["Title 2"].origin) == ("tech_cyber_info", "editor")
    undone = await decisions.decide(engine, c.id, rev=1, action="undo", user_id=7,
                                    user_name="Ed")
    assert undone is not None and (undone.status_to, undone.bucket_to) == (
        "new", "military_security")
    assert "Title 2" not in {label.title for label in await decisions.labels(engine)}

"""`monitor compare`: a story's Russian and Chinese official readouts (or two files) compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.config.settings import Settings
from monitor.errors import ConfigError
from monitor.models import Item
from monitor.store import items as item_store
from monitor.store.db import open_database


async def _story_items(settings: Settings, story: str) -> list[Item]:
    """The stored items of one story (its id as `monitor items --json` prints it)."""
    from sqlalchemy import select

    from monitor.store.schema import items as items_table

    engine = await open_database(settings.db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(items_table)
                                       .where(items_table.c.story == story)
                                       .order_by(items_table.c.id))).mappings().all()
    finally:
        await engine.dispose()
    return [item_store.row_item(r) for r in rows]


def _file_readout(path: Path) -> Any:
    from monitor.pipeline.compare import Readout

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as UTF-8 text: {exc}") from None
    return Readout(text=text, source=path.name)


async def show_comparison(settings: Settings | None, story: str | None, *,
                          ru_path: Path | None = None, cn_path: Path | None = None,
                          outlets: dict[str, str] | None = None) -> int:
    """`monitor compare`: a story's Russian and Chinese official readouts (or two text files)
    compared side by side: figures, characterisations of the relationship, topics."""
    from monitor.pipeline.compare import compare, render_comparison

    if ru_path is not None and cn_path is not None:
        ru, cn = _file_readout(ru_path), _file_readout(cn_path)
    else:
        assert settings is not None and story
        items = await _story_items(settings, story)
        from monitor.pipeline.readouts import item_readout, pick_readouts

        pair = pick_readouts(items, outlets or {})
        if pair is None:
            held = ", ".join(sorted({i.source for i in items})) or "no stored items"
            raise ConfigError(f"story {story!r} has no pair of official readouts (a Kremlin or "
                              f"Russian MFA item and a PRC MFA, Xinhua or People's Daily item); "
                              f"it holds: {held}")
        ru, cn = item_readout(pair[0]), item_readout(pair[1])
        click.echo(f"Story {story}: {pair[0].source} (item {pair[0].id}) against "
                   f"{pair[1].source} (item {pair[1].id}). Stored items hold only the title and "
                   f"the lead, so only those are compared.\n")
    click.echo(render_comparison(compare(ru, cn)))
    return 0

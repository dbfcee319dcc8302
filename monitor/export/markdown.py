"""The draft as Markdown, laid out like the newsletter.

Title, a one-line summary, the numbered table of contents, then `## 1) Section` and per story
`### Headline – Author for Outlet`, the link, the excerpt as a quote and "Comment: …". The
unreviewed candidates follow under `## Unreviewed candidates`, one heading level lower.
Text from the sources is escaped so a stray `*` or `[` cannot change the layout.
"""

from __future__ import annotations

import re

from monitor.export.draft import Draft, Entry, Section

UNREVIEWED = "Unreviewed candidates"
UNREVIEWED_NOTE = "Relevant items the editor has neither kept nor skipped yet, by section."
_SPECIAL = re.compile(r"([\\`*_\[\]<])")
# A block marker at the start of any line (white space before it, but not a line break).
_LINE_START = re.compile(r"^([^\S\n]*)([#>+=|-]|\d+[.)])", re.MULTILINE)


def render_markdown(draft: Draft) -> str:
    """The whole draft; ends with one newline."""
    blocks = [f"# {escape(draft.title)}", escape(draft.summary)]
    if draft.kept:
        blocks.append("\n".join(label(s) for s in draft.kept))
    for section in draft.kept:
        blocks += section_blocks(section, level=2)
    if draft.unreviewed:
        blocks += [f"## {UNREVIEWED}", UNREVIEWED_NOTE]
        for section in draft.unreviewed:
            blocks += section_blocks(section, level=3)
    return "\n\n".join(blocks) + "\n"


def section_blocks(section: Section, level: int) -> list[str]:
    blocks = [f"{'#' * level} {label(section)}"]
    for entry in section.entries:
        blocks += entry_blocks(entry, level + 1)
    return blocks


def label(section: Section) -> str:
    """'1) Title' with the title escaped but the number left as a list/heading number."""
    title = escape(section.title)
    return f"{section.number}) {title}" if section.number else title


def entry_blocks(entry: Entry, level: int) -> list[str]:
    """Heading, link, 'Also in', quoted excerpt, comment: one Markdown block each."""
    blocks = [f"{'#' * level} {escape(entry.heading)}", f"<{link(entry.item.url)}>"]
    if entry.also:
        blocks.append(escape(f"Also in: {', '.join(entry.also)}"))
    excerpt = entry.excerpt  # computed on each read
    if excerpt:
        blocks.append("\n>\n".join(f"> {escape(p)}" for p in excerpt.split("\n")))
    if entry.comment:
        first, *rest = entry.comment.split("\n\n")
        blocks.append(escape(f"Comment: {' '.join(first.split())}"))
        blocks += [escape(" ".join(p.split())) for p in rest if p.strip()]
    return blocks


def escape(text: str) -> str:
    """Source text as literal Markdown: inline markup escaped, and block markers at a line start."""
    return _LINE_START.sub(_escape_marker, _SPECIAL.sub(r"\\\1", text))


def _escape_marker(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        return f"{indent}{marker[:-1]}\\{marker[-1]}"
    return f"{indent}\\{marker}"


def link(url: str) -> str:
    """A URL safe inside `<…>` (an autolink allows no spaces or angle brackets)."""
    return url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")

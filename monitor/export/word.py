"""The draft as a Word document, with the same layout as the Markdown draft.

Real Word styles, so the navigation pane and pasting into the newsletter editor keep the
structure: Title, Heading 1 for numbered sections (and the "Unreviewed candidates" part),
Heading 2 for stories (Heading 2/3 inside the unreviewed part), Quote for excerpts. Links are
real hyperlinks: python-docx can read them but has no call that adds one, so `_Writer.link`
writes the `w:hyperlink` element and its external relationship (the usual OXML recipe).

A week can hold 10,000 stories (60,000 paragraphs), so the body is written by `_Writer`, not
by `Document.add_paragraph`: python-docx looks each style up by name in styles.xml per
paragraph, inserts every paragraph by searching the body for its section properties, and picks
each new relationship id by scanning the ids taken (all three grow with the document, the last
two make it quadratic), and it builds a Python object per element. The writer resolves each
style to its id once, numbers relationships itself and writes the body as markup that one
parse turns into elements; the document is byte for byte what python-docx's calls made.
"""

from __future__ import annotations

import re
from io import BytesIO
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import nsdecls
from docx.oxml.parser import parse_xml
from docx.shared import RGBColor

from monitor.export.draft import Draft, Entry, Section
from monitor.export.markdown import UNREVIEWED, UNREVIEWED_NOTE

HYPERLINK_STYLE = "Hyperlink"
LINK_COLOR = RGBColor(0x05, 0x63, 0xC1)  # Word's own hyperlink blue
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # python-docx refuses these
_RUN_BREAKS = re.compile("([\t\n\r])")  # python-docx writes these as <w:tab/> and <w:br/>
_PRESERVE = ' xml:space="preserve"'


def render_docx(draft: Draft) -> bytes:
    """The whole draft as .docx bytes."""
    doc = Document()
    doc.core_properties.title = xml(draft.title)
    _hyperlink_style(doc)
    with _Writer(doc) as out:
        out.heading(xml(draft.title), level=0)
        out.paragraph(draft.summary)
        for section in draft.kept:
            out.paragraph(section.label)
        for section in draft.kept:
            add_section(out, section, level=1)
        if draft.unreviewed:
            out.heading(UNREVIEWED, level=1)
            out.paragraph(UNREVIEWED_NOTE)
            for section in draft.unreviewed:
                add_section(out, section, level=2)
    buffer = BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def add_section(out: _Writer, section: Section, level: int) -> None:
    out.heading(xml(section.label), level=level)
    for entry in section.entries:
        add_entry(out, entry, level + 1)


def add_entry(out: _Writer, entry: Entry, level: int) -> None:
    """Heading, link, 'Also in', excerpt paragraphs (Quote style), comment paragraphs."""
    out.heading(xml(entry.heading), level=level)
    out.paragraph(runs=out.link(entry.item.url, xml(entry.item.url)))
    if entry.also:
        out.paragraph(xml(f"Also in: {', '.join(entry.also)}"))
    excerpt = entry.excerpt  # computed on each read
    for paragraph in excerpt.split("\n") if excerpt else []:
        out.paragraph(xml(paragraph), style="Quote")
    if entry.comment:
        first, *rest = [xml(" ".join(p.split())) for p in entry.comment.split("\n\n") if p.strip()]
        out.paragraph(runs=run("Comment: ", bold=True) + run(first))
        for paragraph in rest:
            out.paragraph(paragraph)


class _Writer:
    """Collects the body's paragraphs as WordprocessingML text and parses them once on exit.

    Used as a context manager. Each call appends a string (constant time, no element objects);
    on exit the text is parsed by python-docx's own parser into a new body, the old body's
    section properties (which must stay the last child) are moved after the paragraphs, and the
    new body replaces the old. The markup is what python-docx's calls would write.
    """

    def __init__(self, doc: DocumentType) -> None:
        self._doc = doc
        self._parts: list[str] = []
        self._styles: dict[str, str | None] = {}
        self._links: dict[str, str] = {}
        self._taken = set(doc.part.rels.keys())
        self._next_rel = 1

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_rest: object) -> None:
        if exc_type is not None:
            return
        old = self._doc.element.body
        body = parse_xml(f"<w:body {nsdecls('w', 'r')}>{''.join(self._parts)}</w:body>")
        for child in list(old):  # the section properties: page size, margins
            body.append(child)
        self._doc.element.replace(old, body)

    def style_id(self, name: str) -> str | None:
        """The paragraph style's id (None for the default style), looked up once per name."""
        if name not in self._styles:
            self._styles[name] = self._doc.styles.get_style_id(name, WD_STYLE_TYPE.PARAGRAPH)
        return self._styles[name]

    def paragraph(self, text: str = "", style: str | None = None, *, runs: str = "") -> None:
        """A paragraph at the end of the body: `text` in one run (if any) or the given runs'
        markup, in `style` (None: the default paragraph style)."""
        style_id = self.style_id(style) if style else None
        props = f'<w:pPr><w:pStyle w:val="{style_id}"/></w:pPr>' if style_id else ""
        self._parts.append(f"<w:p>{props}{runs or run(text)}</w:p>")

    def heading(self, text: str, level: int) -> None:
        """The paragraph `Document.add_heading` makes: Title for level 0, else Heading N."""
        self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def link(self, url: str, text: str) -> str:
        """The markup of a clickable external link (a `w:hyperlink` run); one relationship
        per distinct URL, numbered as `Part.relate_to` would number them."""
        if url not in self._links:
            while f"rId{self._next_rel}" in self._taken:
                self._next_rel += 1
            rel_id = f"rId{self._next_rel}"
            self._taken.add(rel_id)
            self._doc.part.rels.add_relationship(RELATIONSHIP_TYPE.HYPERLINK, url, rel_id,
                                                 is_external=True)
            self._links[url] = rel_id
        return (f'<w:hyperlink r:id="{self._links[url]}">'
                f"{run(text, char_style=HYPERLINK_STYLE, preserve=True)}</w:hyperlink>")


def run(text: str, *, bold: bool = False, char_style: str | None = None,
        preserve: bool = False) -> str:
    """The markup of one run, as `Paragraph.add_run` writes it: a tab becomes `w:tab`, a line
    break `w:br`, leading or trailing spaces are preserved ('' for no text and no format)."""
    if not text and not bold and not char_style:
        return ""
    props = ""
    if bold or char_style:
        props = "<w:rPr>" + (f'<w:rStyle w:val="{char_style}"/>' if char_style else "") + \
            ("<w:b/>" if bold else "") + "</w:rPr>"
    content = []
    for piece in _RUN_BREAKS.split(text):
        if piece == "\t":
            content.append("<w:tab/>")
        elif piece in ("\n", "\r"):
            content.append("<w:br/>")
        elif piece:
            keep = preserve or len(piece.strip()) < len(piece)
            content.append(f"<w:t{_PRESERVE if keep else ''}>{escape(piece)}</w:t>")
    return f"<w:r>{props}{''.join(content)}</w:r>"


def xml(text: str) -> str:
    """Text without the control characters XML cannot hold (python-docx raises on them)."""
    return _NOT_XML.sub("", text)


def _hyperlink_style(doc: DocumentType) -> None:
    """The character style links use; python-docx's default template lacks it."""
    if HYPERLINK_STYLE in [s.name for s in doc.styles]:
        return
    style = doc.styles.add_style(HYPERLINK_STYLE, WD_STYLE_TYPE.CHARACTER)
    style.font.color.rgb = LINK_COLOR
    style.font.underline = True

"""The draft as a Word document, with the same layout as the Markdown draft.

Real Word styles, so the navigation pane and pasting into the newsletter editor keep the
structure: Title, Heading 1 for numbered sections (and the "Unreviewed candidates" part),
Heading 2 for stories (Heading 2/3 inside the unreviewed part), Quote for excerpts. Links are
real hyperlinks: python-docx can read them but has no call that adds one, so `add_hyperlink`
writes the `w:hyperlink` element and its external relationship (the usual OXML recipe).
"""

from __future__ import annotations

import re
from io import BytesIO

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import RGBColor
from docx.text.paragraph import Paragraph

from monitor.export.draft import Draft, Entry, Section
from monitor.export.markdown import UNREVIEWED, UNREVIEWED_NOTE

HYPERLINK_STYLE = "Hyperlink"
LINK_COLOR = RGBColor(0x05, 0x63, 0xC1)  # Word's own hyperlink blue
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # python-docx refuses these


def render_docx(draft: Draft) -> bytes:
    """The whole draft as .docx bytes."""
    doc = Document()
    doc.core_properties.title = xml(draft.title)
    _hyperlink_style(doc)
    doc.add_heading(xml(draft.title), level=0)
    doc.add_paragraph(draft.summary)
    for section in draft.kept:
        doc.add_paragraph(section.label)
    for section in draft.kept:
        add_section(doc, section, level=1)
    if draft.unreviewed:
        doc.add_heading(UNREVIEWED, level=1)
        doc.add_paragraph(UNREVIEWED_NOTE)
        for section in draft.unreviewed:
            add_section(doc, section, level=2)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def add_section(doc: DocumentType, section: Section, level: int) -> None:
    doc.add_heading(xml(section.label), level=level)
    for entry in section.entries:
        add_entry(doc, entry, level + 1)


def add_entry(doc: DocumentType, entry: Entry, level: int) -> None:
    """Heading, link, 'Also in', excerpt paragraphs (Quote style), comment paragraphs."""
    doc.add_heading(xml(entry.heading), level=level)
    add_hyperlink(doc.add_paragraph(), entry.item.url, xml(entry.item.url))
    if entry.also:
        doc.add_paragraph(xml(f"Also in: {', '.join(entry.also)}"))
    for paragraph in entry.excerpt.split("\n") if entry.excerpt else []:
        doc.add_paragraph(xml(paragraph), style="Quote")
    if entry.comment:
        first, *rest = [xml(" ".join(p.split())) for p in entry.comment.split("\n\n") if p.strip()]
        doc.add_paragraph().add_run("Comment: ").bold = True
        doc.paragraphs[-1].add_run(first)
        for paragraph in rest:
            doc.add_paragraph(paragraph)


def add_hyperlink(paragraph: Paragraph, url: str, text: str) -> None:
    """Append a clickable external link to the paragraph (a `w:hyperlink` run)."""
    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), HYPERLINK_STYLE)
    props.append(style)
    run.append(props)
    body = OxmlElement("w:t")
    body.text = text
    body.set(qn("xml:space"), "preserve")
    run.append(body)
    link.append(run)
    paragraph._p.append(link)


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

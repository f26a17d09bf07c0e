#!/usr/bin/env python3
"""Converts one section of a Debian Reference HTML chapter into a Word (.docx) document.

This made the DOCX files of demo/documents/ (see demo/LICENSES.md); nothing runs it at build, test or
demo time. It needs python-docx (`pip install python-docx`, tested with 1.2.0):

    scripts/make-demo-docx.py ch10.en.html _data_security_infrastructure en \
        demo/documents/debian-reference-10.3-data-security.en.docx

The section (the `div.section` whose heading holds the anchor `SECTION_ID`) becomes a
Heading 1, its subsections Heading 2, each subsection on a new page (an explicit page break,
so citations name the page of the subsection). Paragraphs, tables (with their captions),
admonitions (Note, Tip, ...), command listings (one paragraph per line, monospace) and lists
are kept; footnotes follow the paragraph that cites them; links become their text. The zip
entries get a fixed date, so the same input gives the same bytes.
"""

import datetime
import io
import sys
import zipfile

import docx
import lxml.html
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.shared import Pt

# The date of Debian Reference 2.100, from which the chapters were taken.
DOCUMENT_DATE = datetime.datetime(2023, 2, 4, 11, 59, 1, tzinfo=datetime.timezone.utc)
ADMONITIONS = {"note", "tip", "caution", "warning", "important"}


def classes(element):
    return set((element.get("class") or "").split())


def raw_text(element):
    """The text of an inline element as written, footnote markers dropped."""
    parts = [element.text or ""]
    for child in element:
        if "footnote" not in classes(child):
            parts.append(raw_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def text_of(element):
    """The text of an inline element, whitespace collapsed."""
    return " ".join(raw_text(element).split())


def collapse(text):
    """Runs of whitespace as one space, a space kept at either end where there was one."""
    inner = " ".join(text.split())
    if not inner:
        return " " if text else ""
    start = " " if text[0].isspace() else ""
    end = " " if text[-1].isspace() else ""
    return start + inner + end


class Converter:
    def __init__(self, page, language):
        self.page = page  # the whole chapter, for footnotes
        self.language = language
        self.document = docx.Document()
        self.code_style = self.document.styles.add_style("Source Code", WD_STYLE_TYPE.PARAGRAPH)
        self.code_style.base_style = self.document.styles["Normal"]
        self.code_style.font.name = "Courier New"
        self.code_style.font.size = Pt(9)
        self.code_style.paragraph_format.space_after = Pt(0)
        if language.startswith("zh"):
            fonts = self.document.styles["Normal"].element.get_or_add_rPr().get_or_add_rFonts()
            fonts.set(qn("w:eastAsia"), "SimSun")

    def runs(self, paragraph, element, bold=False, code=False):
        """Adds the inline content of `element` to `paragraph` as runs."""

        def add(text):
            text = collapse(text)
            if not text:
                return
            run = paragraph.add_run(text)
            run.bold = bold or None
            if code:
                run.font.name = "Courier New"

        if element.text:
            add(element.text)
        for child in element:
            if "footnote" in classes(child):
                self.footnotes.append(child.get("href", "").lstrip("#"))
            elif child.tag == "code":
                self.runs(paragraph, child, bold, True)
            elif child.tag in ("strong", "b"):
                self.runs(paragraph, child, True, code)
            elif child.tag == "br":
                paragraph.add_run().add_break()
            else:
                self.runs(paragraph, child, bold, code)
            if child.tail:
                add(child.tail)

    def paragraph(self, element, style=None):
        self.footnotes = []
        paragraph = self.document.add_paragraph(style=style)
        self.runs(paragraph, element)
        # Leading and trailing spaces of the HTML source are not text.
        if paragraph.runs:
            paragraph.runs[0].text = paragraph.runs[0].text.lstrip()
            paragraph.runs[-1].text = paragraph.runs[-1].text.rstrip()
        for footnote in self.footnotes:
            note = self.page.get_element_by_id(footnote)
            for body in note.iter("p"):
                self.document.add_paragraph(text_of(body))

    def heading(self, element):
        level = {"h2": 1, "h3": 2, "h4": 3}[element.tag]
        if level > 1 and self.document.paragraphs:
            self.document.add_page_break()
        self.document.add_heading(text_of(element), level)

    def table(self, element):
        caption = element.find_class("title")
        if caption:
            self.document.add_paragraph(text_of(caption[0]), style="Caption")
        rows = [row for row in element.iter("tr")]
        width = max(len(row.findall("th") + row.findall("td")) for row in rows)
        table = self.document.add_table(rows=0, cols=width)
        table.style = "Table Grid"
        for row in rows:
            cells = table.add_row().cells
            for index, cell in enumerate(row.findall("th") + row.findall("td")):
                cells[index].paragraphs[0].add_run(text_of(cell)).bold = cell.tag == "th" or None

    def admonition(self, element):
        label = element.find(".//th")
        self.document.add_paragraph().add_run(text_of(label)).bold = True
        for body in element.iter("p"):
            self.paragraph(body)

    def listing(self, element):
        for line in element.text_content().rstrip("\n").split("\n"):
            self.document.add_paragraph(line.rstrip(), style=self.code_style)

    def items(self, element, style):
        for item in element.findall("li"):
            paragraphs = item.findall("p") or [item]
            for body in paragraphs:
                self.paragraph(body, style)

    def block(self, element):
        """Converts a block element and everything in it."""
        if not isinstance(element.tag, str):  # a comment
            return
        kinds = classes(element)
        if element.tag in ("h2", "h3", "h4"):
            self.heading(element)
        elif element.tag == "p":
            self.paragraph(element)
        elif element.tag == "pre":
            self.listing(element)
        elif element.tag == "ul":
            self.items(element, "List Bullet")
        elif element.tag == "ol":
            self.items(element, "List Number")
        elif element.tag == "div" and "table" in kinds:
            self.table(element)
        elif element.tag == "div" and kinds & ADMONITIONS:
            self.admonition(element)
        elif element.tag in ("div", "a", "br"):
            for child in element:
                self.block(child)
        else:
            raise SystemExit(f"no conversion for <{element.tag} class={element.get('class')}>")


def convert(html_path, section_id, language, output_path):
    page = lxml.html.parse(html_path).getroot()
    anchor = page.get_element_by_id(section_id)
    section = next(element for element in anchor.iterancestors() if "section" in classes(element))
    converter = Converter(page, language)
    for child in section:
        converter.block(child)
    title = text_of(section.find(".//h2"))
    book = "Debian 参考手册" if language.startswith("zh") else "Debian Reference"
    properties = converter.document.core_properties
    properties.title = f"{book} {title}"
    properties.author = "Osamu Aoki"
    properties.last_modified_by = "Osamu Aoki"
    properties.language = language
    properties.subject = book
    properties.comments = (
        f"Section {title} of Debian Reference 2.100 ({html_path.split('/')[-1]}), GPL-2+, "
        "converted to Word by scripts/make-demo-docx.py"
    )
    properties.created = DOCUMENT_DATE.replace(tzinfo=None)
    properties.modified = DOCUMENT_DATE.replace(tzinfo=None)
    properties.revision = 1
    buffer = io.BytesIO()
    converter.document.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(output_path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, DOCUMENT_DATE.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry.filename))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    convert(*sys.argv[1:])

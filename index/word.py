"""The text of a Word document (.docx), read as HTML is read: each paragraph, heading, list item and
table cell is a paragraph of the text, and the text inside it (runs, links, fields' results) stays
in its sentence.

python-docx opens the package and gives the styles, the core properties and the body's XML; the
body is walked here rather than through `Document.paragraphs`, which leaves out what sits inside
content controls and tracked insertions. Text boxes, headers, footers, footnotes and comments are
not read.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # a few MB of .docx that unpacks past this is a zip bomb, not prose

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARAGRAPH, _TABLE, _ROW, _CELL = _W + "p", _W + "tbl", _W + "tr", _W + "tc"
# Elements whose content belongs where they stand: content controls, tracked insertions, custom XML
# (around paragraphs and tables), and around text also runs, links, fields and smart tags.
_BLOCK_WRAPPERS = frozenset(_W + name for name in "sdt sdtContent ins moveTo customXml".split())
_TEXT_WRAPPERS = _BLOCK_WRAPPERS | {_W + name for name in "r hyperlink fldSimple smartTag dir bdo".split()}
# Runs' parts that say nothing (properties, deleted text) or hold text of their own place (text
# boxes, drawings, embedded objects, footnote references).
_SKIPPED = frozenset(_W + name for name in
                     "rPr pPr sdtPr sdtEndPr del moveFrom drawing pict object footnoteReference "
                     "endnoteReference commentReference instrText delText".split())
_BREAKS = frozenset(_W + name for name in ("br", "cr"))
_CHARACTERS = {_W + "tab": "\t", _W + "noBreakHyphen": "-", _W + "softHyphen": ""}


def docx_text(raw: bytes) -> tuple[str, str, str | None]:
    """The document's text, its title (the core properties', else its first heading's) and its
    date (`YYYY-MM-DD`, from when it was created, else last saved); ValueError when it cannot be read."""
    import docx
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    try:
        _check_size(raw)
        document = docx.Document(io.BytesIO(raw))
        styles = _style_names(document)
        blocks = list(_blocks(document.element.body, styles))
        properties = _core_properties(document)
        title = (properties.title or "").strip() if properties else ""
        when = (properties.created or properties.modified) if properties else None
    except (OpcError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, LxmlError, KeyError, ValueError,
            TypeError, AttributeError) as exc:
        raise ValueError(f"cannot read Word document: {_damage(exc)}") from None
    lines = [(re.sub(r"[ \t\r\f\v]+", " ", text).strip(), heading) for text, heading in blocks]  # as in HTML
    lines = [(text, heading) for text, heading in lines if text]
    if not title:
        title = next((text for text, heading in lines if heading), "")
    return "\n\n".join(text for text, _ in lines), title, when.date().isoformat() if when else None


def _check_size(raw: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(raw)) as package:  # not a zip: BadZipFile, which `_damage` words
        unpacked = sum(item.file_size for item in package.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValueError(f"it unpacks to {unpacked / 2**20:,.0f} MB; the limit is {MAX_UNPACKED_BYTES // 2**20} MB")


def _core_properties(document):
    """The package's own title and dates, or None when it has none: python-docx would make up
    some (the title "Word Document", saved just now)."""
    from docx.opc.constants import RELATIONSHIP_TYPE

    try:
        return document.part.package.part_related_by(RELATIONSHIP_TYPE.CORE_PROPERTIES).core_properties
    except KeyError:
        return None


def _damage(exc: Exception) -> str:
    """What is wrong with a package the library could not read, in one line. A damaged package
    fails in any of these ways, deep in the library, whose own words name its internals."""
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, (OpcError, zipfile.BadZipFile)):
        return "not a .docx package (a .doc, or an encrypted document? save it as .docx)"
    if isinstance(exc, (zlib.error, EOFError)):
        return "a part of the package is damaged (its compressed data does not unpack)"
    if isinstance(exc, NotImplementedError):
        return "a part of the package is compressed in a way that cannot be unpacked"
    if isinstance(exc, KeyError) or "no relationship of type" in detail:
        return "a part of the package is missing"
    if isinstance(exc, LxmlError):
        return f"its XML is damaged ({re.sub(r' [(]<string>, line [0-9]+[)]$', '', detail)[:120]})"
    if "is not a Word file" in detail:
        return "another kind of Office file, not a Word document"
    return detail[:200]


def _style_names(document) -> dict[str, str]:
    """Paragraph style ids to their names in lower case (`Heading1` -> `heading 1`)."""
    names = {}
    for style in document.styles.element.iterchildren(_W + "style"):
        name = style.find(_W + "name")
        if style.get(_W + "styleId") and name is not None:
            names[style.get(_W + "styleId")] = (name.get(_W + "val") or "").lower()
    return names


def _blocks(container, styles: dict[str, str]):
    """(text, is a heading) for each paragraph in document order, a table's cells one by one."""
    for child in container.iterchildren():
        if child.tag == _PARAGRAPH:
            yield from _paragraph(child, styles)
        elif child.tag == _TABLE:
            for row in child.iterchildren(_ROW):
                for cell in row.iterchildren(_CELL):
                    yield from _blocks(cell, styles)
        elif child.tag in _BLOCK_WRAPPERS:
            yield from _blocks(child, styles)


def _paragraph(p, styles: dict[str, str]):
    """The paragraph's text; a line break in it ends a paragraph of the text, as <br> does in HTML."""
    style_id = p.find(f"{_W}pPr/{_W}pStyle")
    style = styles.get(style_id.get(_W + "val"), "") if style_id is not None else ""
    heading = style == "title" or style.startswith("heading")
    parts: list[str] = []
    stack = list(reversed(p))
    while stack:  # depth first, without recursion
        node = stack.pop()
        if not isinstance(node.tag, str) or node.tag in _SKIPPED:
            continue
        if node.tag == _W + "t":
            parts.append(node.text or "")
        elif node.tag in _BREAKS:
            parts.append("\n")
        elif node.tag in _CHARACTERS:
            parts.append(_CHARACTERS[node.tag])
        elif node.tag in _TEXT_WRAPPERS:  # anything else (a text box, an embedded object) is not read
            stack.extend(reversed(node))
    for line in "".join(parts).split("\n"):
        yield line, heading

"""Find documents under the paths given and extract their text.

Plain text and Markdown are kept byte-for-byte as decoded UTF-8 so that offsets can be checked
against the file itself; HTML, Word (.docx, `index.word`) and PDF are reduced to their text; a JSONL
corpus gives one document per line (BEIR style: `_id`, `title`, `text`). A folder's files of other
kinds are reported as skipped, never passed over in silence.
"""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from index.documents import Document, LoadError
from index.word import docx_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".docx", ".pdf", ".jsonl"}
SIDECAR = "metadata.json"  # {doc_id: {"title": ..., "date": ...}} beside the documents
MAX_ID_CHARS = 200  # of a JSONL record's id; a file's id is its path, which the file system bounds


def load_paths(paths: list[Path]) -> Iterator[Document | LoadError]:
    """Every document found under `paths`, or a LoadError for what could not be read."""
    for path in paths:
        if not path.exists():
            yield LoadError(str(path), "no such file or directory")
        elif path.is_dir():
            yield from _load_folder(path)
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            yield LoadError(str(path), unsupported(path.name))
        else:
            yield from load_file(path, root=path, doc_id=path.name, sidecar={})


def _load_folder(root: Path) -> Iterator[Document | LoadError]:
    sidecar, problem = _read_sidecar(root / SIDECAR)
    if problem:
        yield problem
    # Links are followed; a dangling one is reported rather than silently passed over.
    files = sorted(p for p in root.rglob("*") if (p.is_file() or p.is_symlink()) and p.name != SIDECAR)
    for path in files:
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield from load_file(path, root=root, doc_id=relative.as_posix(), sidecar=sidecar)
        else:
            yield LoadError(str(path), unsupported(path.name))


def unsupported(name: str) -> str:
    """Why a file of this name is not read: its kind, and the kinds that are."""
    suffix = Path(name).suffix
    return f"unsupported file type {suffix or '(none)'!r}; expected one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"


def _read_sidecar(path: Path) -> tuple[dict, LoadError | None]:
    if not path.is_file():
        return {}, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("expected an object keyed by document id")
        return data, None
    except (OSError, ValueError) as exc:
        return {}, LoadError(str(path), f"metadata ignored: {exc}")


def load_file(path: Path, root: Path, doc_id: str, sidecar: dict) -> Iterator[Document | LoadError]:
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield LoadError(str(path), f"cannot read file: {exc.strerror or exc}")
        return
    if suffix == ".jsonl":
        yield from _jsonl_documents(path, root, raw)
        return
    try:
        pages: tuple[int, ...] = ()
        date = None
        if suffix == ".pdf":
            (text, pages), title = _pdf_text(raw), ""
        elif suffix == ".docx":
            text, title, date = docx_text(raw)
        else:
            text = _decode(raw, path.name)
            title = _html_title(text) if suffix in HTML_SUFFIXES else ""
            if suffix in HTML_SUFFIXES:
                text = _html_text(text)
    except ValueError as exc:
        yield LoadError(str(path), str(exc))
        return
    if not text.strip():
        yield LoadError(str(path), "empty file: no text to index")
        return
    meta = sidecar.get(doc_id) or {}
    yield Document(
        doc_id=doc_id,
        text=text,
        title=str(meta.get("title") or title or _first_line(text)),
        date=_date(meta.get("date")) or date,
        source=str(path),
        root=str(root),
        pages=pages,
    )


def _decode(raw: bytes, name: str) -> str:
    """The text of a file named `name`; ValueError, saying how to convert it, when it is not UTF-8."""
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (contains NUL bytes); expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The name only, never the folder: an upload's error is read by whoever uploaded it.
        file, converted = shlex.quote(name), shlex.quote(name + ".utf8")
        raise ValueError(f"not UTF-8: invalid byte 0x{raw[exc.start]:02x} at offset {exc.start}; if it is "
                         f"Latin-1, convert it: iconv -f latin1 -t utf-8 {file} > {converted} "
                         f"&& mv {converted} {file}") from None


def _date(value) -> str | None:
    """Dates are text (`2016-12-28`); a number or a list in the metadata is kept as its text."""
    return None if value in (None, "") else str(value)


def _first_line(text: str, limit: int = 120) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = re.sub(r"^#+\s*", "", line)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _html_title(html: str) -> str:
    from bs4 import BeautifulSoup

    title = BeautifulSoup(html, "html.parser").title
    return title.get_text(" ", strip=True) if title else ""


# Elements that start a line of their own; every other element (a link, bold, a subscript) is
# part of the sentence around it.
_HTML_BLOCKS = frozenset(
    "address article aside blockquote caption center dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend li main menu nav ol option p pre "
    "section summary table tbody td tfoot th thead title tr ul".split()
)


def _html_text(html: str) -> str:
    """The page's text: a paragraph for each block element, inline elements kept in their sentence."""
    from bs4 import BeautifulSoup, NavigableString, Tag

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    parts: list[str] = []
    stack: list[tuple[object, bool]] = [(child, False) for child in reversed(soup.contents)]
    while stack:  # depth first, without recursion: pages can nest deeply
        node, in_pre = stack.pop()
        if node is None:  # the end of a block
            parts.append("\n")
        elif isinstance(node, Tag):
            if node.name == "br":
                parts.append("\n")
                continue
            if node.name in _HTML_BLOCKS:
                parts.append("\n")
                stack.append((None, in_pre))
            inner = in_pre or node.name == "pre"
            stack.extend((child, inner) for child in reversed(node.contents))
        elif type(node) is NavigableString:  # not a comment, a doctype or a processing instruction
            parts.append(str(node) if in_pre else re.sub(r"\s+", " ", node))  # the source's line breaks are spaces
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parts).splitlines())
    return "\n\n".join(line for line in lines if line)


def _pdf_text(raw: bytes) -> tuple[str, tuple[int, ...]]:
    """The pages' text joined by blank lines, and where each page starts in it."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read PDF: {exc}") from None
    text, starts = "", []
    for page in pages:
        page = page.strip()
        gap = "\n\n" if text else ""
        starts.append(len(text) + len(gap))  # a blank page starts where the next page with text does
        if page:
            text += gap + page
    return text, tuple(starts)


def _id_problem(doc_id: str) -> str | None:
    """Why a record's id cannot be a document id, or None. Ids travel in citation ids, URLs, log
    lines and the CLI's output, and read like paths: none may break a line or climb out of a folder."""
    shown = repr(doc_id[:60] + ("…" if len(doc_id) > 60 else ""))
    if len(doc_id) > MAX_ID_CHARS:
        return f"the id {shown} is {len(doc_id):,} characters long; the limit is {MAX_ID_CHARS}"
    if any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp") for ch in doc_id):
        return f"the id {shown} holds a control character (a line break, a tab, ...)"
    if doc_id.startswith("/"):
        return f"the id {shown} starts with '/'"
    if ".." in doc_id.split("/"):
        return f"the id {shown} has a '..' part"
    return None


def _jsonl_documents(path: Path, root: Path, raw: bytes) -> Iterator[Document | LoadError]:
    try:
        content = _decode(raw, path.name)
    except ValueError as exc:
        yield LoadError(str(path), str(exc))
        return
    seen: set[str] = set()
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(str(path), f"not valid JSON ({exc.msg})", number)
            continue
        if not isinstance(record, dict):
            yield LoadError(str(path), "expected a JSON object", number)
            continue
        doc_id = record.get("_id", record.get("id"))
        text = record.get("text")
        if doc_id in (None, "") or not isinstance(text, str):
            yield LoadError(str(path), 'needs an "_id" (or "id") and a string "text"', number)
            continue
        doc_id = str(doc_id)
        problem = _id_problem(doc_id)
        if problem:
            yield LoadError(str(path), problem, number)
            continue
        if doc_id in seen:
            yield LoadError(str(path), f"duplicate id {doc_id!r}; the first one is kept", number)
            continue
        seen.add(doc_id)
        if not text.strip():
            yield LoadError(str(path), f"record {doc_id!r} has empty text", number)
            continue
        title = record.get("title")
        yield Document(
            doc_id=doc_id,
            text=text,
            title=str(title) if title else _first_line(text),
            date=_date(record.get("date")),
            source=str(path),
            root=str(root),
        )

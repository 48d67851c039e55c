"""Files that visitors add: checked against the limits, kept beside the index, indexed in a
namespace of their own.

An upload's documents get ids under `uploads/` (`uploads/notes.md`, a JSONL record
`uploads/papers.jsonl/<id>`), and the ingest refuses to touch a document that another source
created, so an upload can never replace, shadow or delete a corpus document. Uploading a file of
the same name again replaces that upload only. A file is indexed whole or not at all: a bad line
in a JSONL file, an empty file or a document over the chunk limit leave the index as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.ingest import IngestBusyError, IngestReport
from index.loaders import SUPPORTED_SUFFIXES, unsupported

from qa.config import Config
from qa.errors import INDEX_BUSY, BadInputError, IndexStoreError, QAError, ReadOnlyError, StoppingError

log = logging.getLogger(__name__)

NAMESPACE = "uploads/"
FOLDER = "uploads"  # under the index dir: every indexed upload keeps a source file to check against
MAX_NAME_CHARS = 200

Progress = Callable[[str, int, int], None]  # (file name, chunks embedded, chunks to embed)


@dataclass(frozen=True)
class Upload:
    """A file that arrived through an upload route: the name its sender gave it, and where the
    server stored it. Never a path that a client named."""

    name: str
    path: Path


@dataclass(frozen=True)
class UploadOutcome:
    name: str
    ok: bool
    detail: str  # "1 added", or why nothing was indexed; never a server path


def check_uploads(files: Sequence[Upload], config: Config) -> None:
    """Refuse the whole request, before anything is indexed, when it breaks a limit."""
    if config.read_only:
        raise ReadOnlyError("this server is read-only: adding files is turned off")
    if not files:
        raise BadInputError("choose one or more files first")
    if len(files) > config.max_upload_files:
        raise BadInputError(f"{len(files)} files at once; the limit is {config.max_upload_files} a request")
    seen: set[str] = set()
    for upload in files:
        check_name(upload.name)
        if upload.name in seen:  # each upload is kept under its name: the second would replace the first
            raise BadInputError(f"two files are named {upload.name}; rename one of them")
        seen.add(upload.name)
        try:
            size = upload.path.stat().st_size
        except FileNotFoundError:  # the front ends check their uploads first: a script named a missing file
            raise BadInputError(f"no such file: {upload.name}") from None
        except OSError as exc:
            raise BadInputError(f"cannot read {upload.name}: {exc.strerror or exc.__class__.__name__}") from None
        if size > config.max_upload_bytes:
            raise BadInputError(f"{upload.name} is {_size(size)}; the limit is {_size(config.max_upload_bytes)} a file")


def check_name(name: str) -> str:
    """A plain file name: no folders, no hidden files, no control characters. (A file of a kind that
    is not read is not refused here: it gets its own outcome, and the others are indexed.)"""
    if (not name or name != name.strip() or name.startswith(".") or len(name) > MAX_NAME_CHARS
            or any(ch in name for ch in "/\\") or any(unicodedata.category(ch)[0] == "C" for ch in name)):
        raise BadInputError(f"{name[:80]!r} is not a usable file name; rename the file")
    return name


def add_upload(upload: Upload, folder: Path, ingest: Callable[[Path], IngestReport]) -> UploadOutcome:
    """Store one checked upload as `folder/<name>` and index it; on failure put back what was there."""
    if Path(upload.name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return UploadOutcome(upload.name, False, f"nothing indexed: {unsupported(upload.name)}")
    target = folder / upload.name
    previous = folder / f".{upload.name}.previous"  # hidden: a folder scan never reads it
    had_previous = False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.replace(target, previous)
            had_previous = True
        shutil.copyfile(upload.path, target)
    except OSError:
        log.exception("storing the upload %r failed", upload.name)
        _put_back(target, previous, had_previous)
        return UploadOutcome(upload.name, False, "the server could not store the file")
    try:
        report = ingest(target)
    except (QAError, IndexStoreError) as exc:
        _put_back(target, previous, had_previous)
        return UploadOutcome(upload.name, False, _index_problem(exc))
    if report.errors:
        _put_back(target, previous, had_previous)
        reasons = "; ".join((f"line {e.line}: " if e.line is not None else "") + e.message for e in report.errors[:5])
        more = f" (and {len(report.errors) - 5} more)" if len(report.errors) > 5 else ""
        return UploadOutcome(upload.name, False, f"nothing indexed: {reasons}{more}")
    previous.unlink(missing_ok=True)
    counts = [f"{n} {word}" for n, word in ((report.added, "added"), (report.updated, "updated"),
                                            (report.removed, "removed"), (report.unchanged, "unchanged")) if n]
    return UploadOutcome(upload.name, True, ", ".join(counts) or "nothing to index")


def _put_back(target: Path, previous: Path, had_previous: bool) -> None:
    try:
        if had_previous:
            os.replace(previous, target)
        else:
            target.unlink(missing_ok=True)
    except OSError:
        log.exception("restoring %s failed", target.name)


def _index_problem(exc: Exception) -> str:
    """What a visitor may read about an index error: no paths, no internals (those go to the log)."""
    if isinstance(exc, IngestBusyError):
        return INDEX_BUSY
    if isinstance(exc, (BadInputError, StoppingError)):
        return str(exc)
    log.error("indexing an upload failed: %s", exc)
    return "the index could not be updated; the server log says why"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    return f"{max(1, round(n / 1024))} KB"

"""Restrict a question or a search to some documents: by id, by title, by date.

    Filters.parse({"doc_ids": ["a.txt"], "title": "Grozny", "since": "2016-01-01", "until": "2016-12-31"})

Every field is optional and they combine with AND: a document must be one of `doc_ids` (when
given), have `title` in its title (case-insensitive), and be dated within `since`..`until`
(inclusive, `YYYY-MM-DD`). A date bound leaves out documents that carry no date. Retrieval applies
the filters inside both searches (`HybridRetriever`), so `top_k` still counts passages that pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from qa.errors import BadInputError

MAX_DOC_IDS = 1000


@dataclass(frozen=True)
class Filters:
    doc_ids: tuple[str, ...] = ()
    title: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, data: Mapping | Filters | None, names: Mapping[str, str] | None = None) -> Filters | None:
        """Filters from a JSON object (None or {} for none); a bad field is a BadInputError.

        Its message calls a field `filters.<field>`, or what `names` calls it (the CLI's options:
        `{"since": "--since", ...}`), so that it names what the user wrote.
        """
        def name(field: str) -> str:
            return (names or {}).get(field) or f"filters.{field}"

        if data is None or isinstance(data, Filters):
            return data or None
        if not isinstance(data, Mapping):
            raise BadInputError('filters must be an object such as {"doc_ids": [...], "title": "...", '
                                '"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}')
        unknown = set(data) - {"doc_ids", "title", "since", "until"}
        if unknown:
            raise BadInputError(f"unknown filter {sorted(unknown)[0]!r}; filters are doc_ids, title, since and until")
        doc_ids = data.get("doc_ids") or []
        if not isinstance(doc_ids, list) or not all(isinstance(d, str) and d for d in doc_ids):
            raise BadInputError(f"{name('doc_ids')} must be a list of document ids")
        if len(doc_ids) > MAX_DOC_IDS:
            raise BadInputError(f"{name('doc_ids')} may name at most {MAX_DOC_IDS} documents")
        title = data.get("title") or ""
        if not isinstance(title, str) or len(title) > 500:
            raise BadInputError(f"{name('title')} must be text of at most 500 characters")
        since, until = _day(data.get("since"), name("since")), _day(data.get("until"), name("until"))
        if since and until and since > until:
            raise BadInputError(f"{name('since')} is after {name('until')}")
        filters = cls(tuple(dict.fromkeys(doc_ids)), title.strip(), since, until)
        return filters if filters != cls() else None

    def allows(self, doc_id: str, title: str, dated: str | None) -> bool:
        if self.doc_ids and doc_id not in self.doc_ids:
            return False
        if self.title and self.title.casefold() not in (title or "").casefold():
            return False
        if self.since or self.until:
            day = _stored_day(dated)
            if day is None or (self.since and day < self.since) or (self.until and day > self.until):
                return False
        return True

    def to_dict(self) -> dict:
        return {"doc_ids": list(self.doc_ids), "title": self.title,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


def _day(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad(name)
    except ValueError:
        return _bad(name)


def _bad(name: str):
    raise BadInputError(f"{name} must be a date written YYYY-MM-DD")


def _stored_day(value: str | None) -> date | None:
    """A document's date as stored (`2016-12-28`, or a longer ISO time); None if it is not one."""
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None

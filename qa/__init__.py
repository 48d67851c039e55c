"""The read side: search, answer with verified citations, resolve citations, evaluate.

    >>> import qa
    >>> answer = qa.ask("How many gunmen were killed in Grozny?")
    >>> answer.answer, answer.citations[0].id
    >>> for piece in qa.ask("Who leads Chechnya?", stream=True):  # the text as it is written
    ...     print(piece, end="")

The module-level functions use one Assistant built from the QA_* environment on first use.
"""

from __future__ import annotations

from index.documents import Span
from index.errors import CorpusError

from qa.config import Config
from qa.errors import BadInputError, NotFoundError, QAError
from qa.response import Response
from qa.results import Answer, Citation, Passage
from qa.service import Assistant

_default: Assistant | None = None


def default_assistant() -> Assistant:
    global _default
    if _default is None:
        _default = Assistant(Config.from_env())
    return _default


def ask(question: str, history: list[str] | None = None, **options) -> Response:
    return default_assistant().ask(question, history, **options)


def search(query: str, top_k: int | None = None) -> list[Passage]:
    return default_assistant().search(query, top_k)


def cite(citation_id: str):
    return default_assistant().cite(citation_id)


__all__ = [
    "Answer", "Assistant", "BadInputError", "Citation", "Config", "CorpusError", "NotFoundError", "Passage", "Span",
    "QAError", "Response", "ask", "cite", "default_assistant", "search",
]

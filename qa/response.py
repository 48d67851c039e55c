"""An answer that streams when iterated and gives the whole answer when read.

    response = assistant.ask(question, stream=True)
    for piece in response:          # a front end: the text as it is written
        show(piece)
    response.citations              # anything of the Answer: waits until it is done

    assistant.ask(question).answer  # a script: the finished answer at once

The pieces are the answer as it is written: an LLM's draft a few characters at a time, an
extractive answer whole. The finished text (`text()`) is the draft checked and cited, so in LLM
mode its markers may differ from the pieces'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

from qa.results import Answer

_ANSWER_FIELDS = frozenset(f.name for f in fields(Answer)) | {"to_dict"}


class Response:
    """One answer being written. `mode` is known at once; the rest of `Answer`'s attributes are
    read through, after the answer is finished."""

    def __init__(self, mode: str, steps: Iterator[str | Answer]):
        """`steps` yields the text pieces as they are written, then the finished Answer."""
        self.mode = mode
        self._steps = steps
        self._pieces: list[str] = []
        self._answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        yield from list(self._pieces)  # what an earlier reader already drew
        if self._answer is not None:
            return
        for step in self._steps:
            if isinstance(step, Answer):
                self._answer = step
                return
            self._pieces.append(step)
            yield step
        if self._answer is None:  # a generator that ended without its answer is a bug in the producer
            raise RuntimeError("the answer ended before it was finished")

    def result(self) -> Answer:
        """The finished answer, waiting for it if it is still being written."""
        for _ in self:
            pass
        assert self._answer is not None
        return self._answer

    def text(self) -> str:
        """The finished answer's text, with its citation markers."""
        return self.result().answer

    @property
    def done(self) -> bool:
        return self._answer is not None

    def __getattr__(self, name: str):
        if name in _ANSWER_FIELDS:
            return getattr(self.result(), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        state = "done" if self.done else "being written"
        return f"<Response {self.mode} ({state})>"

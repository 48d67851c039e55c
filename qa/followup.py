"""Turn a follow-up question into one that can be searched on its own."""

from __future__ import annotations

import re

from qa.text import content_terms

# Words that lean on an earlier turn: "and how many of them were killed?"
_LEANING = re.compile(
    r"^(?:and|but|so|also|what about|how about)\b|\b(?:they|them|their|theirs|he|him|his|she|her|"
    r"it|its|this|that|these|those|there|then|the same|the other|such)\b",
    re.IGNORECASE,
)


def needs_context(question: str) -> bool:
    return bool(_LEANING.search(question)) or len(content_terms(question)) <= 1


def condense(question: str, history: list[str]) -> str:
    """Without an LLM: a leaning question is searched together with the turns before it.

    The earlier questions supply the subject ("the gunmen in Grozny") that pronouns point to;
    the question itself stays last so its own words still decide what kind of answer is wanted.
    """
    if not history or not needs_context(question):
        return question
    earlier = [turn for turn in history[-2:] if turn.strip()]
    return " ".join([*earlier, question])

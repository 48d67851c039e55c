"""Messages that are not questions about the documents, caught before anything is searched.

A greeting, thanks, a question about the assistant itself ("what can you do?"), keyboard mashing
or a lone "?" gets a short reply and no quote: searching for "hello" finds *some* sentence, and
quoting it as an answer is nonsense. A question none of whose words the corpus holds cannot be
answered from it, so it is declined without a search. Both are answers with `abstained` set, in
every front end.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from qa.text import STOPWORDS, content_terms, words

REPLY = "Ask me something about the documents."

_COURTESY = (
    r"hi|hello|hallo|hey|heya|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day|night)|"
    r"thanks?(?: you)?(?: (?:so|very) much| a lot| again)?|thank you|thx|ty|cheers|much appreciated|"
    r"bye|goodbye|good ?bye|see you|see ya|later|ok|okay|k|cool|great|nice|awesome|perfect|got it|"
    r"lol|haha+|hm+|uh+|um+|yes|yeah|yep|no|nope|sure|test|testing|ping|how are you|what'?s up|sup"
)
_COURTESY_ONLY = re.compile(
    rf"^(?:(?:{_COURTESY})(?: (?:there|all|everyone|again|bot|assistant|friend|buddy|mate))?[\s!.?,:;)(*~-]*)+$",
    re.IGNORECASE,
)

_AFTER_A_COURTESY = rf"^(?:(?:{_COURTESY})(?: there)?[\s!.,]*)*"
# What is asked of the assistant itself, not of the documents: "what can you do?", after a courtesy or not.
_ABOUT_THE_ASSISTANT = re.compile(
    rf"{_AFTER_A_COURTESY}(?:what can you do|what do you do|what can i ask(?: you)?|who are you|what are you|"
    r"who made you|how do you work|help(?: me)?|can you help(?: me)?)[\s!.?]*$",
    re.IGNORECASE,
)
# What asks about the last answer, and so about nothing when it is the conversation's first turn.
_ABOUT_THE_LAST_ANSWER = re.compile(
    rf"{_AFTER_A_COURTESY}(?:what is (?:this|that|it)|how does (?:this|that|it) work|what does (?:this|that|it) do|"
    r"why|how|what|really|and|tell me more|more)[\s!.?]*$",
    re.IGNORECASE,
)


def not_a_question(text: str, known: Callable[[str], bool], first_turn: bool = True) -> bool:
    """Whether `text` asks nothing of the documents: no letter or digit, only courtesies, a
    question about the assistant itself, a question about the last answer when there is none
    (`first_turn`: "how does it work?"), or not one word that is English (a stopword) or of the
    corpus (`known` tells whether the corpus holds a word)."""
    if not any(ch.isalnum() for ch in text):
        return True
    folded = " ".join(text.split())
    if _COURTESY_ONLY.match(folded) or _ABOUT_THE_ASSISTANT.match(folded):
        return True
    if first_turn and _ABOUT_THE_LAST_ANSWER.match(folded):
        return True
    tokens = words(folded)
    return not any(t in STOPWORDS for t in tokens) and not any(known(t) for t in tokens)


def off_topic(query: str, known: Callable[[str], bool]) -> bool:
    """Whether no word that carries the question's meaning is in the corpus at all."""
    terms = [w for w in words(query) if w not in STOPWORDS]
    return bool(terms) and bool(content_terms(query)) and not any(known(t) for t in terms)

"""The extractive answerer: pick the retrieved sentences that answer the question, and cite them.

No LLM and no network. Cheap signals shortlist the candidate sentences: how much of the question
they cover (IDF-weighted terms), whether they hold the kind of thing the question asks for (a
number for "how many", a date for "when", a name for "who"), and how well their passage ranked.
The support model then reads each shortlisted sentence with the question and gives `support`,
its probability that the sentence answers it. The span reader (`qa.span_reader`) reads
the question with the stretch of each passage that holds the shortlist's sentences (and the one
before them) and scores where in it the answer lies: each sentence gets the logits of the best
answer span inside it. So it sees that a sentence going
on from the one before answers, where the support model, reading one sentence at a time, sees
only the question's words in the one before. Which sentence is quoted is the answer rule's call
(`support.Rule`, fitted on training questions in their own words and in keyword style): it weighs
the model's probability and the reader's score together with the cheap signals, which picks the
answering sentence more often than any of them alone, and more often than the sentence nearest
the question by the embedder's cosine (`qa.eval.sentence_choice`). The rule's probability
that its first sentence answers is also what decides whether to answer at all: the answer
declines when it does not reach the threshold (`Assistant.abstain_below_for`). It tells a
question asked of a document that does not hold the answer from one whose document does more
surely than the model's best probability, so fewer answerable questions are declined for the
same share of the others declined (`training/fit_answer_rule.py`).

Rules beside the model decide what an answer may be made of (`pick`):
- A question that asks how many, or opens "When did...", is answered only by a sentence that
  gives a number or a date it does not already say (`required_kind`; the day of "December 17" is
  no count): "When did Kadyrov become president?" is declined rather than answered by a sentence
  about his presidency with no date. A "when" inside a question asks for no date.
- A sentence that closes a quotation opened earlier in its paragraph ('...with the gunmen,"
  Kadyrov said.') is read by the model as it is, and quoted from the start of the sentence that
  opens the quotation, so that its marks balance; where that makes the quote longer than
  MAX_QUOTE_CHARS, the sentence is not quoted at all.
- A second sentence joins the first only when it adds to the answer to this question: the two
  are one statement (next to each other in one document, the later opening with a word that
  refers back to the earlier: "405 left... Among those, 104..."), or the second gives the kind of
  thing asked for, which the first lacks. Another event, in another article or further on in the
  same one, does not join however likely the model finds it; nor does the first sentence again
  (the same content in two documents).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.sentences import sentence_spans, wrap_width

from qa.consistency import Conflict, Context, question_conflicts
from qa.results import Passage
from qa.span_reader import SpanReader
from qa.support import SupportModel
from qa.text import content_terms, words

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundreds?|thousands?|millions?|billions?|dozens?|several|half|once|twice|thrice"
)
_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\."
)
_YEAR = r"(?:1[0-9]|20)\d\d"  # 1000-2099
_DECADE = rf"{_YEAR}(?:s|’s|'s)?"  # a year, or its decade: "1990s"
_ORDINALS = (  # of a century: "the nineteenth century"
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-first")
_PATTERNS = {
    "number": re.compile(rf"\b\d[\d,.]*\b|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE),
    "date": re.compile(
        rf"\b(?:{_MONTHS})\b|\b{_DECADE}\b|\b(?:\d{{1,2}}(?:st|nd|rd|th)?|{_ORDINALS})\s+[Cc]entury\b|"
        r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b|"
        r"\b\d{1,2}(?::\d\d)?\s*(?:a\.m\.|p\.m\.)|\b(?:morning|evening|night|midnight)\b|"
        # what geology and history date by: "~8,000 years ago", "11,600 BP", "the mid-Eocene", "his reign"
        r"\b\d[\d,.]*\s+years\s+ago\b|\b\d[\d,.]*\s*(?:BC|BCE|AD|CE|BP)\b|\b[A-Z][a-z]+cene\b|"
        r"\b(?:era|period|reign|dynasty)\b"
    ),
    "name": re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+(?:\s+(?:of\s+|de\s+|al-)?[A-Z][\w’'-]+)*"),
}
_QUESTION_KINDS = [
    ("number", re.compile(r"\bhow (?:many|much|long|old|far|large|big|often)\b|\bwhat (?:number|percentage|amount)\b", re.I)),
    ("date", re.compile(r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time|century|decade)\b", re.I)),
    ("name", re.compile(r"\bwho(?:m|se)?\b|\bwhere\b|\b(?:what|which) (?:city|country|place|team|group|company|organization|person|name)\b", re.I)),
]
# A question that opens "When did..." or asks "what year" wants a date; "what happened when he was
# arrested?", "When the law is the target, what is it called?" and, in the present tense, "When
# does immunodeficiency occur?" (a condition) or "When do members vote?" (an event) do not.
_ASKS_FOR_A_DATE = re.compile(
    r"^\W*(?:when\s+(?:did|was|were|has|have|had|will)\b|"
    r"(?:in\s+)?(?:what|which)\s+(?:year|date|month|century|decade)\b)", re.I)
_ASKS_FOR_A_COUNT = re.compile(r"\bhow (?:many|much|old)\b|\bwhat (?:number|percentage|amount)\b", re.I)
# The figures of a date or a time, which say when, not how many: "December 17", "in 1998", "8 a.m.".
# A year is a four-digit figure after a word that places it in time, or before a comma or the end
# of the sentence; "About 1500 people" is a count.
_DATE_FIGURES = re.compile(
    rf"\b(?:{_MONTHS})\s*\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?\b|"
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})(?:\s+{_YEAR})?|"
    r"\b\d{4}-\d\d-\d\d\b|\b\d{1,2}(?::\d\d)?\s*(?:a\.m\.|p\.m\.)|\b\d{1,2}:\d\d\b|"
    r"\b(?i:in|since|by|until|till|from|to|of|during|before|after|around|circa|early|late|mid|year|between|and)"
    rf"[\s-]+{_DECADE}\b|\b{_DECADE}(?=\s*(?:[,;.)]|$))"
)
_OPENING_MARKS, _CLOSING_MARKS = "“«", "”»"
_MARK = re.compile(f'[{_OPENING_MARKS}{_CLOSING_MARKS}"]')
# Words that, among the first two of a sentence, make it go on from the one before ("Among those, ...").
_REFERRING = frozenset("he she it they them this that these those his her its their such".split())
MAX_QUOTE_CHARS = 600  # a quotation widened to its opening mark is quoted up to this long, else not at all

WEIGHTS = {"lexical": 0.45, "kind": 0.20, "phrase": 0.10, "rank": 0.05}
SHORTLIST = 8  # sentences the support model reads per question
CONTEXT_WEIGHT = 0.5  # weight of a term that only an earlier turn of a follow-up uses
SECOND_SENTENCE_RATIO = 0.92  # a second sentence joins the answer when it is nearly as likely, by the model
READER_FLOOR = -15.0  # the lowest span reader's score a sentence is given

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit vectors, one row each


@dataclass(frozen=True)
class ScoredSentence:
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    support: float  # the model's probability that the sentence answers the question
    rank_score: float  # the answer rule's probability of the same: what orders the shortlist and decides
    features: dict[str, float]  # what the answer rule weighed
    conflicts: tuple[Conflict, ...] = ()  # why it cannot answer the question, whatever the model says


def question_kind(question: str) -> str | None:
    """What the question asks for: the kind whose cue comes first ("Which country was he visiting
    when..." asks for a name)."""
    found = [(match.start(), kind) for kind, pattern in _QUESTION_KINDS if (match := pattern.search(question))]
    return min(found)[1] if found else None


def _has_new(kind: str, sentence: str, question_words: set[str]) -> bool:
    """Whether the sentence holds a thing of that kind that the question does not already say."""
    if kind == "number":
        sentence = _DATE_FIGURES.sub(" ", sentence)
    for match in _PATTERNS[kind].finditer(sentence):
        if not set(words(match.group())) <= question_words:
            return True
    return False


def _idf_weights(query_terms: set[str], sentence_terms: list[set[str]]) -> dict[str, float]:
    n = len(sentence_terms)
    return {t: math.log(1 + n / (1 + sum(t in ts for ts in sentence_terms))) + 0.5 for t in query_terms}


def _coverage(weights: dict[str, float], terms: set[str]) -> float:
    """The IDF-weighted share of the query terms that the sentence has."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0


def _pairs(terms: list[str]) -> set[tuple[str, str]]:
    return set(zip(terms, terms[1:]))


def _quotation_marks(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(offset, +1 for a mark that opens a quotation or -1 for one that closes it) in text[start:end]."""
    for match in _MARK.finditer(text, start, end):  # every sentence of every passage, on each question
        i, ch = match.start(), match.group()
        if ch in _OPENING_MARKS or ch in _CLOSING_MARKS:
            yield i, 1 if ch in _OPENING_MARKS else -1
        elif ch == '"':  # a straight mark opens after a space or a bracket, and closes after a word
            yield i, 1 if i == 0 or text[i - 1].isspace() or text[i - 1] in "([{—–" else -1


def whole_quotation(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span to quote for the sentence text[start:end]: itself, or, when it closes a quotation
    that opens before it in its paragraph, from the start of the sentence that opens it; None when
    that would be longer than MAX_QUOTE_CHARS. A closing mark that nothing in the paragraph opens
    is the source's own stray mark, and the sentence is quoted as it stands."""
    depth = lowest = 0
    for _, step in _quotation_marks(text, start, end):
        depth += step
        lowest = min(lowest, depth)
    if lowest == 0:
        return start, end
    # A paragraph ends at a blank line, and at any line break in text that is not hard-wrapped.
    floor = max(0, end - 4 * MAX_QUOTE_CHARS)
    paragraph = max(text.rfind("\n\n", floor, start), -1 if wrap_width(text) else text.rfind("\n", floor, start))
    bound = floor if paragraph < 0 else paragraph + 1
    unmatched = -lowest
    for offset, step in reversed(list(_quotation_marks(text, bound, start))):
        unmatched -= step
        if unmatched == 0:
            opening = next(s for s, e in sentence_spans(text, bound, start) if s <= offset < e)
            return (opening, end) if end - opening <= MAX_QUOTE_CHARS else None
    return start, end


def candidate_sentences(passages: list[Passage], texts: dict[str, str]) -> list[tuple[Passage, int, int, int]]:
    """(passage, rank, start, end) for every sentence of the passages, each span once; not one
    that closes a quotation which cannot be quoted whole (`whole_quotation`)."""
    seen: set[tuple[str, int, int]] = set()
    found = []
    for rank, passage in enumerate(passages):
        text = texts[passage.doc_id]
        for start, end in sentence_spans(text, passage.start, passage.end):
            if whole_quotation(text, start, end) is None:
                continue
            key = (passage.doc_id, start, end)
            if key not in seen and len(words(text[start:end])) >= 3:
                seen.add(key)
                found.append((passage, rank, start, end))
    return found


def prior(features: dict[str, float]) -> float:
    """The cheap signals weighed together: what orders the candidates for the shortlist."""
    return sum(WEIGHTS[k] * features[k] for k in WEIGHTS)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with the cheap signals that shortlist it."""

    passage: Passage
    start: int
    end: int
    text: str
    features: dict[str, float]


def signals(question: str, passages: list[Passage], texts: dict[str, str], asked: str | None = None,
            embed: Embed | None = None) -> list[Candidate]:
    """Every candidate sentence of the passages with its cheap signals, in the passages' order;
    with an embedder, also its cosine to `question` ("cosine")."""
    candidates = candidate_sentences(passages, texts)
    if not candidates:
        return []
    sentences = [texts[p.doc_id][s:e] for p, _, s, e in candidates]
    sequences = [content_terms(s) for s in sentences]
    terms = [set(seq) for seq in sequences]
    question_sequence = content_terms(asked or question)
    question_pairs = _pairs(question_sequence)
    asked_idf = _idf_weights(set(question_sequence), terms)
    # Words that only earlier turns of a follow-up use name the subject, not what is asked now.
    context_idf = _idf_weights(set(content_terms(question)) - asked_idf.keys(), terms)
    kind = question_kind(asked or question)
    question_words = set(words(question))

    found = []
    for i, ((passage, rank, start, end), text, ts) in enumerate(zip(candidates, sentences, terms)):
        # The subject of a follow-up may sit in the sentence before ("405 left… Among those, 104…").
        before = terms[i - 1] if i and candidates[i - 1][0] is passage else set()
        features = {
            "lexical": _coverage(asked_idf, ts) + CONTEXT_WEIGHT * _coverage(context_idf, ts | before),
            "kind": 1.0 if kind and _has_new(kind, text, question_words) else 0.0,
            # "the leader of ISIS" is better evidence than "leader" and "ISIS" far apart.
            "phrase": len(question_pairs & _pairs(sequences[i])) / len(question_pairs) if question_pairs else 0.0,
            "rank": 1 / (1 + rank),
        }
        found.append(Candidate(passage, start, end, text, features))
    if embed is not None:
        vectors = embed([question] + sentences)
        for candidate, cosine in zip(found, vectors[1:] @ vectors[0]):
            candidate.features["cosine"] = float(cosine)
    return found


def shortlisted(found: list[Candidate], size: int = SHORTLIST) -> list[Candidate]:
    """The `size` candidates the cheap signals rank highest; of equals, the earlier."""
    return sorted(found, key=lambda c: -prior(c.features))[:size]


@functools.lru_cache(maxsize=32)
def _document_context(title: str, text: str) -> Context:
    """What a document holds, for the question checks; kept for the next questions about it."""
    return Context.of([title, text])


def read(question: str, chosen: list[Candidate], model: SupportModel, asked: str | None = None,
         texts: dict[str, str] | None = None) -> list[ScoredSentence]:
    """The support model reads each chosen sentence with the question, and the answer rule ranks
    them: most likely to answer first. Each is checked against the question
    (`consistency.question_conflicts`) in its whole document (`texts`), else in its passage.

    A model with a second reader (`SupportModel.second`, larger and slower) hands it its best
    `keep` sentences that pass the checks and give what the question asks for; what comes back is
    those alone, ranked by the second reader's rule, with its probability as their support."""
    scored = _read_by(model, question, chosen, asked, texts)
    if model.second is None:
        return scored
    kind = required_kind(asked or question)
    kept = {(s.doc_id, s.start, s.end) for s in _answerable(scored, kind)[:model.settings.keep]}
    again = [c for c in chosen if (c.passage.doc_id, c.start, c.end) in kept]
    return _read_by(model.second, question, again, asked, texts) if again else []


def _read_by(model: SupportModel, question: str, chosen: list[Candidate], asked: str | None,
             texts: dict[str, str] | None) -> list[ScoredSentence]:
    pairs = [(question, c.text) for c in chosen]
    if asked and asked != question:
        # A follow-up made standalone still holds the earlier question, which a sentence may
        # answer instead ("405 left…" for "and how many of them were killed?"): the sentence
        # must also answer the turn itself.
        pairs += [(asked, c.text) for c in chosen]
    scores = model.probabilities(pairs)
    probabilities = scores if len(pairs) == len(chosen) else (scores[:len(chosen)] * scores[len(chosen):]) ** 0.5
    reading = reader_scores(model.span_reader, question, chosen, texts) if model.span_reader else None
    rule = model.settings.answer_rule
    scored = []
    for i, (c, probability) in enumerate(zip(chosen, probabilities)):
        features = {"probability": float(probability), **c.features}
        if reading is not None:
            features["reader"] = reading[i]
        rank_score = rule.probability(features) if rule else features["probability"]
        document = _document_context(c.passage.title, texts[c.passage.doc_id] if texts else c.passage.text)
        found = question_conflicts(asked or question, c.text, document)
        scored.append(ScoredSentence(c.passage.doc_id, c.passage.title, c.start, c.end, c.text, float(probability),
                                     rank_score, features, tuple(found)))
    scored.sort(key=lambda s: -s.rank_score)  # stable: equal scores keep the cheap order
    return scored


def reader_scores(reader: SpanReader, question: str, chosen: list[Candidate],
                  texts: dict[str, str] | None = None) -> list[float]:
    """What the span reader gives each chosen sentence: the start and end logits of the best
    answer span inside it (at least READER_FLOOR). Of each passage, it reads once the stretch
    from the sentence before its first chosen sentence to its last one: the sentence before may
    name what the chosen one goes on about, and the rest only costs time. A sentence is scored
    as read in its own passage, the one it was chosen from (passages of a document overlap)."""
    stretches = []  # (the passage, where the stretch starts in the document, its text, its sentences)
    for key, passage in {(c.passage.doc_id, c.passage.start): c.passage for c in chosen}.items():
        spans = sentence_spans(texts[passage.doc_id], passage.start, passage.end) if texts else \
            [(passage.start + s, passage.start + e) for s, e in sentence_spans(passage.text)]
        starts = {c.start for c in chosen if (c.passage.doc_id, c.passage.start) == key}
        held = [i for i, (s, _) in enumerate(spans) if s in starts]
        if not held:
            continue
        first, last = spans[max(0, held[0] - 1)][0], spans[held[-1]][1]
        text = passage.text[first - passage.start:last - passage.start]
        stretches.append((key, first, text, [(s - first, e - first) for s, e in spans if first <= s and e <= last]))
    found: dict[tuple[str, int, int, int], float] = {}
    scored = reader.passage_scores(question, [(text, spans) for _, _, text, spans in stretches])
    for ((doc_id, at), first, _, spans), scores in zip(stretches, scored):
        for (s, e), score in zip(spans, scores):
            found[(doc_id, at, first + s, first + e)] = max(READER_FLOOR, float(score))
    return [found.get((c.passage.doc_id, c.passage.start, c.start, c.end), READER_FLOOR) for c in chosen]


def score_sentences(
    question: str,
    passages: list[Passage],
    texts: dict[str, str],
    model: SupportModel,
    shortlist: int = SHORTLIST,
    asked: str | None = None,
) -> list[ScoredSentence]:
    """The shortlisted candidate sentences (or, with a second reader, those it read again), most
    likely to answer first.

    `question` is what was searched (a follow-up made standalone, which names its subject) and is
    what the model reads; `asked`, the turn itself, decides which words and which kind of answer
    the cheap signals look for, and for a follow-up the model reads it too (the geometric mean
    of both probabilities counts).
    """
    return read(question, shortlisted(signals(question, passages, texts, asked), shortlist), model, asked, texts)


def required_kind(question: str) -> str | None:
    """What a sentence must give to answer the question: a number for one asking how many, how
    much or how old (`_ASKS_FOR_A_COUNT`), a date for one that opens "When did..." (or was, has,
    will...) or asks what year; else nothing in particular ("How long was it the capital?" may be
    answered "until 1796"; a "when" inside a question, or in the present tense, by a condition or
    an event)."""
    kind = question_kind(question)
    if (kind == "number" and _ASKS_FOR_A_COUNT.search(question)) or \
            (kind == "date" and _ASKS_FOR_A_DATE.search(question)):
        return kind
    return None


def gives_what_is_asked(sentence: ScoredSentence, kind: str | None) -> bool:
    """Whether the sentence can answer a question that requires `kind` (`required_kind`): it gives
    a number or a date that the question does not already say."""
    return kind not in ("number", "date") or sentence.features.get("kind", 0.0) > 0


def _answerable(scored: list[ScoredSentence], kind: str | None) -> list[ScoredSentence]:
    return [s for s in scored if not s.conflicts and gives_what_is_asked(s, kind)]


def best_support(scored: list[ScoredSentence], kind: str | None = None) -> float:
    """The probability that the shortlist answers the question: the answer rule's for the
    sentence it ranks first (without a rule, the model's), of those whose passage does not
    contradict the question (`consistency.question_conflicts`) and that give what a question of
    `kind` asks for. This is what `pick` holds to the threshold, and the answer's `support`; a
    sentence's `support` is the model's own probability, one of what the rule weighs."""
    return max((s.rank_score for s in _answerable(scored, kind)), default=0.0)


def adds_to(first: ScoredSentence, second: ScoredSentence, texts: dict[str, str] | None = None,
            question: str | None = None) -> bool:
    """Whether `second` adds to the answer that `first` gives: it is not the same words again, nor
    a part of the same span, and either the two are one statement (`_one_statement`), or `second`
    gives the kind of thing asked for, which `first` lacks, or it holds words of the `question`
    that `first` does not ("the census of 2000" beside a population density, for "How many people
    lived in Fresno in 2000, according to the census?")."""
    if " ".join(second.text.split()) == " ".join(first.text.split()):
        return False
    if second.doc_id == first.doc_id and second.start < first.end and first.start < second.end:
        return False
    if _one_statement(first, second, texts):
        return True
    if question and set(content_terms(question)) & (set(content_terms(second.text)) - set(content_terms(first.text))):
        return True
    return first.features.get("kind", 0.0) == 0 and second.features.get("kind", 0.0) > 0


def _one_statement(first: ScoredSentence, second: ScoredSentence, texts: dict[str, str] | None) -> bool:
    """Whether the two sentences stand next to each other in one document (`texts` tell), the later
    opening with a word that refers back to the earlier ("Among those, 104 have been killed")."""
    text = texts.get(first.doc_id) if texts and second.doc_id == first.doc_id else None
    if text is None:
        return False
    earlier, later = sorted((first, second), key=lambda s: s.start)
    return not text[earlier.end:later.start].strip() and bool(_REFERRING.intersection(words(later.text)[:2]))


def _quoted_whole(sentence: ScoredSentence, text: str) -> ScoredSentence:
    start, end = whole_quotation(text, sentence.start, sentence.end) or (sentence.start, sentence.end)
    return replace(sentence, start=start, text=text[start:end]) if start != sentence.start else sentence


def pick(scored: list[ScoredSentence], threshold: float, most: int = 2, kind: str | None = None,
         texts: dict[str, str] | None = None, question: str | None = None) -> list[ScoredSentence]:
    """Of `scored`, ordered by the rule as `read` orders them: the first, when the rule's
    probability for it reaches the threshold (else nothing), and the next ones that also answer by
    the model's probability (it reaches the threshold and nearly the first's) and add to the answer
    (`adds_to`). The rule weighs the passage's rank, which is for choosing the first; whether a
    sentence of another passage also answers is the model's to say. A
    sentence whose passage names nothing the question asks about, or gives another figure, or
    that gives no number or date where the question (of `kind`) asks for one, is never the answer."""
    scored = _answerable(scored, kind)
    if not scored or scored[0].rank_score < threshold:
        return []
    if texts:  # the model read the sentence; the answer quotes it with the quotation it closes
        scored = [_quoted_whole(s, texts[s.doc_id]) for s in scored[:most]]
    chosen = [scored[0]]
    for sentence in scored[1:most]:
        if sentence.support >= max(threshold, SECOND_SENTENCE_RATIO * scored[0].support) and \
                all(adds_to(c, sentence, texts, question) for c in chosen):
            chosen.append(sentence)
    return chosen

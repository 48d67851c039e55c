"""Checks that need no model: do a claim's numbers, names and polarity agree with its evidence?

A model that reads a claim with its evidence learns what is on topic; whether "2005" agrees with
"2004", "Bergen" with "Oslo" or "did not open" with "opened" is better checked directly, and a
person can read why. Each check is a small function that returns the `Conflict`s it finds;
`conflicts` runs them all, and `qa.grounding` combines the result with the model's probability
(a claim with a conflict is never supported). Number words are read with `text2num`.

The evidence is a few sentences, the closest first; the context is what all the passages hold.
Names and polarity are checked against the *anchor*: the sentence, of the evidence or else of the
passages, that holds most of the claim's other words, which is where the claim says what it says;
numbers and qualifiers may come from any evidence sentence.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from index.sentences import join_subscripts
from qa.text import STOPWORDS, content_terms, stem_words, words


@dataclass(frozen=True)
class Conflict:
    kind: str  # "number", "date", "name", "negation", "antonym" or "qualifier"
    claim: str  # what the claim says
    evidence: str  # what the evidence says instead ("" when it says nothing of the kind)

    def to_dict(self) -> dict:
        return asdict(self)


SAYS = 0.75  # the anchor holds this share of the claim's words other than names: it says what the claim says


@dataclass(frozen=True)
class Context:
    """What all the passages hold (not only the few evidence sentences of one claim), worked out
    once for every claim checked against them: a figure or a name that the passages give
    somewhere is no conflict by its absence from the evidence alone."""

    tokens: frozenset[str]
    figures: tuple[Figure, ...]
    names: frozenset[str]  # lower-cased words written capitalised and never in lower case
    sentences: tuple[tuple[str, frozenset[str]], ...] = ()  # each with its content terms
    initials: frozenset[str] = frozenset()  # "eu" for "European Union": what a question may ask by

    @classmethod
    def of(cls, texts: Sequence[str]) -> Context:
        return cls(frozenset().union(*(_tokens(t) for t in texts)), tuple(f for t in texts for f in _figures_of(t)),
                   frozenset(_known_names(texts)), tuple((t, frozenset(content_terms(t))) for t in texts),
                   frozenset().union(*(_initials(_fold(t)) for t in texts)))

    @cached_property
    def written_names(self) -> frozenset[str]:
        """What a question in lower case may name (`_written_names`): worked out only when a
        question is checked, not for every claim."""
        return frozenset(_written_names([text for text, _ in self.sentences]))

    def mentions(self, name: str) -> bool:
        """Whether the texts give `name` in any of its forms (`_same_name`), or by its initials."""
        return any(_same_name(name, w) for w in itertools.chain(self.tokens, self.initials))


def conflicts(claim: str, evidence: Sequence[str], context: Context | None = None) -> list[Conflict]:
    """Every way `claim` disagrees with `evidence` (sentences, the closest first) and `context`.

    A figure or a name that no passage gives is always a conflict. The rest (a name given to
    another, a negation, an antonym, a sweeping word) counts only where the anchor says what the
    claim says (it holds SAYS of the claim's words other than its names, figures and words of
    polarity): a summary that joins many sentences is not contradicted by one."""
    if not evidence:
        return []
    context = context or Context.of(evidence)
    known = _known(evidence, context)
    said = _plain_terms(claim, known)
    anchor = anchor_sentence(claim, evidence, context, said)
    close = not said or len(said & set(content_terms(anchor))) >= SAYS * len(said)
    found = [*number_conflicts(claim, evidence, context, anchor if close else None),
             *name_conflicts(claim, anchor, evidence, context, close, known)]
    if close:
        found += [*negation_conflicts(claim, anchor), *antonym_conflicts(claim, anchor),
                  *qualifier_conflicts(claim, evidence)]
    return found


def _plain_terms(claim: str, known: set[str]) -> set[str]:
    """The claim's content words other than those the checks look at: its names, its figures and
    words of polarity ("closed" for "opened")."""
    checked = set(content_terms(" ".join(names(claim, known)))) | _polarity_stems()
    return {t for t in content_terms(claim) if t not in checked and not t[:1].isdigit()}


def _known(evidence: Sequence[str], context: Context | None) -> set[str]:
    return _known_names(evidence) | (context.names if context else set())


def anchor_sentence(claim: str, evidence: Sequence[str], context: Context | None = None,
                    said: set[str] | None = None) -> str:
    """The sentence, of the evidence or else of the context, that holds most of what the claim
    says of its names: its content words other than names and figures ("head", "republic" in
    "Putin is the head of the Chechen republic"), then all its content words; the evidence's
    first on a tie. The evidence is what most resembles the claim; the sentence that says the
    same of someone else may be elsewhere. `said`: the claim's `_plain_terms`, when known already."""
    terms = set(content_terms(claim))
    said = _plain_terms(claim, _known(evidence, context)) if said is None else said
    candidates = [(sentence, set(content_terms(sentence))) for sentence in evidence]
    candidates += list(context.sentences if context else ())

    def holds(candidate: tuple[str, set[str]]) -> tuple[int, int]:
        return len(said & candidate[1]), len(terms & candidate[1])

    return max(candidates, key=holds)[0]


# --- numbers -------------------------------------------------------------------------------------
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<value>\d{1,3}(?:,\d{3})+|\d+)(?P<fraction>\.\d+)?"
    r"(?:\s*(?P<percent>%|per ?cent\b))?"
    r"(?:\s*(?P<scale>thousand|million|billion|trillion|bn|m)\b)?",
    re.IGNORECASE,
)
_SCALES = {"thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_ABOVE = r"more than|over|above|at least|in excess of|upwards of|exceeding|no fewer than|no less than"
_BELOW = r"less than|fewer than|under|below|at most|up to|no more than"
_NEAR = r"about|around|approximately|roughly|nearly|almost|some|close to|an estimated|estimated|circa|~"
_HEDGE = re.compile(rf"(?:(?P<above>{_ABOVE})|(?P<below>{_BELOW})|(?P<near>{_NEAR}))\s+$", re.IGNORECASE)
NEAR = 0.15  # "about 400" agrees with a figure within 15% of 400
NEAR_YEARS = 2  # and "about 1836" with a year at most this far from it
CACHED_CHARS = 2_000  # the longest text whose figures are kept for the next check


@dataclass(frozen=True)
class Figure:
    text: str
    value: float
    year: bool  # a four-digit whole number that reads as a year
    hedge: str  # "", "above", "below" or "near": what the words before it allow


@lru_cache(maxsize=4096)
def figures(text: str) -> tuple[Figure, ...]:
    """The numbers in `text`, number words ("forty-two", "three thousand") included; kept for the
    next time the same sentence is checked."""
    return _read_figures(text)


def _figures_of(text: str) -> tuple[Figure, ...]:
    """`figures`, kept only for a text of a sentence's size: a whole document read for the
    question checks is kept once, in its `Context`, not again under its text in this cache."""
    return figures(text) if len(text) <= CACHED_CHARS else _read_figures(text)


def _read_figures(text: str) -> tuple[Figure, ...]:
    digits = _number_words_as_digits(text)
    found = []
    for match in _NUMBER.finditer(digits):
        if digits[match.end() : match.end() + 1] in ("s", "'", "’"):  # "1990s", "thousands": no one figure
            continue
        value = float(match["value"].replace(",", "") + (match["fraction"] or ""))
        scale = (match["scale"] or "").lower()
        value *= _SCALES.get(scale, 1.0)
        year = (len(match["value"]) == 4 and not match["fraction"] and not scale and not match["percent"]
                and 1000 <= value <= 2100)
        hedge = _HEDGE.search(digits[max(0, match.start() - 24) : match.start()])
        kind = next((k for k, v in (hedge.groupdict() if hedge else {}).items() if v), "")
        found.append(Figure(match.group().strip(), value, year, kind))
    return tuple(found)


_VAGUE = re.compile(r"\b((?:hundred|thousand|million|billion|dozen)s)\b", re.IGNORECASE)
_SCALED = re.compile(r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)\s+(thousand|million|billion|trillion)\b", re.IGNORECASE)


def _number_words_as_digits(text: str) -> str:
    """"forty-two" as "42", "2.5 billion" as "2500000000" (scales first: the parser would read
    "billion" alone as a number)."""
    text = _SCALED.sub(lambda m: _plain(float(m[1].replace(",", "")) * _SCALES[m[2].lower()]), text)
    text = _VAGUE.sub("many", text)  # "thousands of" names no figure: keep it from the parser
    if not re.search(r"(?i)\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|teen|ty|hundred|"
                     r"thousand|million|billion)", text):
        return text
    from text_to_num import alpha2digit

    try:
        return alpha2digit(text, "en")
    except Exception:  # a parser's odd corner must not stop a check: read the digits alone
        return text


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def agrees(claimed: Figure, said: Figure) -> bool:
    """Whether a figure of the evidence bears out one of the claim, given the claim's hedge. A
    hedge that the evidence's figure has too ("over 200" against "over 400") asks for the same
    figure; a year is near another within NEAR_YEARS, whatever its size."""
    if said.value == claimed.value:
        return True
    if claimed.hedge and said.hedge == claimed.hedge and claimed.hedge != "near":
        return False
    if claimed.hedge == "above":
        return said.value >= claimed.value
    if claimed.hedge == "below":
        return said.value <= claimed.value
    if claimed.hedge == "near" or said.hedge == "near":
        if claimed.year and said.year:
            return abs(said.value - claimed.value) <= NEAR_YEARS
        return abs(said.value - claimed.value) <= NEAR * max(abs(claimed.value), abs(said.value))
    return False


def number_conflicts(claim: str, evidence: Sequence[str], context: Context | None = None,
                     anchor: str | None = None) -> list[Conflict]:
    """A figure of the claim that nothing in the evidence or the context bears out: a changed
    count, year or share. Where the claim says what `anchor` says, a figure must agree with one
    of the anchor's of its kind (a year with a year), unless the claim gives more of that kind than
    the anchor does (it joins facts): "opened in 2005" is no less wrong for a 2005 elsewhere. The
    figure named beside a conflict is the closest of the same kind there, else in the evidence."""
    said = [f for sentence in evidence for f in figures(sentence)]
    everywhere = said + list(context.figures if context else ())
    claimed_all = figures(claim)
    anchored = figures(anchor) if anchor else ()
    found = []
    for claimed in claimed_all:
        kind = [f for f in anchored if f.year == claimed.year]
        bound = kind and sum(f.year == claimed.year for f in claimed_all) <= len(kind)
        if any(agrees(claimed, f) for f in (kind if bound else everywhere)):
            continue
        alike = kind or [f for f in said if f.year == claimed.year] or said or \
            [f for f in everywhere if f.year == claimed.year]
        closest = min(alike, key=lambda f: abs(f.value - claimed.value), default=None)
        found.append(Conflict("date" if claimed.year else "number", claimed.text, closest.text if closest else ""))
    return found


# --- names ---------------------------------------------------------------------------------------
_CAPITALISED = re.compile(r"\b[A-Z][\w’'\-]*")
MONTHS = frozenset("january february march april may june july august september october november december "
                   "monday tuesday wednesday thursday friday saturday sunday".split())
SAME_STEM = 5  # "Chechen" and "Chechnya", "Russia" and "Russian": one name in two forms


def names(text: str, known: set[str] = frozenset()) -> list[str]:
    """The capitalised words of `text` that are names: not a sentence's first word, unless that
    word is a name elsewhere (in `known`, the lower-cased names of other texts), and no stopword."""
    found = []
    for match in _CAPITALISED.finditer(text):
        word = re.split(r"[’'\-]", match.group())[0]
        lowered = word.lower()
        if lowered in STOPWORDS or len(word) < 2:  # "U" of "U.S." is no name on its own
            continue
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?:\"“‘(" or before.endswith("[")
        if sentence_start and lowered not in known:
            continue
        found.append(word)
    return found


NAMES_FILE = Path(__file__).parent / "models" / "names" / "names.txt"
LETTERS = re.compile(r"[^\W\d_]+")  # a run of letters: "Kadyrov" and "s" of "Kadyrov's"


@lru_cache(maxsize=1)
def common_names() -> frozenset[str]:
    """Lower-cased words that Wikipedia writes capitalised nearly always inside a sentence:
    "france", "obama", "tennessee" (`training/build_names.py`)."""
    return frozenset(NAMES_FILE.read_text(encoding="utf-8").split())


def lower_case_names(question: str, known: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The words of a question written in lower case that are names all the same: common names
    (`common_names`) and those of `known` ("what is the capital of france", "who is ramzan
    kadyrov"). Its first word counts as in lower case ("France?")."""
    question = unicodedata.normalize("NFC", question[:1].lower() + question[1:])  # "zürich" typed as "u" and "¨"
    found = (w for w in LETTERS.findall(question) if w.islower() and len(w) >= 3)
    return [w for w in dict.fromkeys(found) if w in known or w in common_names()]


def _written_names(texts: Sequence[str]) -> set[str]:
    """Lower-cased names that the texts write capitalised inside a sentence (`names`) and never in
    lower case: "kadyrov" of "Kadyrov's men", not "population" of a sentence that opens with it."""
    inside = {n.lower() for t in texts for n in names(t)}
    lower = {w for t in texts for w in LETTERS.findall(t) if w.islower()}
    return inside - lower


def _known_names(evidence: Sequence[str]) -> set[str]:
    """Lower-cased words that the evidence writes capitalised and never in lower case."""
    capitalised = {m.group().lower() for sentence in evidence for m in _CAPITALISED.finditer(sentence)}
    lower = {w for sentence in evidence for w in re.findall(r"\b[a-z][\w’'\-]*", sentence)}
    return capitalised - lower - STOPWORDS


def _same_name(a: str, b: str) -> bool:
    """One name in two forms: equal up to accents ("Zürich" and "Zurich"), or of nearly one length
    and one stem ("Chechen" and "Chechnya", "Russia" and "Russian"; not "Rhine" and "Rhineland")."""
    a, b = _fold(a.lower()), _fold(b.lower())
    if a == b:
        return True
    shorter = min(len(a), len(b))
    shared = len(os.path.commonprefix([a, b]))
    return shared >= SAME_STEM and shared >= shorter - 2 and abs(len(a) - len(b)) <= 3


def _in_full(text: str, name: str) -> str:
    """The run of capitalised words of `text` that `name` starts: "Ramzan Kadyrov" for "Ramzan"."""
    if not name:
        return name
    match = re.search(rf"\b{re.escape(name)}(?:\s+[A-Z][\w’'\-]*)*", text)
    return match.group() if match else name


def _tokens(text: str) -> set[str]:
    r"""Lower-cased runs of letters and digits, without accents: "al-Baghdadi" holds "baghdadi",
    "Putin’s" "putin", "Zürich" "zurich", "CO\n2" "co2" (`join_subscripts`)."""
    text = _fold(_DOTTED.sub(lambda m: m.group().replace(".", ""), join_subscripts(text)))  # "U.S." is "US"
    return set(re.findall(r"[^\W_]+", text.lower()))


def _initials(text: str) -> set[str]:
    """The initials of each run of capitalised words in the text, less an opening "The": "eu" for
    "The European Union". A question may ask by them; a claim's names are checked without them,
    since any run has initials ("Eastern Ukraine" is no "EU")."""
    found = set()
    for run in _CAPITALISED_RUN.finditer(text):
        run_words = run.group().split()
        while run_words and run_words[0].lower() in STOPWORDS:
            run_words.pop(0)
        if len(run_words) >= 2:
            found.add("".join(w[0] for w in run_words).lower())
    return found


_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,4}\b")


def _fold(text: str) -> str:
    """The text without its accents: "Temüjin" is "Temujin"."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def name_conflicts(claim: str, anchor: str, evidence: Sequence[str], context: Context | None = None,
                   close: bool = True, known: set[str] | None = None) -> list[Conflict]:
    """A name in the claim that neither the evidence nor the context mentions, or, when the
    anchor says what the claim says (`close`), one that the anchor replaces with another ("The
    Bergen office opened" against "The Oslo office opened"). A name written in part ("Kadyrov"
    for "Ramzan Kadyrov") is the same name. `known`: `_known(evidence, context)`, when known already."""
    known = _known(evidence, context) if known is None else known
    evidence_words = set().union(*(_tokens(sentence) for sentence in evidence), context.tokens if context else ())
    anchor_words = _tokens(anchor)
    claim_names = names(claim, known)
    claim_words = _tokens(claim)
    rivals = [n for n in names(anchor) if not any(_same_name(n, w) for w in claim_words)]
    found = []
    for name in dict.fromkeys(claim_names):
        in_evidence = any(_same_name(name, w) for w in evidence_words)
        in_anchor = any(_same_name(name, w) for w in anchor_words)
        if in_anchor or (in_evidence and not (close and rivals)):
            continue
        kind = "date" if name.lower() in MONTHS else "name"
        rival = next((o for o in rivals if (o.lower() in MONTHS) == (kind == "date")), "")
        found.append(Conflict(kind, name, _in_full(anchor, rival)))
    return found


# --- polarity ------------------------------------------------------------------------------------
_NEGATIONS = frozenset("not no never none nobody nothing neither nor without cannot n't nowhere".split())
_ANTONYMS = [
    ("open", "close"), ("rise", "fall"), ("increase", "decrease"), ("win", "lose"), ("before", "after"),
    ("above", "below"), ("more", "less"), ("higher", "lower"), ("begin", "end"), ("start", "stop"),
    ("accept", "reject"), ("allow", "forbid"), ("allow", "ban"), ("alive", "dead"), ("gain", "loss"),
    ("larger", "smaller"), ("largest", "smallest"), ("most", "least"), ("north", "south"), ("east", "west"),
    ("profit", "loss"), ("buy", "sell"), ("born", "died"), ("support", "oppose"), ("success", "failure"),
    ("succeed", "fail"), ("approve", "reject"), ("confirm", "deny"), ("enter", "leave"), ("arrive", "depart"),
    ("import", "export"), ("maximum", "minimum"), ("early", "late"), ("earlier", "later"), ("true", "false"),
    ("legal", "illegal"), ("public", "private"), ("male", "female"), ("inside", "outside"), ("add", "remove"),
]


def _negations(text: str) -> int:
    return sum(w in _NEGATIONS or w.endswith("n't") or w.endswith("n’t") for w in words(text))


_CLAUSE = re.compile(r"[,;:()\[\]\"“”—–]+|\s-\s")


def negation_conflicts(claim: str, anchor: str) -> list[Conflict]:
    """A negation that the anchor sentence lacks, or lacks one it has: "did not open" against
    "opened". Counted, so that a double negation still reads as what it says; of the anchor, only
    the clauses that share a word with the claim count ("'We will not rest,' said Kadyrov, head of
    the republic" does not deny that he is its head)."""
    terms = set(content_terms(claim))
    said = sum(_negations(c) for c in _CLAUSE.split(anchor) if terms & set(content_terms(c)))
    claimed = _negations(claim)
    if (said % 2) == (claimed % 2):
        return []
    negation = next((w for w in words(claim if claimed > said else anchor)
                     if w in _NEGATIONS or w.endswith(("n't", "n’t"))), "not")
    return [Conflict("negation", negation if claimed > said else "(affirms)",
                     "(affirms)" if claimed > said else negation)]


@lru_cache(maxsize=1)
def _antonym_stems() -> list[tuple[str, str]]:
    return [(_stems(a)[0], _stems(b)[0]) for a, b in _ANTONYMS]


@lru_cache(maxsize=1)
def _polarity_stems() -> frozenset[str]:
    return frozenset(s for pair in _antonym_stems() for s in pair)


def antonym_conflicts(claim: str, anchor: str) -> list[Conflict]:
    """A word of the claim whose opposite the anchor sentence says instead ("closed" for "opened")."""
    claim_terms, anchor_terms = set(_stems(claim)), set(_stems(anchor))
    found = []
    for a, b in _antonym_stems():
        for said, opposite in ((a, b), (b, a)):
            if said in claim_terms and opposite in anchor_terms and said not in anchor_terms \
                    and opposite not in claim_terms:
                found.append(Conflict("antonym", _surface(claim, said), _surface(anchor, opposite)))
    return found


def _stems(text: str) -> list[str]:
    """Stems of every word, stopwords too ("more", "after" and "before" carry the polarity here)."""
    return stem_words(_irregular(words(text)))


_IRREGULAR = {"rose": "rise", "risen": "rise", "fell": "fall", "fallen": "fall", "won": "win", "lost": "lose",
              "began": "begin", "begun": "begin", "sold": "sell", "bought": "buy",
              "earliest": "early", "latest": "late", "ended": "end"}


def _irregular(tokens: list[str]) -> list[str]:
    return [_IRREGULAR.get(t, t) for t in tokens]


def _surface(text: str, stem: str) -> str:
    for word in words(text):
        if _stems(word) == [stem]:
            return word
    return stem


# --- qualifiers ----------------------------------------------------------------------------------
QUALIFIERS = frozenset("only all every always never first last sole entire entirely solely exclusively".split())


def qualifier_conflicts(claim: str, evidence: Sequence[str]) -> list[Conflict]:
    """A sweeping word ("only", "all", "never", "first") that no evidence sentence carries."""
    said = {w for sentence in evidence for w in words(sentence)}
    return [Conflict("qualifier", w, "") for w in dict.fromkeys(words(claim)) if w in QUALIFIERS and w not in said]


# --- a question against a candidate answer -------------------------------------------------------
def question_conflicts(question: str, sentence: str, context: Context) -> list[Conflict]:
    """Why `sentence`, of a document (`context`: its title and text), cannot answer `question`:
    the document names none of the names the question asks about, or the question's figure is
    not in it while the sentence gives another of its kind ("What happened in 2005?" against a
    sentence of 2004). The names it writes in lower case count too (`lower_case_names`): those
    that the document writes capitalised, and common names."""
    found = []
    capitalised = names(question, context.names)
    asked = list(dict.fromkeys(capitalised + lower_case_names(question, context.written_names)))
    if asked and not any(context.mentions(n) for n in asked):
        found.append(Conflict("name", asked[0], ""))
    elif rival := _rival_phrase(question, asked, context) or _other_holder(question, sentence, asked, context):
        found.append(rival)
    given = figures(sentence)
    for claimed in figures(question):
        if any(agrees(claimed, f) for f in context.figures):
            continue
        rival = [f for f in given if f.year == claimed.year]
        if rival:
            found.append(Conflict("date" if claimed.year else "number", claimed.text, rival[0].text))
    return found


def _rival_phrase(question: str, asked: list[str], context: Context) -> Conflict | None:
    """"Tower Bridge" asked of a document that has only "Harbour Bridge": a name of several words
    whose last word the document gives with another name before it, and whose other words it lacks."""
    for match in re.finditer(r"\b[A-Z][\w’'\-]*(?:\s+[A-Z][\w’'\-]*)+", question):
        phrase = match.group().split()
        modifiers = [w for w in phrase[:-1] if w in asked]
        if not modifiers or any(_same_name(m, t) for m in modifiers for t in context.tokens):
            continue
        for text, _ in context.sentences:
            for other in re.finditer(rf"\b([A-Z][\w’'\-]*)\s+{re.escape(phrase[-1])}\b", text):
                if other.group(1) not in phrase and other.group(1).lower() not in STOPWORDS:
                    return Conflict("name", match.group(), other.group())
    return None


_POSSESSIVE = r"(?:'s|’s)"
_RUN_BEFORE = re.compile(r"\b((?:[A-Z][\w’'\-]*\s+){1,4})$")  # "Russian Deputy Foreign " before "Minister"
_OWNER_BEFORE = re.compile(rf"\b([A-Z][\w\-]*){_POSSESSIVE}\s+(?:[a-z]+\s+){{0,2}}$")  # "Chechnya’s " or "Putin’s new "
_OWNER_AFTER = re.compile(r"\s+of\s+(?:the\s+)?((?:[A-Z][\w’'\-]*\s*)+)")  # " of the Kabardino-Balkaria Republic"
OWNER_REACH = 120  # characters before a head where its owner is looked for


def _heads(question: str, name: str) -> frozenset[str]:
    """What the question asks of `name`: "president" of "the president of Russia", "Russia's
    president" or, typed as a search, "russia president"; "foreign" and "minister" of "Russia's
    foreign minister"."""
    named = re.escape(name)
    found = {m.group(1) for m in re.finditer(rf"\b(\w+) of (?:the )?{named}\b", question, re.I)}
    typed = question.islower() and len(question.split()) <= 6  # "russia president", typed as a search
    for m in re.finditer(rf"\b{named}({_POSSESSIVE})?((?:\s+\w+){{1,2}})(\s*\??\s*$)?", question, re.I):
        if m.group(1) or (typed and m.group(3) is not None):
            found.update(m.group(2).split())
    return frozenset(h.lower() for h in found if len(h) > 2 and h.isalpha() and h.lower() not in STOPWORDS)


@lru_cache(maxsize=256)  # one question is checked against each sentence of its shortlist
def _asked_of_names(question: str, asked: tuple[str, ...]) -> tuple[tuple[tuple[str, frozenset[str]], ...],
                                                                     frozenset[str]]:
    """What the question asks of each name it asks about that asks anything (`_heads`), and what
    spares a holder: the question's names and their initials."""
    heads = tuple((name, found) for name in asked if (found := _heads(question, name)))
    return heads, frozenset({n.lower() for n in asked} | _initials(_fold(question)))


def _holders(sentence: str, head: str, context: Context, named: set[str]) -> list[str]:
    """The names that `sentence` gives `head` to: "Chechnya" of "Chechnya’s President", "Russian"
    of "Russian Deputy Foreign Minister", "Kabardino-Balkaria" of "the capital of the
    Kabardino-Balkaria Republic". `named`: the sentence's names, lower-cased (`names`)."""
    found = []
    for m in re.finditer(rf"\b{re.escape(head)}s?\b", sentence, re.I):
        before, after = sentence[max(0, m.start() - OWNER_REACH): m.start()], sentence[m.end():]
        titled = m.group()[0].isupper()  # "Chechen President", not "the Derech Eretz approach"
        owners = []  # (word, whether it stands right before the head), the nearest first
        if owner := _OWNER_BEFORE.search(before):
            owners.append((owner.group(1), False))
        if run := _RUN_BEFORE.search(before):
            owners += [(w, True) for w in reversed(run.group(1).split())]
        if of := _OWNER_AFTER.match(after):
            owners += [(w, False) for w in of.group(1).split()]
        for word, right_before in owners:
            word = re.sub(rf"{_POSSESSIVE}$", "", word)
            lowered = word.lower()
            first = re.split(r"[’'\-]", lowered)[0]
            if right_before and not titled and lowered not in common_names():
                continue
            known = any(w in common_names() or w in context.names for w in (lowered, first))
            if (first in named or first in context.written_names) and lowered not in MONTHS and known:
                found.append(word)
    return found


# Demonyms and other names of a place that share fewer than three first letters with it ("French"
# and "France", "Britain" and "UK").
_DEMONYMS = {"french": {"france"}, "dutch": {"netherlands", "holland"}, "danish": {"denmark"}, "welsh": {"wales"},
             "irish": {"ireland"}, "swiss": {"switzerland"}, "filipino": {"philippines"},
             "american": {"america", "us", "usa", "united", "states"}, "british": {"uk", "united", "kingdom"},
             "britain": {"uk", "united", "kingdom"}, "usa": {"us", "united", "states", "america"}}


def _of_one_place(a: str, b: str) -> bool:
    """A name and its demonym, or two forms of one name: more generous than `_same_name`, since
    here a false match only spares a sentence ("Norway" and "Norwegian", "Rome" and "Roman"; not
    "Washington" and "was"). Places whose names begin alike are one here ("Iran" and "Iraq")."""
    a, b = _fold(a.lower()), _fold(b.lower())
    shared = len(os.path.commonprefix([a, b]))
    return (_same_name(a, b) or (min(len(a), len(b)) >= 4 and shared >= 3 and shared >= min(len(a), len(b)) - 3)
            or b in _DEMONYMS.get(a, ()) or a in _DEMONYMS.get(b, ()))


def _other_holder(question: str, sentence: str, asked: list[str], context: Context) -> Conflict | None:
    """"Who is the president of Russia?" against "Ramzan Kadyrov, Chechnya’s President, ...": a
    sentence that never names the name asked about (nor by its initials), and gives what is asked of
    it to another name. A name the question itself gives, or its initials, is no other holder
    ("Where does Ireland's Supreme Court sit?"; "the US President" for the United States). Not
    read: "President Kadyrov of Chechnya", a holder after the title."""
    heads, asking = _asked_of_names(question, tuple(asked))
    if not heads:  # most questions ask nothing of a name
        return None
    said = _tokens(sentence) | _initials(_fold(sentence))
    named = {n.lower() for n in names(sentence, common_names())}  # not a sentence's first word, unless a name
    for name, asked_of in heads:
        if any(_of_one_place(name, w) for w in said):
            continue
        for head in asked_of:
            holders = [h for h in _holders(sentence, head, context, named)
                       if not any(_of_one_place(p, w) for p in _tokens(h) for w in asking)]
            if holders:
                return Conflict("name", name, holders[0])
    return None

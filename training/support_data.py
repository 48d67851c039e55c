"""Pairs for the support model, built from the public benchmarks in `shared/bench`.

Each pair is (first, second, label): a question and a sentence that answers it (1) or does not
(0), or a claim and the evidence that supports it (1) or does not (0).

- SQuAD: the sentence that holds a gold answer is a positive; the sentences of the same paragraph
  and of the same article that share most words with the question are negatives, and so is every
  candidate of an unanswerable SQuAD 2.0 question (those were written to look answerable).
- RAGTruth: each sentence of an LLM answer is a claim; it is unsupported when it overlaps a span
  that annotators marked (`train_support.claim_pairs` gives it the evidence that the run-time
  claim check would show the model).
- Altered SQuAD sentences as claims: a sentence as it stands is supported; with a number or a name
  swapped, or a clause of another paragraph added, it is not (`altered_claims`).
- Search-engine questions asked of an article's first paragraph (bench/search_questions,
  `search_pairs`): every sentence of that paragraph, a positive where the annotators marked it.

Articles are split by name, never by question: `ABSTAIN_REPORT` and `THRESHOLD_TUNE` say which
SQuAD 2.0 articles are kept out of training, to report abstention on and to choose the threshold. The 18 SQuAD 1.1
articles that `train_articles.txt` does not list are never trained on (the bench reads their summaries through
`summaries`, and `search_pairs` refuses them).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.sentences import sentence_spans
from qa.text import content_terms

# Within the training articles: the SQuAD 2.0 ones are split three ways, by name.
ABSTAIN_REPORT = ("Black_Death", "Ctenophora", "Islamism", "Packet_switching", "Warsaw")
THRESHOLD_TUNE = ("Economic_inequality", "Oxygen")
QUESTIONS_PER_ARTICLE = 120  # SQuAD 1.1 articles: Super_Bowl_50 alone has 810 questions
RAGTRUTH_TUNE_SHARE = 0.2  # sources of the training task kept out to choose the claim threshold


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    label: int
    kind: str  # "question" or "claim"
    group: str  # the article or source it comes from
    qid: str = ""  # the question or claim it belongs to, to score per question


@dataclass(frozen=True)
class SquadQuestion:
    qid: str
    article: str
    question: str
    context: str
    answers: tuple[str, ...]  # empty: unanswerable
    answer_starts: tuple[int, ...]


def train_articles(bench: Path) -> list[str]:
    lines = (bench / "squad-v2.0-dev-train" / "train_articles.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def squad_questions(bench: Path) -> list[SquadQuestion]:
    """Every question of the training articles: SQuAD 2.0 where it has the article, else 1.1."""
    allowed = set(train_articles(bench))
    v2 = json.loads((bench / "squad-v2.0-dev-train" / "dev-v2.0.train-articles.json").read_text("utf-8"))["data"]
    v1 = json.loads((bench / "squad-v1.1-dev" / "dev-v1.1.reconstructed.json").read_text("utf-8"))["data"]
    in_v2 = {a["title"] for a in v2}
    articles = v2 + [a for a in v1 if a["title"] not in in_v2]
    questions = []
    for article in articles:
        if article["title"] not in allowed:
            continue
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa.get("answers", []))
                starts = tuple(a["answer_start"] for a in qa.get("answers", []))
                questions.append(SquadQuestion(qa["id"], article["title"], qa["question"],
                                               paragraph["context"], answers, starts))
    return questions


def _overlap(question_terms: set[str], sentence: str) -> float:
    terms = set(content_terms(sentence))
    return len(question_terms & terms) / (len(question_terms) or 1)


def _sentences(text: str) -> list[tuple[int, int, str]]:
    return [(s, e, text[s:e]) for s, e in sentence_spans(text) if len(text[s:e].split()) >= 3]


def paragraphs_of(questions: list[SquadQuestion]) -> dict[str, list[str]]:
    """Each article's paragraphs, once each, in the order the questions give them."""
    paragraphs: dict[str, list[str]] = {}
    for q in questions:
        if q.context not in paragraphs.setdefault(q.article, []):
            paragraphs[q.article].append(q.context)
    return paragraphs


def answer_sentences(answers: Sequence[str], sentences: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The sentences known to hold the answer: each one that an annotator's answer text occurs in
    while it occurs in no other sentence of the paragraph.

    The rebuilt SQuAD files give every answer the offset of its text's first occurrence, which is
    not the place the annotator marked when the text occurs twice ("2007" in a paragraph that
    names 2007 in two sentences). So an offset says nothing there; another annotator's answer that
    occurs once may still pin the sentence. A question none of whose answers does gets none."""
    pinned = []
    for answer in dict.fromkeys(answers):
        holding = [sentence for sentence in sentences if answer in sentence[2]]
        if len(holding) == 1 and holding[0] not in pinned:
            pinned.append(holding[0])
    return sorted(pinned)


def _answering(q: SquadQuestion, sentences: list[tuple[int, int, str]]) -> tuple[int, int, str] | None:
    """The first sentence known to hold the answer (`answer_sentences`, over every sentence of
    the paragraph), if one is and it is among `sentences`."""
    every = [(s, e, q.context[s:e]) for s, e in sentence_spans(q.context)]
    return next((s for s in answer_sentences(q.answers, every) if s in sentences), None)


def squad_pairs(questions: list[SquadQuestion], seed: int = 13, same_paragraph: int = 2,
                hardness: Callable[[str, list[str]], Sequence[float]] | None = None,
                per_article: int = QUESTIONS_PER_ARTICLE) -> list[Pair]:
    """A positive per answerable question, and hard negatives for every question.

    The paragraph's negatives are those that share most words with the question, or, given
    `hardness` (question, sentences) -> scores, those it scores highest: the training script
    passes the model it goes on from, so that the negatives are the sentences that model wrongly
    believes answer (hard-negative mining). A SQuAD 1.1 article gives at most `per_article`
    questions (0: all of them)."""
    rng = random.Random(seed)
    by_article = paragraphs_of(questions)
    kept: list[SquadQuestion] = []
    for article in by_article:
        of_article = [q for q in questions if q.article == article]
        if per_article and len(of_article) > per_article and not any(not q.answers for q in of_article):
            of_article = rng.sample(of_article, per_article)
        kept.extend(of_article)

    pairs = []
    for q in kept:
        terms = set(content_terms(q.question))
        sentences = _sentences(q.context)
        answer_at = [(start, start + len(text)) for text, start in zip(q.answers, q.answer_starts)]
        holds = lambda s, e, text: any(s <= a < e for a, _ in answer_at) or any(t in text for t in q.answers)  # noqa: E731
        positive = _answering(q, sentences)
        if positive:
            pairs.append(Pair(q.question, positive[2], 1, "question", q.article, q.qid))
        elif q.answers:
            continue  # its answer's sentence is not known, or crosses a boundary the splitter drew
        negatives = [t for s, e, t in sentences if not holds(s, e, t)]
        if hardness and negatives:
            hard = dict(zip(negatives, hardness(q.question, negatives)))
            negatives.sort(key=lambda t: -hard[t])
        else:
            negatives.sort(key=lambda t: -_overlap(terms, t))
        chosen = negatives[:same_paragraph]
        others = [c for c in by_article[q.article] if c != q.context]
        elsewhere = [t for c in rng.sample(others, min(6, len(others))) for _, _, t in _sentences(c)
                     if not any(a in t for a in q.answers)]
        if elsewhere:
            chosen.append(max(elsewhere, key=lambda t: _overlap(terms, t)))
        pairs.extend(Pair(q.question, t, 0, "question", q.article, q.qid) for t in chosen)
    return pairs


def source_text(source) -> str:
    """RAGTruth sources are news text or a structured business record; the record becomes lines."""
    if isinstance(source, str):
        return source
    lines: list[str] = []

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path} {key}".strip())
        elif isinstance(value, list):
            for item in value:
                walk(item, path)
        else:
            lines.append(f"{path}: {value}")

    walk(source, "")
    return "\n".join(lines)


@dataclass(frozen=True)
class Claim:
    source_id: str
    text: str
    supported: bool
    response: int  # which answer of that source it belongs to


def ragtruth_claims(path: Path) -> tuple[dict[str, str], list[Claim]]:
    """Source texts by id, and every sentence of every answer with its human label."""
    sources: dict[str, str] = {}
    claims: list[Claim] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        sid = str(record["source_id"])
        sources[sid] = source_text(record["source"])
        for r, response in enumerate(record["responses"]):
            text = response["response"]
            labels = [(label["start"], label["end"]) for label in response["labels"]]
            for start, end in sentence_spans(text):
                if len(text[start:end].split()) < 3:
                    continue
                unsupported = any(a < end and start < b for a, b in labels)
                claims.append(Claim(sid, text[start:end], not unsupported, r))
    return sources, claims


def split_sources(source_ids: list[str], share: float = RAGTRUTH_TUNE_SHARE, seed: int = 13) -> set[str]:
    """The source ids kept out of training to choose the claim threshold."""
    ids = sorted(set(source_ids))
    random.Random(seed).shuffle(ids)
    return set(ids[: int(len(ids) * share)])


_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def altered_claims(questions: list[SquadQuestion], count: int, seed: int = 13) -> list[tuple[str, str, bool]]:
    """(claim, paragraph, supported) made from paragraphs of the training articles.

    A sentence taken as it stands is supported. The same sentence with one number or one name
    swapped for another of the same article, or with a clause of another paragraph added, is not:
    the two kinds of error (a conflict, baseless information) that LLM answers make most.
    """
    rng = random.Random(seed)
    paragraphs = paragraphs_of(questions)
    made: list[tuple[str, str, bool]] = []
    articles = sorted(paragraphs)
    while len(made) < count:
        article = rng.choice(articles)
        context = rng.choice(paragraphs[article])
        sentences = [t for _, _, t in _sentences(context) if 6 <= len(t.split()) <= 45]
        if not sentences:
            continue
        sentence = rng.choice(sentences)
        kind = rng.choice(("as-is", "swap", "add"))
        if kind == "as-is":
            made.append((sentence, context, True))
            continue
        others = [c for c in paragraphs[article] if c != context]
        if not others:
            continue
        other = rng.choice(others)
        if kind == "swap":
            pattern = _NUMBER if _NUMBER.search(sentence) and rng.random() < 0.5 else _NAME
            mine = pattern.findall(sentence)
            theirs = [t for t in pattern.findall(other) if t not in context]
            if not mine or not theirs:
                continue
            made.append((sentence.replace(rng.choice(mine), rng.choice(theirs), 1), context, False))
        else:
            clauses = [t for _, _, t in _sentences(other) if 5 <= len(t.split()) <= 25 and t not in context]
            if not clauses:
                continue
            clause = clauses[0].rstrip(".!?")
            made.append((f"{sentence.rstrip('.!?')}, and {clause[0].lower()}{clause[1:]}.", context, False))
    return made


# Words whose opposite turns a question the sentence answers into one it does not.
_OPPOSITE_PAIRS = """
first last, largest smallest, most least, highest lowest, before after, earliest latest,
north south, east west, increase decrease, increased decreased, increases decreases, rise fall,
rose fell, higher lower, high low, more less, larger smaller, large small, greater lesser,
longest shortest, long short, oldest newest, best worst, better worse, maximum minimum,
won lost, win lose, start end, began ended, major minor, upper lower, positively negatively,
positive negative, strongly weakly, strong weak, rich poor, richest poorest, above below,
inside outside, include exclude, included excluded, public private, legal illegal, early late,
true false, success failure, accepted rejected, allowed banned, always never, same different,
fast slow, heavy light, hot cold, internal external, western eastern, northern southern,
cheaper dearer, primary secondary, common rare, modern ancient, open closed, male female
"""
_OPPOSITES = {a: b for pair in _OPPOSITE_PAIRS.replace("\n", " ").split(",") for a, b in [pair.split()]}
_OPPOSITES.update({b: a for a, b in list(_OPPOSITES.items())})
_AUXILIARY = re.compile(r"\b(is|are|was|were|did|does|do|can|could|has|have|had|will|would)\b")
_WORD = re.compile(r"[A-Za-z]+")


CONTRAST_KINDS = ("opposite", "name", "negation")


def altered_questions(questions: list[SquadQuestion], seed: int = 13,
                      kinds: tuple[str, ...] = CONTRAST_KINDS) -> list[tuple[str, str]]:
    """(question, sentence) pairs in which the sentence no longer answers the question.

    Made from answerable questions and the sentence that answers them, the way SQuAD 2.0's
    unanswerable questions were written: a word swapped for its opposite ("weakly" for
    "strongly"), a name or number that the sentence holds swapped for one it does not (the Oslo
    office asked about Zurich), or a negation added. The untouched question
    stays a positive (`squad_pairs`), so the model sees both sides of each contrast. `kinds`
    says which alterations to make.
    """
    rng = random.Random(seed)
    paragraphs = paragraphs_of(questions)
    made = []
    for q in questions:
        if not q.answers:
            continue
        answering = _answering(q, _sentences(q.context))
        if answering is None:
            continue
        sentence = answering[2]
        opposite = _opposite(q.question) if "opposite" in kinds else None
        altered = opposite
        if "name" in kinds and (opposite is None or rng.random() < 0.3):
            altered = _swap_name_or_number(q, sentence, paragraphs[q.article], rng) or opposite
        if altered is None and "negation" in kinds:
            altered = _negated(q.question)
        if altered and altered != q.question:
            made.append((altered, sentence))
    return made


def _swap_name_or_number(q: SquadQuestion, sentence: str, article: list[str], rng: random.Random) -> str | None:
    """A name or number that the sentence holds, swapped for one it does not: half the time from
    elsewhere in the same paragraph (the harder case: the paragraph speaks of both)."""
    pattern = _NUMBER if _NUMBER.search(q.question) else _NAME
    mine = [t for t in pattern.findall(q.question) if t in sentence]
    nearby = rng.random() < 0.5
    texts = [q.context] if nearby else [c for c in article if c != q.context]
    theirs = sorted({t for c in texts for t in pattern.findall(c) if t not in sentence and t not in q.question})
    if not mine or not theirs:
        return None
    return q.question.replace(rng.choice(mine), rng.choice(theirs), 1)


def _opposite(question: str) -> str | None:
    for match in _WORD.finditer(question):
        opposite = _OPPOSITES.get(match.group().lower())
        if opposite:
            return question[:match.start()] + opposite + question[match.end():]
    return None


def _negated(question: str) -> str | None:
    match = _AUXILIARY.search(question)
    if not match or re.search(r"\bnot\b|n't\b|\bnever\b", question):
        return None
    return question[:match.end()] + " not" + question[match.end():]


# --- the larger sets: all of SQuAD 1.1 train, SNLI, and what is not a question ------------------
def squad_train_file(bench: Path) -> Path:
    return bench / "squad-v1.1-train" / "train-v1.1.reconstructed.json.gz"


def squad_train_articles(bench: Path) -> list[dict]:
    """The 442 articles of the SQuAD 1.1 training set, as its file gives them."""
    import gzip

    with gzip.open(squad_train_file(bench), "rt", encoding="utf-8") as handle:
        return json.load(handle)["data"]


def squad_train_questions(bench: Path, count: int, seed: int = 13) -> list[SquadQuestion]:
    """`count` questions of the SQuAD 1.1 training set (none is a development article), spread
    over all 442 articles: each article gives its share, sampled at random."""
    data = squad_train_articles(bench)
    rng = random.Random(seed)
    per_article = max(1, count // len(data) + 1)
    questions = []
    for article in data:
        found = [SquadQuestion(f"t{qa['id']}", "train:" + article["title"], qa["question"], paragraph["context"],
                               tuple(a["text"] for a in qa["answers"]), tuple(a["answer_start"] for a in qa["answers"]))
                 for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
        questions.extend(rng.sample(found, min(per_article, len(found))))
    rng.shuffle(questions)
    return questions[:count]


def keyword_style(question: str, rng: random.Random) -> str:
    """A question as a search box gets it: lower case, no function words or question mark, and
    sometimes its words in another order ("how many people left chechnya" -> "people left chechnya").

    Not `qa.eval.sentence_choice.keyword_style` on purpose: the evaluation rewrites questions its
    own way (other words dropped, neighbours swapped), so that its keyword-style figures are of a
    style the model never trained on."""
    kept = [w for w in re.findall(r"[\w'-]+", question.lower()) if w not in _FUNCTION_WORDS]
    if len(kept) > 2 and rng.random() < 0.5:
        cut = rng.randrange(1, len(kept))
        kept = kept[cut:] + kept[:cut]
    return " ".join(kept) or question.lower()


_FUNCTION_WORDS = frozenset("a an the of in on at to for by with from is are was were be been did do does "
                            "what which who whom whose when where why how that this these those "
                            "as and or its it".split())


# --- search-engine questions over article summaries (bench/search_questions) ---------------------
def asked_of(question_id: str) -> str:
    """The paragraph a search-engine question is asked of: the first of the article its id names
    ("Steam_engine-3" is asked of "Steam_engine#0"), whether or not it answers."""
    return question_id.rsplit("-", 1)[0] + "#0"


def held_out_articles(bench: Path) -> set[str]:
    """The SQuAD 1.1 dev articles that `train_articles.txt` does not list: for reporting only."""
    with open(bench / "squad-v1.1-dev" / "corpus.jsonl", encoding="utf-8") as lines:
        return {json.loads(line)["_id"].split("#")[0] for line in lines if line.strip()} - set(train_articles(bench))


def summaries(bench: Path, doc_ids: set[str]) -> list[dict]:
    """The first paragraphs named ("<article>#0"), as corpus records: of the SQuAD dev articles
    from its corpus, of the training articles from the training set."""
    found = {}
    with open(bench / "squad-v1.1-dev" / "corpus.jsonl", encoding="utf-8") as lines:
        for line in lines:
            if line.strip() and (doc := json.loads(line))["_id"] in doc_ids:
                found[doc["_id"]] = doc
    if doc_ids - set(found):
        for article in squad_train_articles(bench):
            if (doc_id := article["title"] + "#0") in doc_ids:
                found[doc_id] = {"_id": doc_id, "title": article["title"].replace("_", " "),
                                 "text": article["paragraphs"][0]["context"]}
    if missing := doc_ids - set(found):
        raise ValueError(f"no such SQuAD article: {', '.join(sorted(missing))}")
    return list(found.values())


def marked_summaries(bench: Path, questions: list, source: Path) -> dict[str, tuple[str, list[tuple[int, int]]]]:
    """The text and sentences (`sentence_spans`) of each summary that `questions` (of the file
    `source`) are asked of; a mark that is not one whole sentence of its summary is refused."""
    texts = {doc["_id"]: doc["text"] for doc in summaries(bench, {asked_of(q.id) for q in questions})}
    found = {doc_id: (text, sentence_spans(text)) for doc_id, text in texts.items()}
    for q in questions:
        if {(e.start, e.end) for e in q.evidence} - set(found[asked_of(q.id)][1]):
            raise ValueError(f"{source}: {q.id} marks a span that is not one whole sentence of {asked_of(q.id)}")
    return found


def search_pairs(bench: Path, path: Path) -> list[Pair]:
    """Every sentence of the summary each search-engine question of `path` is asked of, with the
    question: a positive where the annotators marked it, a negative otherwise (every sentence, for
    a question the summary does not answer). A file that asks of a held-out article, or of one kept
    out to choose thresholds or report abstention, is refused, as is a mark that is not one whole
    sentence as `sentence_spans` splits the summary."""
    from qa.eval.gold import read_gold

    questions = read_gold(path)
    kept_out = held_out_articles(bench) | set(ABSTAIN_REPORT) | set(THRESHOLD_TUNE)
    if named := sorted({asked_of(q.id).split("#")[0] for q in questions} & kept_out):
        raise ValueError(f"{path} asks of articles that training must not read: {', '.join(named)}")
    summaries_asked = marked_summaries(bench, questions, path)
    pairs = []
    for q in questions:
        doc_id = asked_of(q.id)
        text, spans = summaries_asked[doc_id]
        marked = {(e.start, e.end) for e in q.evidence}
        pairs += [Pair(q.question, text[start:end], int((start, end) in marked), "question",
                       "search:" + doc_id, "s" + q.id) for start, end in spans]
    return pairs


def keyword_pairs(pairs: list[Pair], share: float, seed: int = 13) -> list[Pair]:
    """The question pairs of `share` of the questions again, each question in keyword style."""
    rng = random.Random(seed)
    chosen = {qid for qid in sorted({p.qid for p in pairs if p.kind == "question"}) if rng.random() < share}
    rewritten: dict[str, str] = {}
    out = []
    for p in pairs:
        if p.qid in chosen:
            rewritten.setdefault(p.qid, keyword_style(p.first, rng))
            out.append(Pair(rewritten[p.qid], p.second, p.label, p.kind, p.group, "k" + p.qid))
    return out


def snli_pairs(bench: Path, count: int, seed: int = 13) -> list[Pair]:
    """SNLI pairs as claims: the hypothesis is the claim, the premise its evidence; only an
    entailed hypothesis is supported (a neutral one adds what the premise does not say)."""
    lines = (bench / "snli-dev-test" / "snli-dev-test.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    records = [r for r in records if r["label"] in ("entailment", "neutral", "contradiction")]
    random.Random(seed).shuffle(records)
    return [Pair(r["hypothesis"].strip(), r["premise"].strip(), int(r["label"] == "entailment"), "claim", "snli",
                 f"snli{i}") for i, r in enumerate(records[:count])]


NON_QUESTIONS = (
    "hello", "hi", "hey there", "hi!", "good morning", "thanks", "thank you!", "thanks a lot", "ok", "okay",
    "bye", "cool", "great, thanks", "?", "??", "...", "yes", "no", "test", "lol", "hmm", "how are you?",
    "what's up", "who are you?", "can you help me?", "tell me something", "help", "sure",
)


def non_question_pairs(questions: list[SquadQuestion], count: int, seed: int = 13) -> list[Pair]:
    """Greetings, thanks, keyboard mashing and questions of another article, each against a
    sentence: none is answered by it. Without them a question-reading model learns that every
    pair it is shown is about the same thing, and gives "hello" a high probability."""
    rng = random.Random(seed)
    sentences = [t for q in questions[: 4 * count] for _, _, t in _sentences(q.context)]
    pairs = []
    for i in range(count):
        sentence = rng.choice(sentences)
        kind = i % 3
        if kind == 0:
            first = rng.choice(NON_QUESTIONS)
        elif kind == 1:
            first = " ".join("".join(rng.choice("qwertyuiopasdfghjklzxcvbnm") for _ in range(rng.randint(2, 8)))
                             for _ in range(rng.randint(1, 4)))
        else:  # a real question, of another article: on a subject, but not this sentence's
            other = rng.choice(questions)
            if other.context and sentence in other.context:
                continue
            first = other.question
        pairs.append(Pair(first, sentence, 0, "question", "nonsense", f"n{i}"))
    return pairs

"""Which sentence the answer quotes first, against the nearest sentence by cosine, in four sets.

    python bench/sentence_choice.py ../shared/bench                  # the table (a few minutes)
    python bench/sentence_choice.py ../shared/bench --diagnose       # and where the answering sentence is lost
    python bench/sentence_choice.py ../shared/bench --model-dir DIR  # another support model (and its second reader)
    python bench/sentence_choice.py ../shared/bench --fitting        # the same of the fitting articles: to find faults
    python bench/sentence_choice.py ../shared/bench --precision fp32 # the models in torch's fp32, not int8

"Ours" is the share of answerable questions whose answer's first citation overlaps a gold evidence
span (an abstention is a miss); "cosine" is the share for which the retrieved sentence nearest the
question by the bundled embedder's cosine does (`qa.eval.sentence_choice`, as `qa eval` reports
them). The sets:

- sample: the answerable questions of eval/gold_sample.jsonl over docs_corpus/, asked as the app
  asks them (no filter);
- SQuAD held-out: `--squad` questions of the SQuAD 1.1 dev articles that train_articles.txt does
  not list (never fitted on), evenly spread, each asked with `filters.doc_ids` set to its own
  paragraph so that only the choice of sentence is measured; only those paragraphs are indexed,
  into a temporary index. The evidence is every occurrence of an annotator's answer in the
  sentences known to hold it (`pin`): the files' offsets are first occurrences, so where an
  answer's text occurs in two sentences no offset says which one was marked, and a question
  none of whose answers pins a sentence is left out (the table says how many are scored);
- search-engine questions (`--search-questions`, by default
  bench/search_questions/held_out.jsonl): questions written from an article's title alone, as
  people type them into a search engine ("when was super bowl 50"), each asked of the first
  paragraph of its article (the held-out SQuAD dev articles' summaries), which answers some of
  them; the answerable ones are scored, the rest count among what the bar declines (see
  bench/search_questions/README.md);
- each again in keyword style (`keyword_style`: lower case, function words dropped, word order
  partly shuffled, seed `--seed`), and in its own words with one slip of the fingers in one of its
  longer words (`misspelt`, the same seed).

What the bar declines is measured too: the first `--unanswerable` held-out questions asked of
another paragraph of their article, which does not hold the answer; of a paragraph of another
held-out article (the own paragraph of another question, so the corpus is the same); and of their
own paragraph with the one name they ask about swapped for a name of another article
(`swapped_name`); the share declined at the bar for named documents (`named_threshold`) and at the
whole corpus's. And the false answers: the first `--unanswerable` held-out questions with a name
that their answering sentence gives swapped for one that their paragraph gives elsewhere
(`swapped_within`), asked of that paragraph; the share that quotes the sentence that answered
before the swap.

Each question is asked once with abstention off; its first citation is the answer rule's first
sentence, and the product quotes it when the answer's support reaches the threshold the product
applies to that question (`Assistant.abstain_below_for`, as `extractive.pick` does), so "ours"
and "ours, abstention off" come from the same call.
`--fitting` asks the SQuAD questions of the articles that train_articles.txt lists, and the
fitting search-engine questions, instead of the held-out ones: the place to look for what goes
wrong, and to choose, without reading the held-out questions. `--json` keeps each question as
asked, the sentence quoted first and its support beside the outcome.
`--diagnose` also scores every candidate sentence (the support model reads them all, not only
the shortlist) to show at which step the answering sentence is lost.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.documents import Span  # noqa: E402
from index.settings import PRECISIONS  # noqa: E402
from index.sentences import sentence_spans  # noqa: E402
from qa import extractive  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.consistency import Context, names  # noqa: E402
from qa.eval import metrics  # noqa: E402
from qa.eval.gold import Evidence, GoldQuestion, locate, read_gold  # noqa: E402
from qa.eval.sentence_choice import first_sentence_hits, keyword_style, misspelt  # noqa: E402
from qa.filters import Filters  # noqa: E402
from qa.service import Assistant  # noqa: E402
from qa.support import SupportModel, SupportSettings  # noqa: E402
from training.support_data import (answer_sentences, asked_of, held_out_articles, marked_summaries,  # noqa: E402
                                   summaries, train_articles)

SAMPLE_GOLD = ROOT / "eval" / "gold_sample.jsonl"
SAMPLE_CORPUS = ROOT / "docs_corpus"
SEARCH_QUESTIONS = ROOT / "bench" / "search_questions" / "held_out.jsonl"
FITTING_SEARCH_QUESTIONS = ROOT / "bench" / "search_questions" / "fitting.jsonl"


@dataclass
class Outcome:
    ours: float  # the first citation overlaps the evidence, as the product answers
    unabstained: float  # the same with abstention off: the answer rule's first sentence
    cosine: float  # the nearest sentence by cosine overlaps the evidence
    abstained: bool
    latency_ms: float
    question: str = ""  # as asked
    quoted: str = ""  # the answer rule's first sentence (quoted unless abstained)
    support: float = 0.0  # the answer's support
    threshold: float = 0.0  # the bar it is held to
    diagnosis: dict | None = None


def spread(items: list, n: int) -> list:
    """`n` items evenly spread over the list, in order."""
    return list(items) if n >= len(items) else [items[i * len(items) // n] for i in range(n)]


def squad_set(bench: Path, count: int, folder: Path, also: set[str] = frozenset(),
              fitting: bool = False) -> tuple[list[GoldQuestion], dict[str, str], Path]:
    """`count` questions of the held-out articles (with `fitting`, of the articles that
    train_articles.txt lists instead); for each, another paragraph of its article (seeded); and a
    corpus file of only the paragraphs these name, then those `also` names (the summaries that
    search-engine questions are asked of, `summaries`) that it does not hold yet."""
    squad = bench / "squad-v1.1-dev"
    articles = set(train_articles(bench)) if fitting else held_out_articles(bench)
    questions = [q for q in read_gold(squad / "gold.jsonl")
                 if q.evidence and q.evidence[0].doc_id.split("#")[0] in articles]
    questions = spread(questions, count)
    paragraphs: dict[str, list[str]] = {}
    with open(squad / "corpus.jsonl", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                doc_id = json.loads(line)["_id"]
                paragraphs.setdefault(doc_id.split("#")[0], []).append(doc_id)
    rng = random.Random(5)
    others = {q.id: rng.choice([p for p in paragraphs[q.evidence[0].doc_id.split("#")[0]] if p != q.evidence[0].doc_id])
              for q in questions}
    wanted = {q.evidence[0].doc_id for q in questions} | set(others.values())
    corpus = folder / "paragraphs.jsonl"
    texts = {}
    with open(squad / "corpus.jsonl", encoding="utf-8") as lines, open(corpus, "w", encoding="utf-8") as out:
        for line in lines:
            if line.strip() and (doc := json.loads(line))["_id"] in wanted:
                out.write(line)
                texts[doc["_id"]] = doc["text"]
        out.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in summaries(bench, set(also) - set(texts)))
    pinned = [pin(q, texts[q.evidence[0].doc_id]) for q in questions]
    return [q for q in pinned if q.evidence], others, corpus


def another_article(questions: list[GoldQuestion], seed: int = 7) -> dict[str, str]:
    """For each question, the own paragraph of a question of another article (seeded): asked of it,
    the question is about something else, as "what is the capital of france" is of a news corpus."""
    rng = random.Random(seed)
    paragraphs = sorted({q.evidence[0].doc_id for q in questions})
    elsewhere = {q.id: [p for p in paragraphs if p.split("#")[0] != q.evidence[0].doc_id.split("#")[0]]
                 for q in questions}
    return {qid: rng.choice(found) for qid, found in elsewhere.items() if found}


def swapped_name(questions: list[GoldQuestion], texts: dict[str, str], seed: int = 11) -> dict[str, str]:
    """By question id, each question that names one name, which its own paragraph (of `texts`)
    gives, with that name swapped for one that a paragraph of another article gives and its own
    does not, as the question checks read names (`Context.mentions`): "Who ruled Normandy in
    1066?" becomes "Who ruled Jacksonville in 1066?". Its own paragraph does not answer it now. A
    name to swap in is one that no paragraph writes in lower case ("Tangut", not the "Trust" of
    "National Trust"), of four letters or more (not the "San" of "San Joaquin")."""
    rng = random.Random(seed)
    given = {doc_id: {n for n in names(text) if len(n) > 3} for doc_id, text in texts.items()}
    never_lower = Context.of(list(texts.values())).written_names
    swapped = {}
    for q in questions:
        doc_id = q.evidence[0].doc_id
        own = Context.of([texts[doc_id]])
        asked = set(names(q.question, own.names))
        if len(asked) != 1 or not own.mentions(next(iter(asked))):
            continue
        pool = sorted({n for other, found in given.items() if other.split("#")[0] != doc_id.split("#")[0]
                       for n in found if n.lower() in never_lower and not own.mentions(n)})
        if pool:
            swapped[q.id] = re.sub(rf"\b{re.escape(asked.pop())}\b", rng.choice(pool), q.question)
    return swapped


def swapped_within(questions: list[GoldQuestion], texts: dict[str, str], seed: int = 11) -> dict[str, str]:
    """By question id, each question with a name that its answering sentence gives swapped for a
    name that its own paragraph (of `texts`) gives elsewhere and that sentence does not: "What is
    the capital of Kabardino-Balkaria?" becomes "What is the capital of Russia?" of a paragraph
    that names Russia. The paragraph still names every name asked, so only what the sentence says
    can tell that it no longer answers, and to quote it is a false answer."""
    rng = random.Random(seed)
    swapped = {}
    for q in questions:
        text = texts[q.evidence[0].doc_id]
        own = Context.of([text])
        holding = [text[s:e] for s, e in sentence_spans(text) if s <= q.evidence[0].start < e]
        if not holding:
            continue
        sentence = Context.of(holding)
        asked = [n for n in dict.fromkeys(names(q.question, own.names)) if sentence.mentions(n)]
        pool = sorted({n for n in names(text) if len(n) > 3 and n.lower() in own.written_names
                       and not sentence.mentions(n) and n not in q.question})
        if asked and pool:
            swapped[q.id] = re.sub(rf"\b{re.escape(rng.choice(asked))}\b", rng.choice(pool), q.question, count=1)
    return swapped


def pin(q: GoldQuestion, text: str) -> GoldQuestion:
    """The question with its evidence where the answer is known to be: every place an answer text
    occurs in the sentences that `answer_sentences` pins. gold.jsonl's offset is that of the first
    answer text's first occurrence, which is not always the sentence the annotator marked; none
    when no sentence is known."""
    sentences = [(s, e, text[s:e]) for s, e in sentence_spans(text)]
    doc_id = q.evidence[0].doc_id
    evidence = [Evidence(doc_id, answer, s + found.start(), s + found.end())
                for s, _, sentence in answer_sentences(q.answers, sentences)
                for answer in dict.fromkeys(q.answers) for found in re.finditer(re.escape(answer), sentence)]
    return replace(q, evidence=evidence)


def named_bar(assistant: Assistant) -> float:
    """The bar an answer asked of named documents is held to."""
    return assistant.abstain_below_for(Filters.parse({"doc_ids": ["-"]}))


def supports_of(assistant: Assistant, asked: list[tuple[str, str]]) -> list[float]:
    """The answer's support for each (question, paragraph), asked of that paragraph alone with
    abstention off."""
    answering_all = copy.copy(assistant)
    answering_all.config = assistant.config.with_(abstain_below=0.0)
    return [answering_all.ask(question, filters={"doc_ids": [doc_id]}, mode="extractive").support or 0.0
            for question, doc_id in asked]


def declined_unanswered(assistant: Assistant, questions: list[GoldQuestion]) -> dict:
    """Questions that the paragraph they are asked of does not answer: the share declined at the
    bar for named documents."""
    supports = supports_of(assistant, [(q.question, asked_of(q.id)) for q in questions])
    bar = named_bar(assistant)
    return {"n": len(supports), "named": (bar, float(np.mean([s < bar for s in supports])))}


def declines(assistant: Assistant, questions: list[GoldQuestion], others: dict[str, str]) -> dict:
    """Each question asked of the paragraph `others` names for it, which does not hold its answer
    (`declined`)."""
    return declined(assistant, [(q.question, others[q.id]) for q in questions  # unless that one answers too
                                if q.id in others and not any(metrics.contains(assistant.reader.text(others[q.id]), [a])
                                                              for a in q.answers)])


def declined(assistant: Assistant, asked: list[tuple[str, str]]) -> dict:
    """Each (question, paragraph) that does not answer it, asked of that paragraph: the share
    declined at the bar for named documents, and at the bar for the whole corpus."""
    supports = supports_of(assistant, asked)
    bar, corpus_bar = named_bar(assistant), assistant.abstain_below
    return {"n": len(supports), "named": (bar, float(np.mean([s < bar for s in supports]))),
            "corpus": (corpus_bar, float(np.mean([s < corpus_bar for s in supports])))}


def ask(assistant: Assistant, answering_all: Assistant, q: GoldQuestion, filtered: bool, diagnose: bool) -> Outcome:
    """The product's outcome and, from the same answer (of `answering_all`, which never
    abstains), the one with abstention off."""
    filters = {"doc_ids": [q.evidence[0].doc_id]} if filtered else None
    threshold = assistant.abstain_below_for(Filters.parse(filters))
    began = time.perf_counter()
    answer = answering_all.ask(q.question, list(q.history), filters=filters, mode="extractive")
    latency = (time.perf_counter() - began) * 1000
    unabstained, cosine = first_sentence_hits(answer, q.spans, assistant.reader.text, assistant.embedder.embed)
    abstained = answer.abstained or (answer.support or 0.0) < threshold
    quoted = answer.citations[0].quote if answer.citations else ""
    outcome = Outcome(0.0 if abstained else unabstained, unabstained, cosine, abstained, latency,
                      q.question, quoted, answer.support or 0.0, threshold)
    if diagnose:
        outcome.diagnosis = diagnosis(assistant, q, answer)
    return outcome


def diagnosis(assistant: Assistant, q: GoldQuestion, answer) -> dict:
    """Every candidate sentence of the answer's passages with what each step of the choice sees."""
    texts = {p.doc_id: assistant.reader.text(p.doc_id) for p in answer.passages}
    if not answer.passages:
        return {"candidates": []}
    query = answer.query or q.question
    first = copy.copy(assistant.support_model)
    first.second = None  # every candidate as the first reader scores it, not only what a second reader keeps
    scored = extractive.score_sentences(query, answer.passages, texts, first, shortlist=10**6, asked=q.question)
    vectors = assistant.embedder.embed([query] + [s.text for s in scored])
    cosines = vectors[1:] @ vectors[0]
    return {"candidates": [
        {"prior": extractive.prior(s.features), "cosine": float(c), "rank_score": s.rank_score,
         "features": s.features, "holds": bool(metrics.first_sentence_hit(Span(s.doc_id, s.start, s.end), q.spans))}
        for s, c in zip(scored, cosines)]}


def run_set(name: str, assistant: Assistant, questions: list[GoldQuestion], filtered: bool,
            diagnose: bool) -> list[Outcome]:
    assistant.ask(questions[0].question, filters={"doc_ids": [questions[0].evidence[0].doc_id]} if filtered else None)
    answering_all = copy.copy(assistant)  # the same index and models, abstention off
    answering_all.config = assistant.config.with_(abstain_below=0.0)
    outcomes = []
    for i, q in enumerate(questions, start=1):
        outcomes.append(ask(assistant, answering_all, q, filtered, diagnose))
        if i % 100 == 0:
            print(f"  {name}: {i}/{len(questions)}", file=sys.stderr, flush=True)
    return outcomes


def latency(assistant: Assistant, questions: list[GoldQuestion], settings_file: Path, passes: int = 3) -> str:
    """Warm `ask` on the sample questions with the shipped settings and with those of
    `settings_file` (an earlier answer rule and thresholds; the same model weights), taking turns
    question by question so that both see the same load."""
    model = assistant.support_model
    settings = SupportSettings.read(settings_file)
    reads = settings.answer_rule is not None and "reader" in settings.answer_rule.weights
    earlier = SupportModel(model._logits, model._tokenizer, settings, model.precision,
                           span_reader=model.span_reader if reads else None)
    systems = {"shipped": assistant, settings_file.name: Assistant(assistant.config, embedder=assistant.embedder,
                                                                   support=earlier)}
    times: dict[str, list[float]] = {name: [] for name in systems}
    for a in systems.values():
        a.ask(questions[0].question)
    for _ in range(passes):
        for q in questions:
            for name, a in systems.items():
                began = time.perf_counter()
                a.ask(q.question, list(q.history), mode="extractive")
                times[name].append((time.perf_counter() - began) * 1000)
    return "\n".join(f"| {name} | {len(t)} | {np.percentile(t, 50):.1f} | {np.percentile(t, 95):.1f} |"
                     for name, t in times.items())


def row(name: str, outcomes: list[Outcome]) -> str:
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    ours, cosine = mean([o.ours for o in outcomes]), mean([o.cosine for o in outcomes])
    cells = [f"{len(outcomes)}", f"{ours:.3f}", f"{cosine:.3f}", f"{ours - cosine:+.3f}",
             f"{mean([o.unabstained for o in outcomes]):.3f}", f"{mean([o.abstained for o in outcomes]):.3f}",
             f"{np.percentile([o.latency_ms for o in outcomes], 50):.0f}"]
    return f"| {name} | " + " | ".join(cells) + " |"


HEADER = ("| set | questions | ours | cosine | ours − cosine | ours, abstention off | abstained | ask p50 ms |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def stages(name: str, outcomes: list[Outcome], shortlist: int) -> str:
    """Where the answering sentence is lost, step by step, over the questions of one set."""
    rows = [o.diagnosis["candidates"] for o in outcomes]
    n = len(rows)

    def share(test) -> str:
        return f"{sum(bool(c) and test(c) for c in rows) / n:.3f}"

    def first_by(key, within=None):
        def test(candidates):
            pool = sorted(candidates, key=lambda c: -c["prior"])[:within] if within else candidates
            return max(pool, key=key)["holds"]  # the first of equals, as the sorts are stable
        return test

    rule = lambda c: c["rank_score"]  # noqa: E731
    cells = [
        share(lambda c: any(x["holds"] for x in c)),
        share(lambda c: any(x["holds"] for x in sorted(c, key=lambda x: -x["prior"])[:shortlist])),
        share(first_by(rule, shortlist)),
        share(first_by(lambda c: c["features"]["probability"], shortlist)),
        share(first_by(rule)),
        share(first_by(lambda c: c["features"]["probability"])),
        share(first_by(lambda c: c["cosine"])),
        f"{sum(o.ours for o in outcomes) / n:.3f}",
        f"{np.mean([len(c) for c in rows]):.1f}",
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


STAGES_HEADER = (
    "| set | in the passages | in the shortlist | rule first (shortlist) | model first (shortlist) | "
    "rule first (all) | model first (all) | cosine first (all) | quoted first (threshold) | candidates |\n"
    "| --- |" + " ---: |" * 9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, help="the benchmark folder (squad-v1.1-dev, squad-v2.0-dev-train)")
    parser.add_argument("--squad", type=int, default=300, help="SQuAD questions, held out or, with --fitting, not "
                        "(default 300)")
    parser.add_argument("--seed", type=int, default=0, help="the keyword rewrite's and the slips' seed")
    parser.add_argument("--unanswerable", type=int, default=150,
                        help="of those, how many are also asked of another paragraph (default 150)")
    parser.add_argument("--fitting", action="store_true",
                        help="ask the questions of the articles that train_articles.txt lists, and the fitting "
                             "search-engine questions, instead of the held-out ones: where to look for faults")
    parser.add_argument("--search-questions", type=Path, metavar="GOLD",
                        help="search-engine questions, each asked of its article's first paragraph (default: "
                             "the held-out set; bench/search_questions/fitting.jsonl with --fitting)")
    parser.add_argument("--diagnose", action="store_true", help="also show where the answering sentence is lost")
    parser.add_argument("--json", type=Path, help="write every question's outcome here")
    parser.add_argument("--model-dir", type=Path,
                        help="the support model to test, with any second reader beside it (default: the shipped one)")
    parser.add_argument("--precision", choices=PRECISIONS, default="int8",
                        help="the support model's and span reader's (default int8, as the product runs them)")
    parser.add_argument("--latency-against", type=Path, metavar="SETTINGS",
                        help="also time warm `ask` on the sample questions against an earlier settings.json")
    args = parser.parse_args(argv)
    args.search_questions = args.search_questions or (FITTING_SEARCH_QUESTIONS if args.fitting else SEARCH_QUESTIONS)
    held = "SQuAD fitting" if args.fitting else "SQuAD held-out"
    command = "python bench/sentence_choice.py " + shlex.join(sys.argv[1:] if argv is None else argv)

    with tempfile.TemporaryDirectory() as work:
        model = SupportModel.load(args.model_dir, args.precision) if args.model_dir else None
        sample = Assistant(Config(index_dir=Path(work) / "sample", corpus_dir=SAMPLE_CORPUS, mode="extractive",
                                  support_precision=args.precision), support=model)
        sample.ingest()
        gold = [q for q in locate(read_gold(SAMPLE_GOLD), sample.reader.text) if q.answerable and q.spans]
        searched = read_gold(args.search_questions)
        marked_summaries(args.bench, searched, args.search_questions)  # each mark one whole sentence, as split now
        if len({q.answerable for q in searched}) < 2:
            parser.error(f"{args.search_questions} needs questions both answered and not by their summary")
        squad_questions, others, corpus = squad_set(args.bench, args.squad, Path(work),
                                                    also={asked_of(q.id) for q in searched}, fitting=args.fitting)
        squad = Assistant(Config(index_dir=Path(work) / "squad", mode="extractive", support_precision=args.precision),
                          embedder=sample.embedder, support=sample.support_model)
        squad.ingest([corpus])
        squad_questions = locate(squad_questions, squad.reader.text)
        searched = locate(searched, squad.reader.text)
        search_name = f"search-engine questions, {args.search_questions.stem.replace('_', ' ')}"

        def keyword(questions: list[GoldQuestion]) -> list[GoldQuestion]:
            return [replace(q, question=keyword_style(q.question, args.seed)) for q in questions]

        def slipped(questions: list[GoldQuestion]) -> list[GoldQuestion]:
            return [replace(q, question=misspelt(q.question, args.seed)) for q in questions]

        sets = [("sample", sample, gold, False),
                ("sample, keyword style", sample, keyword(gold), False),
                (f"{held}, own paragraph", squad, squad_questions, True),
                (f"{held}, own paragraph, keyword style", squad, keyword(squad_questions), True),
                ("sample, misspelt", sample, slipped(gold), False),
                (f"{held}, own paragraph, misspelt", squad, slipped(squad_questions), True),
                (search_name, squad, [q for q in searched if q.answerable], True)]
        results = {}
        for name, assistant, questions, filtered in sets:
            began = time.perf_counter()
            results[name] = run_set(name, assistant, questions, filtered, args.diagnose)
            print(f"{name}: {len(questions)} questions in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        timed = latency(sample, [q for q in read_gold(SAMPLE_GOLD)], args.latency_against) \
            if args.latency_against else None
        strangers = another_article(squad_questions)
        asked_elsewhere = {(style, where): declines(squad, chosen[: args.unanswerable], paragraphs)
                           for where, paragraphs in (("another paragraph", others), ("another article", strangers))
                           for style, chosen in (("own words", squad_questions),
                                                 ("keyword style", keyword(squad_questions)),
                                                 ("misspelt", slipped(squad_questions)))}
        swaps = swapped_name(squad_questions, {q.evidence[0].doc_id: squad.reader.text(q.evidence[0].doc_id)
                                               for q in squad_questions})
        swapped = [replace(q, question=swaps[q.id]) for q in squad_questions[: args.unanswerable] if q.id in swaps]
        for style, chosen in (("own words", swapped), ("keyword style", keyword(swapped))):
            asked_elsewhere[(style, "its own, a name swapped")] = declined(
                squad, [(q.question, q.evidence[0].doc_id) for q in chosen])
        unanswered = declined_unanswered(squad, [q for q in searched if not q.answerable])
        first = squad_questions[: args.unanswerable]
        inside = swapped_within(first, {q.evidence[0].doc_id: squad.reader.text(q.evidence[0].doc_id) for q in first})
        moved = [replace(q, question=inside[q.id]) for q in first if q.id in inside]
        false_answers = {style: run_set(f"a name swapped within, {style}", squad, chosen, True, False)
                         for style, chosen in (("own words", moved), ("keyword style", keyword(moved))) if chosen}

    print(f"```\n{command}\n```\n")
    print(f"{held}: of {args.squad} questions, {len(squad_questions)} whose answering sentence is known "
          "are scored (`pin`).\n")
    print(HEADER)
    for name, outcomes in results.items():
        print(row(name, outcomes))
    print(f"\nWhat the bar for named documents costs: the {held} questions asked of another paragraph "
          "of their article, of another article, or of their own with the one name they ask about swapped for "
          "another article's (`swapped_name`), which does not hold the answer (share declined):\n")
    print("| questions | asked of | n | declined at the named-document bar | at the whole-corpus bar |\n"
          "| --- | --- | ---: | ---: | ---: |")
    for (style, where), found in asked_elsewhere.items():
        (bar, named), (corpus_bar, whole) = found["named"], found["corpus"]
        print(f"| {held}, {style} | {where} | {found['n']} | {named:.3f} ({bar}) "
              f"| {whole:.3f} ({corpus_bar}) |")
    bar, named = unanswered["named"]
    print(f"\nOf the {search_name}, those that their summary does not answer ({unanswered['n']}), asked of it: "
          f"declined {named:.3f} at the named-document bar ({bar}).")
    print(f"\nThe {held} questions with a name that their answering sentence gives swapped for another that "
          "their paragraph gives elsewhere (`swapped_within`), asked of that paragraph: the share answered with "
          "the sentence that answered before the swap (a false answer), and the share declined:\n")
    print("| questions | n | quoted the sentence that answered before | declined |\n| --- | ---: | ---: | ---: |")
    for style, outcomes in false_answers.items():
        print(f"| {held}, {style} | {len(outcomes)} | {np.mean([o.ours for o in outcomes]):.3f} "
              f"| {np.mean([o.abstained for o in outcomes]):.3f} |")
    if timed:
        print("\nWarm `ask` on the sample corpus (eval/gold_sample.jsonl, three passes, taking turns):\n")
        print("| settings | asks | p50 ms | p95 ms |\n| --- | ---: | ---: | ---: |\n" + timed)
    if args.diagnose:
        print("\nWhere the answering sentence is lost (share of answerable questions):\n")
        print(STAGES_HEADER)
        for name, outcomes in results.items():
            print(stages(name, outcomes, extractive.SHORTLIST))
    if args.json:
        within = {f"a name swapped within, {style}": outcomes for style, outcomes in false_answers.items()}
        args.json.write_text(json.dumps({name: [o.__dict__ for o in outcomes]
                                         for name, outcomes in {**results, **within}.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

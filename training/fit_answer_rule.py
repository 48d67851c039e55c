"""Fit the answer rule, which orders an extractive shortlist and decides whether to answer, and its bar.

    python training/fit_answer_rule.py ../shared/bench            # fit, report, write settings.json
    python training/fit_answer_rule.py ../shared/bench --dry-run  # fit and report only
    python training/fit_answer_rule.py ../shared/bench --other-reader DIR  # and beside it, the span reader in DIR

The trained support model reads a question with each sentence of the extractive shortlist. Its
probability is one signal; the cheap ones that chose the shortlist (question terms covered, the
kind of answer, phrases, passage rank) are others, and so is the span reader's score of each
sentence where the model's settings name a span reader (`qa.span_reader`). This fits a logistic regression over all of
them to the label "this sentence holds a gold answer". The rule chooses the sentence, and its
probability for that sentence decides whether to answer at all, against a threshold.

Data (nothing of the 18 held-out SQuAD 1.1 dev articles; `collect`): a corpus of every paragraph
of the training articles of SQuAD 1.1 dev and of 25 SQuAD 1.1 train articles, and two sets of
questions, each asked as the product gets it (hybrid retrieval over that corpus, top 5), and
with `filters.doc_ids` set to its own paragraph (a "named document"), each in its own words and
rewritten in keyword style (`qa.eval.sentence_choice.keyword_style`), as search boxes get them:
- the SQuAD 2.0 questions of the THRESHOLD_TUNE articles, training articles the model never
  trained on; 42% are unanswerable, written to look answerable;
- 300 SQuAD 1.1 train questions (the model never read that set), and the same questions asked of
  another paragraph of their article: unanswerable the way a user's question is when the document
  named does not hold its answer.
The support model's answers are cached per model, so refitting is quick.

With `--other-reader DIR`, the shortlist is also read by the span reader in DIR, in the same pass,
and the report is made twice: with the model's own span reader and with that one, each fitted
anew. Nothing is written to settings.json then; the pool with the other reader's scores is cached
as that of the model with DIR as its span reader, so that once DIR is shipped in its place, the
fit that writes its rule reads the cache.

Two settings come out of it:
- the answer rule, fitted on every candidate of every question above (leave-one-article-out
  figures say how much survives a new article);
- the bar under which an answer declines (`answer_threshold`, and `named_threshold` for a
  question asked of named documents, the same): the lowest at which, in each style, at least
  DECLINED_ELSEWHERE of the SQuAD train questions asked of another paragraph of their article
  are declined. Asked of a text that does not hold the answer, the product should say so; the
  lowest such bar declines the fewest questions that the text does answer. SQuAD 2.0's
  unanswerable questions, written to be answered by a sentence about something else, are told
  from answerable ones little better than by chance by any score here (the AUCs printed), so they
  do not choose the bar; the table shows what each bar declines of them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import extractive  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.eval import metrics  # noqa: E402
from qa.eval.sentence_choice import keyword_style  # noqa: E402
from qa.service import Assistant  # noqa: E402
from qa.support import MODEL_DIR, SETTINGS, WEIGHTS, Rule, SupportModel  # noqa: E402
from training.measures import auc  # noqa: E402
from training.support_data import (THRESHOLD_TUNE, SquadQuestion, squad_questions,  # noqa: E402
                                   squad_train_articles, train_articles)

FEATURES = ("probability", "lexical", "kind", "phrase", "rank")
READER = "reader"  # the span reader's score, where the model's settings name one
OTHER_READER = "other reader"  # the score of the span reader compared with it (`--other-reader`)
COSINE = "cosine"  # measured beside the rule, not in it: see `compare_cosine`
L2 = 1.0  # ridge on the weights (not the bias): thousands of candidates, a few weights
TRAIN_QUESTIONS = 300  # SQuAD 1.1 train questions, 12 from each of 25 articles
POOL_PRIOR, POOL_COSINE = 12, 4  # candidates the model reads per question: the cheap signals' best, the cosine's
KEYWORD_SEED = 1  # the keyword rewrite of these questions (bench/sentence_choice.py reports with seed 0)
# Change it when `pool` or its sentences change.
POOL_RECIPE = "4: No. before a number, lit. before a quote, tr. in its bracket, cf., viz., a.k.a. end no sentence"
DECLINED_ELSEWHERE = 0.88  # of questions asked of a paragraph without their answer, in each style
STYLES = ("question", "keyword")


# --- the data -------------------------------------------------------------------------------------
def fitting_questions(bench: Path, count: int, seed: int = 13) -> tuple[list[tuple[SquadQuestion, str]], list[dict]]:
    """`count` questions of SQuAD 1.1 train (no development article), spread over `count // 12`
    articles drawn at random, each with its paragraph's id, and those articles' paragraphs as
    corpus records ("train:<title>#<i>")."""
    data = squad_train_articles(bench)
    rng = random.Random(seed)
    articles = rng.sample(data, max(1, count // 12))
    questions, records = [], []
    for article in articles:
        found = []
        for i, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"train:{article['title']}#{i}"
            records.append({"_id": doc_id, "title": article["title"].replace("_", " "), "text": paragraph["context"]})
            found += [(SquadQuestion(qa["id"], "train:" + article["title"], qa["question"], paragraph["context"],
                                     tuple(a["text"] for a in qa["answers"]), tuple(a["answer_start"] for a in qa["answers"])),
                       doc_id) for qa in paragraph["qas"]]
        questions += rng.sample(found, min(len(found), count // len(articles)))
    return questions, records


class CachedEmbedder:
    """The embedder, remembering every text it embedded: the same sentences come back question after question."""

    def __init__(self, inner):
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts):
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing)))
        return np.stack([self._vectors[t] for t in texts]) if texts else self.inner.embed(texts)


def collect(bench: Path, work: Path, model: SupportModel, other_reader=None) -> list[dict]:
    """One row per question, setting and style: the candidates the model read, with their signals
    and whether each holds a gold answer (and the span reader `other_reader`'s scores, when given)."""
    from index.embedding import load_embedder
    from tqdm import tqdm

    allowed = set(train_articles(bench))
    train_questions, records = fitting_questions(bench, TRAIN_QUESTIONS)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "fitting-corpus.jsonl"
    paragraph_of: dict[str, str] = {}
    with open(bench / "squad-v1.1-dev" / "corpus.jsonl", encoding="utf-8") as lines, \
            open(corpus, "w", encoding="utf-8") as out:
        for line in lines:
            record = json.loads(line) if line.strip() else None
            if record and record["_id"].split("#")[0] in allowed:
                out.write(line)
                paragraph_of[record["text"]] = record["_id"]
        out.writelines(json.dumps(r) + "\n" for r in records)
    embedder = CachedEmbedder(load_embedder())
    assistant = Assistant(Config(index_dir=work / "fitting-index", mode="extractive"), embedder=embedder, support=model)
    report = assistant.ingest([corpus], progress=True)
    print(f"fitting corpus: {report.documents} documents, {report.chunks} chunks", file=sys.stderr)

    rng = random.Random(5)
    paragraphs: dict[str, list[str]] = {}
    for r in records:
        paragraphs.setdefault(r["_id"].rsplit("#", 1)[0], []).append(r["_id"])
    asked = [("tune", q, paragraph_of[q.context], None) for q in squad_questions(bench) if q.article in THRESHOLD_TUNE]
    asked += [("squad-train", q, paragraph, rng.choice([p for p in paragraphs[paragraph.rsplit("#", 1)[0]]
                                                          if p != paragraph]))
              for q, paragraph in train_questions]
    rows = []
    for group, q, paragraph, other in tqdm(asked, desc="fitting questions", mininterval=10):
        settings = [("open", None), ("named", paragraph)] + ([("other paragraph", other)] if other else [])
        for setting, doc_id in settings:
            for style in STYLES:
                text = q.question if style == "question" else keyword_style(q.question, KEYWORD_SEED)
                answers = list(q.answers)
                row = pool(assistant, embedder, model, text, answers, {"doc_ids": [doc_id]} if doc_id else None,
                           other_reader)
                # Asked of another paragraph, a question is unanswerable unless that one holds the answer too.
                answerable = bool(answers) and (setting != "other paragraph" or row["anywhere"])
                rows.append({"group": group, "article": q.article, "setting": setting, "style": style,
                             "answerable": answerable, **row})
    return rows


def pool(assistant: Assistant, embedder, model: SupportModel, question: str, answers: list[str],
         filters: dict | None, other_reader=None) -> dict:
    """What the signals and the model say of one question's candidates: the POOL_PRIOR that the
    cheap signals rank highest (the shortlist is their prefix) and the POOL_COSINE nearest by
    cosine; and what the model's span reader and `other_reader` give the shortlisted ones."""
    passages = assistant.search(question, filters=filters)
    texts = {p.doc_id: assistant.reader.text(p.doc_id) for p in passages}
    found = extractive.signals(question, passages, texts, embed=embedder.embed)
    holds = lambda c: bool(answers) and bool(metrics.contains(c.text, answers))  # noqa: E731
    chosen = extractive.shortlisted(found, POOL_PRIOR)
    chosen += [c for c in sorted(found, key=lambda c: -c.features[COSINE])[:POOL_COSINE] if c not in chosen]
    scored = {(s.doc_id, s.start): s for s in extractive.read(question, chosen, model, texts=texts)}
    # A reader's score depends on the stretch read: the shortlist's is the product's.
    product = extractive.shortlisted(found)
    for name, reader in ((READER, model.span_reader), (OTHER_READER, other_reader)):
        if reader:
            for c, score in zip(product, extractive.reader_scores(reader, question, product, texts)):
                scored[(c.passage.doc_id, c.start)].features[name] = score
    return {"candidates": len(found), "anywhere": any(holds(c) for c in found),
            "pool": [{"features": scored[(c.passage.doc_id, c.start)].features, "holds": holds(c)} for c in chosen]}


def cache_file(model_dir: Path, name: str, span_reader: Path | None = None) -> Path:
    """Where what one model says of the fitting data is kept: named by a digest of its weights and
    its span reader's (the one its settings name, or `span_reader`), so that another model never
    reads it."""
    digest = hashlib.sha256(POOL_RECIPE.encode() + (model_dir / WEIGHTS).read_bytes())
    spans = json.loads((model_dir / SETTINGS).read_text(encoding="utf-8")).get("span_reader")
    if span_reader or spans:
        digest.update(((span_reader or model_dir.parent / spans) / WEIGHTS).read_bytes())
    digest = digest.hexdigest()[:12]
    return Path(".qa_index") / f"{name}-{digest}.json"


def split_readers(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The rows as the model's own span reader scores them, and as the other reader does (its
    score in the place of the model's reader's)."""
    def keeping(name: str) -> list[dict]:
        out = []
        for r in rows:
            pool = []
            for c in r["pool"]:
                features = {k: v for k, v in c["features"].items() if k not in (READER, OTHER_READER)}
                if name in c["features"]:
                    features[READER] = c["features"][name]
                pool.append({**c, "features": features})
            out.append({**r, "pool": pool})
        return out

    return keeping(READER), keeping(OTHER_READER)


# --- the rule -------------------------------------------------------------------------------------
def shortlist(row: dict, size: int) -> list[dict]:
    """The candidates the product's shortlist holds: the cheap signals' best `size`."""
    return sorted(row["pool"], key=lambda c: -extractive.prior(c["features"]))[:size]


def design(candidates: list[dict], features: tuple[str, ...] = FEATURES) -> np.ndarray:
    x = []
    for c in candidates:
        p = min(max(c["features"]["probability"], 1e-6), 1 - 1e-6)
        x.append([np.log(p / (1 - p))] + [c["features"][k] for k in features[1:]])
    return np.asarray(x, dtype=np.float64)


def logistic(x: np.ndarray, y: np.ndarray, ridge: float = L2) -> tuple[np.ndarray, float]:
    """Weights and bias of a logistic regression, by Newton's method, with a ridge on the weights."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    penalty = np.diag([ridge] * (x.shape[1] - 1) + [0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + penalty, x.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def fit(rows: list[dict], size: int, features: tuple[str, ...] = FEATURES) -> Rule:
    """The rule over every shortlisted candidate of every question."""
    candidates = [c for r in rows for c in shortlist(r, size)]
    weights, bias = logistic(design(candidates, features), np.asarray([c["holds"] for c in candidates], dtype=np.float64))
    return Rule({name: round(float(v), 4) for name, v in zip(features, weights)}, round(bias, 4))


def model_only() -> Rule:
    """The model's probability alone, as before the rule."""
    return Rule({"probability": 1.0}, 0.0)


def best_probability(row: dict, size: int) -> float:
    """The best probability the model gives a shortlisted sentence (what decided before the rule did)."""
    return max((c["features"]["probability"] for c in shortlist(row, size)), default=0.0)


def answer_score(row: dict, rule: Rule, size: int) -> float:
    """What decides whether to answer: the rule's probability for its first shortlisted sentence.
    The product first drops sentences that conflict with the question or lack the number or date
    it asks for (`extractive.pick`), which the pool does not record: its score can only be lower."""
    return max((rule.probability(c["features"]) for c in shortlist(row, size)), default=0.0)


def rule_first(row: dict, rule: Rule, size: int) -> bool:
    """Whether the sentence the rule ranks first holds a gold answer (the first of equals, as the product)."""
    candidates = shortlist(row, size)
    return bool(candidates) and max(candidates, key=lambda c: rule.probability(c["features"]))["holds"]


def cosine_first(row: dict) -> bool:
    """Whether the candidate nearest the question by cosine holds a gold answer: the baseline.
    The pool holds the POOL_COSINE nearest of all the candidates, so this is over all of them."""
    return bool(row["pool"]) and max(row["pool"], key=lambda c: c["features"][COSINE])["holds"]


def kinds(rows: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """The rows by (set, setting, style)."""
    out: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        out.setdefault((r["group"], r["setting"], r["style"]), []).append(r)
    return out


def held_out_firsts(rows: list[dict], size: int, features: tuple[str, ...]) -> dict[int, bool]:
    """Per answerable row (by position): whether the rule fitted on the other articles puts an
    answering sentence first."""
    out = {}
    for article in sorted({r["article"] for r in rows}):
        rule = fit([r for r in rows if r["article"] != article], size, features)
        out.update({i: rule_first(r, rule, size) for i, r in enumerate(rows) if r["article"] == article and r["answerable"]})
    return out


def features_of(rows: list[dict]) -> tuple[str, ...]:
    """The rule's features: FEATURES, and the span reader's score where the rows have it."""
    first = next((r["pool"][0]["features"] for r in rows if r["pool"]), {})
    return FEATURES + ((READER,) if READER in first else ())


def choice_table(rows: list[dict], rule_before: Rule | None, size: int) -> None:
    """How often each way of choosing puts an answering sentence first, over answerable questions
    with abstention off: the shortlist holds one ("in list"), the rule in settings.json now, the
    model alone, the cosine baseline, and the rule refitted without and with the cosine, and with
    the span reader's score where there is one, each article left out of its own fit."""
    ways = {"refit": FEATURES, "+cosine": FEATURES + (COSINE,)}
    if features_of(rows) != FEATURES:
        ways["+reader"] = features_of(rows)
    refits = {name: held_out_firsts(rows, size, features) for name, features in ways.items()}
    index = {id(r): i for i, r in enumerate(rows)}
    print(f"{'set / setting / style':<44}{'n':>5}{'in list':>8}{'shipped':>8}{'model':>8}{'cosine':>8}"
          + "".join(f"{name:>8}" for name in ways))
    for key, group in sorted(kinds(rows).items()):
        answerable = [r for r in group if r["answerable"]]
        if not answerable:
            continue
        mean = lambda values: float(np.mean(list(values)))  # noqa: E731
        cells = [mean(any(c["holds"] for c in shortlist(r, size)) for r in answerable),
                 mean(rule_first(r, rule_before, size) for r in answerable) if rule_before else float("nan"),
                 mean(rule_first(r, model_only(), size) for r in answerable),
                 mean(cosine_first(r) for r in answerable)]
        refitted = [mean(firsts[index[id(r)]] for r in answerable) for firsts in refits.values()]
        print(f"{' / '.join(key):<44}{len(answerable):>5}" + "".join(f"{v:>8.3f}" for v in cells)
              + "".join(f"{v:>8.3f}" for v in refitted))


# --- the thresholds -------------------------------------------------------------------------------
def first_sentence(rows: list[dict], rule: Rule, size: int, threshold: float) -> float:
    """The share of answerable rows whose answer quotes an answering sentence first (a decline misses)."""
    answerable = [r for r in rows if r["answerable"]]
    return float(np.mean([answer_score(r, rule, size) >= threshold and rule_first(r, rule, size) for r in answerable]))


def choose_threshold(rows: list[dict], rule: Rule, size: int) -> float:
    """The lowest threshold (0.01 steps) that declines at least DECLINED_ELSEWHERE of the
    questions asked of another paragraph (which does not hold their answer), in each style."""
    elsewhere = [[r for r in g if not r["answerable"]] for (_, setting, _), g in kinds(rows).items()
                 if setting == "other paragraph"]
    if not elsewhere or not all(elsewhere):
        raise ValueError("no questions asked of another paragraph in some style: nothing to choose the threshold by")
    scores = [np.array([answer_score(r, rule, size) for r in g]) for g in elsewhere]
    for threshold in (i / 100 for i in range(1, 100)):
        if all(np.mean(g < threshold) >= DECLINED_ELSEWHERE for g in scores):
            return threshold
    raise ValueError(f"no threshold below 1 declines {DECLINED_ELSEWHERE} of the questions asked of another paragraph")


def declines_beside_the_model(rows: list[dict], rule: Rule, size: int, threshold: float) -> None:
    """Per style: what the bar declines of the questions asked of another paragraph and of the
    answerable ones asked of their own, and what the model's best probability would decline of
    the answerable ones at the bar that declines as many of the others."""
    for style in STYLES:
        elsewhere = [r for r in rows if r["setting"] == "other paragraph" and not r["answerable"] and r["style"] == style]
        own = [r for r in rows if r["setting"] == "named" and r["answerable"] and r["style"] == style]
        declined = np.mean([answer_score(r, rule, size) < threshold for r in elsewhere])
        bar = np.quantile([best_probability(r, size) for r in elsewhere], declined)
        print(f"  {style:<10} asked of another paragraph: {declined:.3f} declined; answerable, of their own: "
              f"{np.mean([answer_score(r, rule, size) < threshold for r in own]):.3f} declined by the rule, "
              f"{np.mean([best_probability(r, size) < bar for r in own]):.3f} by the model's best probability "
              f"(at {bar:.3f})")


def threshold_table(rows: list[dict], rule: Rule, size: int, thresholds: list[float]) -> None:
    """At each threshold: the first sentence against the baseline, and what declines, per kind of question."""
    print(f"{'set / setting / style':<44}{'n':>5}{'cosine':>8}" + "".join(f"{t:>14.2f}" for t in thresholds))
    print(f"{'':<57}" + "".join(f"{'first  decl.':>14}" for _ in thresholds))
    for key, group in sorted(kinds(rows).items()):
        answerable = [r for r in group if r["answerable"]]
        unanswerable = [r for r in group if not r["answerable"]]
        cosine = f"{np.mean([cosine_first(r) for r in answerable]):.3f}" if answerable else "–"
        cells = []
        for t in thresholds:
            first = f"{first_sentence(group, rule, size, t):.3f}" if answerable else "  –  "
            declined = np.mean([answer_score(r, rule, size) < t for r in (unanswerable or answerable)])
            cells.append(f"{first:>7}{declined:>6.2f}{'u' if unanswerable else 'a'}")
        print(f"{' / '.join(key):<44}{len(group):>5}{cosine:>8}" + "".join(cells))
    print("decl.: the share declined, of the unanswerable questions (u) where there are any, else of the answerable (a)")


def report(rows: list[dict], rule_before: Rule | None, k: int) -> tuple[Rule, float]:
    """The choice table, and the rule fitted on every row with its threshold, and what they do."""
    print(f"{len(rows)} rows: {', '.join(f'{len(g)} {key}' for key, g in sorted(kinds(rows).items()))}")
    print(f"\nThe first sentence holds an answer (answerable questions, abstention off; shortlist of {k}). "
          "refit, +cosine and +reader: fitted on the other articles.")
    choice_table(rows, rule_before, k)

    rule = fit(rows, k, features_of(rows))
    print(f"\nanswer rule, fitted on every row: {rule.weights}, bias {rule.bias}")
    threshold = choose_threshold(rows, rule, k)
    print(f"threshold: {threshold:.2f} (the lowest that declines {DECLINED_ELSEWHERE} of the questions asked of "
          "another paragraph, in each style)")
    declines_beside_the_model(rows, rule, k, threshold)
    print("\nAUC, answerable against unanswerable (named documents): the rule's probability for its first "
          "sentence, and the model's best probability")
    for against, setting in (("asked of another paragraph", "other paragraph"), ("SQuAD 2.0's unanswerable", "named")):
        chosen = [r for r in rows if r["setting"] == "named" and r["answerable"]] + \
                 [r for r in rows if r["setting"] == setting and not r["answerable"]]
        answerable = np.array([r["answerable"] for r in chosen])
        print(f"  {against:<28}{auc(np.array([answer_score(r, rule, k) for r in chosen]), answerable):.3f}"
              f"{auc(np.array([best_probability(r, k) for r in chosen]), answerable):>8.3f}")
    print("\nAt each threshold, with this rule: first = the first sentence holds an answer (a decline misses):")
    threshold_table(rows, rule, k, sorted({0.1, threshold, 0.25}))
    return rule, threshold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--work", type=Path, default=Path(".qa_index") / "support-bench")
    parser.add_argument("--cache", type=Path, help="where the model's answers to the fitting questions are kept "
                        "(default: .qa_index/answer-rule-pool-<the model's digest>.json)")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="the support model to fit for")
    parser.add_argument("--shortlist", type=int, default=extractive.SHORTLIST)
    parser.add_argument("--dry-run", action="store_true", help="report only; leave settings.json as it is")
    parser.add_argument("--other-reader", type=Path, metavar="DIR",
                        help="report also with the span reader in DIR in place of the model's own (writes nothing)")
    args = parser.parse_args(argv)

    other = args.other_reader
    cache = args.cache or cache_file(args.model_dir, "answer-rule-pool")
    other_cache = cache_file(args.model_dir, "answer-rule-pool", other) if other else None
    if cache.is_file() and (other_cache is None or other_cache.is_file()):
        rows = json.loads(cache.read_text(encoding="utf-8"))
        other_rows = json.loads(other_cache.read_text(encoding="utf-8")) if other_cache else None
    else:
        from qa.span_reader import SpanReader

        collected = collect(args.bench, args.work.resolve(), SupportModel.load(args.model_dir, second=False),
                            SpanReader.load(other) if other else None)
        rows, other_rows = split_readers(collected) if other else (collected, None)
        for path, found in ((cache, rows), (other_cache, other_rows)):
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(found), encoding="utf-8")

    k = args.shortlist
    path = args.model_dir / SETTINGS
    settings = json.loads(path.read_text(encoding="utf-8"))
    before = settings.get("answer_rule")
    rule_before = Rule(before["weights"], before["bias"]) if before else None
    rule, threshold = report(rows, rule_before, k)
    if other_rows is not None:
        print(f"\n--- The same with the span reader in {other} (\"shipped\": the rule in settings.json now) ---")
        report(other_rows, rule_before, k)
        print(f"\nNothing written (a comparison); the pool with that reader is kept in {other_cache}")
        return 0

    if not args.dry_run:
        command = "python training/fit_answer_rule.py " + " ".join(sys.argv[1:] if argv is None else argv)
        settings["answer_rule"] = {"weights": rule.weights, "bias": rule.bias, "fitted": command,
                                   "thresholds": f"the lowest that declines {DECLINED_ELSEWHERE} of the fitting "
                                                 "questions asked of another paragraph, in each style"}
        settings["answer_threshold"] = settings["named_threshold"] = threshold
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        print(f"wrote the rule and the thresholds into {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train a span reader on this CPU: which words of a paragraph answer a question.

    python training/train_reader.py ../shared/bench --out DIR                # every usable question
    python training/train_reader.py ../shared/bench --limit 2000 --out DIR   # a quick check
    python training/train_reader.py ../shared/bench --out DIR --measure-only # its figures again
    python training/train_reader.py ../shared/bench --out DIR2 --start-from DIR --unsampled  # a second sitting
    python training/train_reader.py ../shared/bench --base BASES/all-mpnet-base-v2 --out DIR  # on a larger base

The support model reads one sentence at a time, so it cannot see that "It was the third-most
watched U.S. broadcast ever." answers a question about the halftime show that the sentence before
names. A span reader reads the whole paragraph with the question and marks where the answer starts
and ends (extractive question answering), so the sentence it marks can be weighed beside the
support model's choice.

It trains low-rank updates (rank 16) of the bundled all-MiniLM-L6-v2 (or of the base that `--base`
names, as `python -m qa.bases --to BASES` installs it), as the support model does, and a start/end
head, for one epoch, on the SQuAD 1.1 training questions whose answer text occurs once in its
paragraph (the rebuilt files' offsets are first occurrences, so elsewhere the place is not known),
`--keyword-share` of them asked in keyword style. It saves a checkpoint every 100
batches, and the same command goes on from the last one. At the end it measures, on the
answerable questions of the THRESHOLD_TUNE articles (never trained on), how often the sentence
that holds its best span is one known to hold the answer, beside the support model's best
sentence: a figure for choosing, not a held-out one.

Writes `adapter.safetensors` (the updates and the head) and `settings.json` to `--out`; the
product's reader is those two files in `qa/models/reader/` (`qa.span_reader`), and the answer
rule that weighs its score is fitted again after it changes (`training/fit_answer_rule.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from index.onnx_embedding import padded as padded_arrays  # noqa: E402
from index.sentences import sentence_spans  # noqa: E402
from qa.eval.sentence_choice import keyword_style as evaluation_keywords  # noqa: E402
from qa.span_reader import ReaderSettings, SpanReader, build_network, log_shares, merged_network  # noqa: E402
from qa.support import BUNDLED_BASE, SETTINGS, WEIGHTS, SupportModel  # noqa: E402
from training.support_data import THRESHOLD_TUNE, SquadQuestion, answer_sentences, keyword_style, \
    squad_questions, squad_train_questions  # noqa: E402
from training.train_support import ALPHA, LEARNING_RATE, RANK, add_low_rank, adapter_state, chosen_base, command_line, \
    commit_of_tree, go_on_from, save_checkpoint, targets_of, trained_seconds, warmup_then_decay  # noqa: E402

MAX_TOKENS = 256  # question and paragraph; a paragraph whose answer lies beyond is left out
LONGEST_ANSWER = 30  # tokens
SQUAD_TRAIN_QUESTIONS = 87_599
CHECKPOINT_EVERY = 100


@dataclass(frozen=True)
class SpanExample:
    question: str
    context: str
    start: int  # the answer's characters in the context
    end: int


def span_examples(questions: list[SquadQuestion], keyword_share: float = 0.0, seed: int = 13) -> list[SpanExample]:
    """The answerable questions whose first answer's text occurs once in the paragraph, each with
    that place; `keyword_share` of them asked in keyword style instead."""
    rng = random.Random(seed)
    examples = []
    for q in questions:
        if not q.answers or q.context.count(q.answers[0]) != 1:
            continue
        start = q.context.index(q.answers[0])
        asked = keyword_style(q.question, rng) if rng.random() < keyword_share else q.question
        examples.append(SpanExample(asked, q.context, start, start + len(q.answers[0])))
    return examples


def unsampled_train_questions(bench: Path, seed: int, count: int = SQUAD_TRAIN_QUESTIONS) -> list[SquadQuestion]:
    """The SQuAD 1.1 training questions that `squad_train_questions(bench, count, seed)` leaves out
    (it takes each article's share of `count`: of the whole set, up to 199), in a shuffled order."""
    sampled = {q.qid for q in squad_train_questions(bench, count, seed)}
    every = squad_train_questions(bench, sys.maxsize, seed)  # a share above any article's size: all of them
    return [q for q in every if q.qid not in sampled]


def started_from(folder: Path, base: str = BUNDLED_BASE) -> dict:
    """The adapter state of the reader in `folder`, to train on from; SystemExit unless it has the
    shape this script trains (rank, alpha, window, longest answer and the `base` named)."""
    from safetensors.torch import load_file

    have = ReaderSettings.read(folder / SETTINGS)
    want = (RANK, ALPHA, MAX_TOKENS, LONGEST_ANSWER)
    if (have.rank, have.alpha, have.max_tokens, have.longest_answer) != want or have.base != base:
        raise SystemExit(f"the reader in {folder} is not of the shape trained here (rank {RANK}, alpha {ALPHA}, "
                         f"{MAX_TOKENS} tokens, answers of up to {LONGEST_ANSWER}, base {base})")
    return load_file(str(folder / WEIGHTS))


def sitting_of(folder: Path) -> dict:
    """What the reader in `folder` records of how it was trained (its "trained" settings, with
    the sittings it went on from), for a reader trained on from it to keep."""
    return json.loads((folder / SETTINGS).read_text(encoding="utf-8")).get("trained", {})


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    type_ids: list[int]
    start: int  # the answer's first and last token
    end: int


def encode(tokenizer, examples: list[SpanExample], max_tokens: int = MAX_TOKENS) -> list[Encoded]:
    """Each example as token ids with its answer's first and last token; one whose answer the
    truncation cuts off is left out."""
    found = []
    for at in range(0, len(examples), 512):
        chunk = examples[at:at + 512]
        batch = tokenizer([e.question for e in chunk], [e.context for e in chunk], truncation="only_second",
                          max_length=max_tokens, return_offsets_mapping=True)
        for i, example in enumerate(chunk):
            sequence, offsets = batch.sequence_ids(i), batch["offset_mapping"][i]
            tokens = [t for t, s in enumerate(sequence) if s == 1]
            first = next((t for t in tokens if offsets[t][0] <= example.start < offsets[t][1]), None)
            last = next((t for t in tokens if offsets[t][0] < example.end <= offsets[t][1]), None)
            if first is not None and last is not None and first <= last:
                types = batch["token_type_ids"][i] if "token_type_ids" in batch else [0] * len(sequence)
                found.append(Encoded(batch["input_ids"][i], types, first, last))
    return found


def padded(batch: list[Encoded]) -> dict[str, torch.Tensor]:
    ids, mask, types = (torch.from_numpy(a) for a in padded_arrays(batch))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def planned_batches(encoded: list[Encoded], size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of examples of similar length (little padding), the same for a seed."""
    rng = random.Random(seed)
    order = list(range(len(encoded)))
    rng.shuffle(order)
    batches = []
    for at in range(0, len(order), size * 50):
        run = sorted(order[at:at + size * 50], key=lambda i: len(encoded[i].ids))
        batches.extend(run[i:i + size] for i in range(0, len(run), size))
    rng.shuffle(batches)
    return batches


def train(encoded: list[Encoded], network, seed: int, checkpoint: Path, batch_size: int = 16,
          lr: float = LEARNING_RATE, stop_at: int = 0, start: dict | None = None) -> dict:
    """One epoch of the updates and the head, from `start` (a reader's adapter state) when given,
    each batch's gradient norm bounded by 1; saves to `checkpoint` every CHECKPOINT_EVERY batches
    (with the seconds trained over every sitting) and goes on from it when it holds the same plan."""
    torch.manual_seed(seed)
    wrapped = add_low_rank(network, targets_of(network), start)
    low_rank = [p for layer in wrapped.values() for p in (layer.down, layer.up)]
    optimizer = torch.optim.AdamW([{"params": low_rank, "lr": lr}, {"params": network.head.parameters(), "lr": 2 * lr}],
                                  weight_decay=0.01)
    batches = planned_batches(encoded, batch_size, seed)
    steps = len(batches)
    schedule = warmup_then_decay(optimizer, steps)
    done, running, earlier = go_on_from(checkpoint, steps, network, wrapped, optimizer, schedule)
    network.train()
    began = time.monotonic()
    bar = tqdm(total=steps, initial=done, desc="training", unit="batch")
    for step, batch in enumerate(batches, start=1):
        if step <= done:
            continue
        if stop_at and step > stop_at:
            break
        chosen = [encoded[i] for i in batch]
        starts, ends = network(**padded(chosen))
        loss = (torch.nn.functional.cross_entropy(starts, torch.tensor([e.start for e in chosen]))
                + torch.nn.functional.cross_entropy(ends, torch.tensor([e.end for e in chosen]))) / 2
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(low_rank + list(network.head.parameters()), 1.0)
        optimizer.step()
        schedule.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.set_postfix(loss=f"{running:.3f}")
        bar.update()
        if step % CHECKPOINT_EVERY == 0 or step in (steps, stop_at):
            save_checkpoint(checkpoint, steps, step, running, network, wrapped, optimizer, schedule,
                            earlier + time.monotonic() - began)
    bar.close()
    network.eval()
    return adapter_state(network, wrapped)


def tune_questions(bench: Path) -> list[SquadQuestion]:
    """The answerable questions of the THRESHOLD_TUNE articles, which no reader trains on."""
    return [q for q in squad_questions(bench) if q.article in THRESHOLD_TUNE and q.answers]


WEIGHTS_TRIED = (0.25, 0.5, 1.0, 2.0)


def measure(network, questions: list[SquadQuestion], seed: int, base: str = BUNDLED_BASE) -> dict[str, float]:
    """On answerable questions, in their own words and in keyword style (the evaluation's rewrite,
    `qa.eval.sentence_choice.keyword_style`, not the one trained on), the share whose chosen
    sentence is one known to hold the answer (`answer_sentences`): the reader's (the sentence of
    its best span), the shipped support model's (its best sentence), and both together (the
    support model's logit plus a weight times the reader's log-share), for each weight tried."""
    support = SupportModel.shipped()
    settings = ReaderSettings(RANK, ALPHA, targets_of(network), MAX_TOKENS, LONGEST_ANSWER, base)
    reader = SpanReader.of_network(network, settings)
    hits: dict[str, list[bool]] = {}
    for q in tqdm(questions, desc="measuring", leave=False):
        sentences = [(s, e, q.context[s:e]) for s, e in sentence_spans(q.context)]
        known = answer_sentences(q.answers, sentences)
        if not known:
            continue
        holds = np.array([sentence in known for sentence in sentences])
        for style, asked in (("own words", q.question), ("keyword style", evaluation_keywords(q.question, seed))):
            shares = log_shares(reader.sentence_scores(asked, q.context, [(s, e) for s, e, _ in sentences]))
            probability = np.clip(support.probabilities([(asked, t) for _, _, t in sentences]), 1e-6, 1 - 1e-6)
            logit = np.log(probability / (1 - probability))
            hits.setdefault(f"reader, {style}", []).append(bool(holds[int(np.argmax(shares))]))
            hits.setdefault(f"support model, {style}", []).append(bool(holds[int(np.argmax(logit))]))
            for weight in WEIGHTS_TRIED:
                hits.setdefault(f"both (weight {weight}), {style}", []).append(
                    bool(holds[int(np.argmax(logit + weight * shares))]))
    return {name: round(float(np.mean(found)), 3) for name, found in hits.items()} | \
        {"questions": len(next(iter(hits.values()), []))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, help="the shared bench folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="train on this many questions only (a quick check)")
    parser.add_argument("--keyword-share", type=float, default=0.3,
                        help="this share of the questions asked in keyword style instead (default 0.3)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--lr", type=float, default=LEARNING_RATE)
    parser.add_argument("--stop-at", type=int, default=0, metavar="BATCH",
                        help="stop after this batch of the plan (the same command without it goes on)")
    parser.add_argument("--measure-only", action="store_true", help="measure the model in --out, train nothing")
    parser.add_argument("--start-from", type=Path, metavar="DIR", help="train on from the reader in DIR")
    parser.add_argument("--unsampled", action="store_true",
                        help="train only on the questions a whole run with this seed leaves out (it takes up to "
                             "199 of each article; with --start-from, the questions that reader never saw)")
    parser.add_argument("--tune-limit", type=int, default=0, help="measure on this many tune questions only")
    parser.add_argument("--base", type=Path,
                        help="the folder of another base encoder (as `python -m qa.bases` installs it); "
                             "default: the bundled all-MiniLM-L6-v2")
    args = parser.parse_args(argv)
    began = time.time()
    from transformers import AutoTokenizer

    base, base_name = chosen_base(args.base)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    network = build_network(base)
    torch.set_num_threads(os.cpu_count() or 1)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.measure_only:  # any reader, whatever its rank (an average of two is of twice the rank)
        trained = ReaderSettings.read(args.out / SETTINGS)
        network, base_name = merged_network(args.out, trained), trained.base
    else:
        questions = (unsampled_train_questions(args.bench, args.seed) if args.unsampled
                     else squad_train_questions(args.bench, args.limit or SQUAD_TRAIN_QUESTIONS, args.seed))
        questions = questions[:args.limit] if args.limit else questions
        encoded = encode(tokenizer, span_examples(questions, args.keyword_share, args.seed))
        print(f"{len(encoded)} of {len(questions)} questions have a known answer place within "
              f"{MAX_TOKENS} tokens", file=sys.stderr)
        checkpoint = args.out / "checkpoint.pt"
        start = started_from(args.start_from, base_name) if args.start_from else None
        state = train(encoded, network, args.seed, checkpoint, lr=args.lr, stop_at=args.stop_at, start=start)
        from safetensors.torch import save_file

        save_file(state, str(args.out / WEIGHTS))
    tune = tune_questions(args.bench)
    tune = random.Random(args.seed).sample(tune, args.tune_limit) if args.tune_limit else tune
    figures = measure(network, tune, args.seed, base_name)
    print(json.dumps(figures, indent=2))
    if not args.measure_only:
        settings = {"base": base_name, "rank": RANK, "alpha": ALPHA, "targets": list(targets_of(network)),
                    "max_tokens": MAX_TOKENS, "longest_answer": LONGEST_ANSWER,
                    "trained": {"command": command_line("training/train_reader.py", argv),
                                "commit": commit_of_tree(),
                                **({"went_on_from": sitting_of(args.start_from)} if args.start_from else {}),
                                "questions": len(encoded),
                                "minutes": round((time.time() - began) / 60, 1),
                                "training_minutes_all_sittings": round(trained_seconds(checkpoint) / 60, 1),
                                "tune_figures": figures}}
        (args.out / SETTINGS).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

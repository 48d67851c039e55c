"""Train the support model on this CPU, choose its thresholds, and write it to qa/models/support/.

    python training/train_support.py ../shared/bench            # the shipped model
    python training/train_support.py ../shared/bench --claims data2txt --out /tmp/support-d2t

Trains low-rank updates (rank 16) of every linear layer of the bundled all-MiniLM-L6-v2 encoder
and a linear head, for one epoch, on the pairs of `support_data`: SQuAD questions of the training
articles (less the threshold and abstention-report folds), the claims of one RAGTruth task (less
a fifth of its sources) and altered SQuAD sentences as claims. `--init DIR` goes on from a model
trained before (the shipped one is two such epochs: see its settings.json). Two options were
tried and not shipped (the model card says why): `--contrasts N` adds answerable questions
altered so that their sentence no longer answers them, and `--listwise W` adds a loss that ranks
each question's answering sentence above the others shown with it. `--search GOLD` adds every
sentence of the summary each search-engine question of GOLD is asked of
(bench/search_questions/training.jsonl; not yet in the shipped model). Then, on what it did not
train on:
- the answer threshold is the one that decides "answer or decline" best for the questions of the
  THRESHOLD_TUNE articles, half of them unanswerable, scoring each question's own candidates
  (on the model's probability; `training/fit_answer_rule.py` then fits the answer rule and
  replaces it with a bar on the rule's probability);
- the claim threshold is the one with the best answer-level F1 of "this answer has an unsupported
  claim" on the kept-out fifth of the RAGTruth sources.
The files written are `adapter.safetensors` (what differs from the bundled model) and
`settings.json` (shapes, thresholds, and the figures measured while choosing them).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from index.embedding import SentenceTransformerEmbedder, bundled_model_path  # noqa: E402
from index.sentences import sentence_spans  # noqa: E402
from qa.bases import VARIABLE as BASES_VARIABLE  # noqa: E402
from qa.grounding import similarity  # noqa: E402
from qa.text import content_terms  # noqa: E402
from qa.support import BUNDLED_BASE, MODEL_DIR, SETTINGS, WEIGHTS, SupportModel, SupportSettings, build_network, \
    claim_evidence, target_layers  # noqa: E402
from training.measures import balanced_accuracy, best_threshold, capped_threshold, expected_calibration_error, \
    f1  # noqa: E402
from training.support_data import ABSTAIN_REPORT, CONTRAST_KINDS, QUESTIONS_PER_ARTICLE, THRESHOLD_TUNE, Claim, Pair, \
    altered_claims, altered_questions, keyword_pairs, non_question_pairs, ragtruth_claims, search_pairs, snli_pairs, \
    split_sources, squad_pairs, squad_questions, squad_train_questions  # noqa: E402

RANK, ALPHA = 16, 32.0
TARGETS = {  # the linear layers that get a low-rank update, by the base's architecture
    "bert": ("query", "key", "value", "dense"),
    "mpnet": ("attn.q", "attn.k", "attn.v", "attn.o", "dense"),
}
MAX_TOKENS = 256
EVIDENCE_SENTENCES = 3
CLAIM_FILES = {"summary": "ragtruth_summary.jsonl", "data2txt": "ragtruth_data2txt.jsonl"}
CHECKPOINT_EVERY = 100  # batches between checkpoints
# The updates' peak learning rate. all-mpnet-base-v2 with every layer updated went to a constant
# output at this rate over a 2,001-batch plan (it held over 501); --lr and --clip-norm lower it.
LEARNING_RATE = 5e-4
DECLINE_CAP = 0.10  # the answer threshold declines at most this share of the tune articles' answerable questions


class LowRank(torch.nn.Module):
    """A frozen linear layer plus a trainable update `up @ down`, zero at the start."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float, dropout: float = 0.1):
        super().__init__()
        self.base = base
        self.down = torch.nn.Parameter(torch.empty(rank, base.in_features))
        self.up = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        torch.nn.init.kaiming_uniform_(self.down, a=math.sqrt(5))
        self.scale = alpha / rank
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x):
        return self.base(x) + (self.dropout(x) @ self.down.T @ self.up.T) * self.scale


def targets_of(network, top_layers: int = 0) -> tuple[str, ...]:
    """The suffixes of the layers to update: every target layer of the architecture, or with
    `top_layers` only those of the encoder's top layers (the ones below then need no gradient)."""
    suffixes = TARGETS[network.encoder.config.model_type]
    if not top_layers:
        return suffixes
    count = network.encoder.config.num_hidden_layers
    return tuple(name for name in target_layers(network, suffixes)
                 if int(name.split("layer.")[1].split(".")[0]) >= count - top_layers)


def add_low_rank(network, targets: tuple[str, ...], start: dict | None = None) -> dict[str, LowRank]:
    """Wrap the target layers; `start` (a saved state) sets the updates and the head to go on from."""
    for parameter in network.encoder.parameters():
        parameter.requires_grad_(False)
    wrapped = {}
    for name, layer in target_layers(network, targets).items():
        parent_name, _, child = name.rpartition(".")
        parent = network.encoder.get_submodule(parent_name)
        wrapped[name] = LowRank(layer, RANK, ALPHA)
        if start is not None:
            with torch.no_grad():
                wrapped[name].down.copy_(start[f"{name}.lora_down"])
                wrapped[name].up.copy_(start[f"{name}.lora_up"])
        setattr(parent, child, wrapped[name])
    if start is not None:
        with torch.no_grad():
            network.head.weight.copy_(start["head.weight"])
            network.head.bias.copy_(start["head.bias"])
    return wrapped


def altered_pairs(made: list[tuple[str, str, bool]]) -> list[Pair]:
    """Altered SQuAD sentences with the evidence the claim check would show for them.

    Shortlisted by shared words alone (the run-time check adds embedding closeness): every claim
    here is one sentence of its paragraph, altered or not, so the words find that sentence first,
    and thousands of claims need no embedding.
    """
    pairs = []
    for i, (claim, context, supported) in enumerate(made):
        spans = sentence_spans(context)
        sentences = [context[s:e] for s, e in spans]
        terms = set(content_terms(claim))
        row = np.array([len(terms & set(content_terms(t))) / (len(terms) or 1) for t in sentences])
        chosen = claim_evidence(row, [(0, s) for s, _ in spans], EVIDENCE_SENTENCES)
        pairs.append(Pair(claim, " ".join(sentences[j] for j in chosen), int(supported), "claim", "squad", f"a{i}"))
    return pairs


def claim_pairs(claims: list[Claim], sources: dict[str, str], embedder, kind_group: str) -> list[Pair]:
    """Each claim with the evidence that the run-time claim check would show the model."""
    pairs = []
    by_source: dict[str, list[Claim]] = {}
    for claim in claims:
        by_source.setdefault(claim.source_id, []).append(claim)
    for sid, of_source in tqdm(by_source.items(), desc=f"evidence ({kind_group})", leave=False):
        text = sources[sid]
        spans = sentence_spans(text)
        sentences = [text[s:e] for s, e in spans]
        scores = similarity([c.text for c in of_source], sentences, embedder.embed)
        order = [(0, s) for s, _ in spans]
        for claim, row in zip(of_source, scores):
            chosen = claim_evidence(row, order, EVIDENCE_SENTENCES)
            evidence = " ".join(sentences[i] for i in chosen)
            pairs.append(Pair(claim.text, evidence, int(claim.supported), "claim", sid, f"{sid}/{claim.response}"))
    return pairs


def batches(pairs: list[Pair], size: int, rng: random.Random):
    """Shuffled batches of pairs of similar length, so that little of each batch is padding."""
    return _similar_length([[i] for i in range(len(pairs))], pairs, size, rng, run=50)


def _similar_length(groups: list[list[int]], pairs: list[Pair], size: int, rng: random.Random, run: int):
    """Batches of whole groups of pairs: the groups shuffled, sorted by length within runs of
    `run` batches' worth, packed in order, and the batches shuffled."""
    order = list(groups)
    rng.shuffle(order)
    length = lambda group: sum(len(pairs[i].first) + len(pairs[i].second) for i in group) / len(group)  # noqa: E731
    out: list[list[int]] = []
    for start in range(0, len(order), size * run):
        batch: list[int] = []
        for group in sorted(order[start:start + size * run], key=length):
            if batch and len(batch) + len(group) > size:
                out.append(batch)
                batch = []
            batch.extend(group)
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def question_groups(pairs: list[Pair]) -> list[list[int]]:
    """The indices of each question's (or claim's) pairs, in order; a pair without one is alone."""
    groups: dict[str, list[int]] = {}
    for i, pair in enumerate(pairs):
        groups.setdefault(pair.qid or f"#{i}", []).append(i)
    return list(groups.values())


def question_batches(pairs: list[Pair], size: int, rng: random.Random):
    """As `batches`, but the pairs of one question stay in one batch (for the listwise loss)
    unless they outnumber it."""
    return _similar_length(question_groups(pairs), pairs, size, rng, run=20)


def listwise_loss(logits, chosen: list[Pair]):
    """Cross-entropy of each question's one answering sentence against the other sentences shown
    with it: what the extractive answer needs is the right sentence first."""
    losses = []
    for members in question_groups(chosen):
        labels = [chosen[i].label for i in members]
        if chosen[members[0]].kind == "question" and len(members) > 1 and sum(labels) == 1:
            group = logits[members]
            losses.append(torch.logsumexp(group, 0) - group[labels.index(1)])
    return torch.stack(losses).mean() if losses else None


def train(pairs: list[Pair], network, tokenizer, epochs: int, seed: int, targets: tuple[str, ...],
          batch_size: int = 16, start: dict | None = None, listwise: float = 0.0, checkpoint: Path | None = None,
          every: int = CHECKPOINT_EVERY, stop_at: int = 0, lr: float = LEARNING_RATE, clip_norm: float = 0.0) -> dict:
    """Train the updates and the head; with `checkpoint`, save there every `every` batches and, when
    a checkpoint of the same plan is there already, go on from it (the batches are planned from
    the seed, so the run that resumes sees what the interrupted one would have). With `stop_at`,
    stop after that batch of the plan (the schedule stays the whole plan's). `lr` is the updates'
    peak learning rate (the head's is twice it); `clip_norm`, when set, bounds each batch's
    gradient norm. The checkpoint also keeps the seconds spent training, over every sitting
    (`trained_seconds`)."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    wrapped = add_low_rank(network, targets, start)
    low_rank = [p for layer in wrapped.values() for p in (layer.down, layer.up)]
    optimizer = torch.optim.AdamW([
        {"params": low_rank, "lr": lr},
        {"params": network.head.parameters(), "lr": 2 * lr},
    ], weight_decay=0.01)
    make_batches = question_batches if listwise else batches
    planned = [make_batches(pairs, batch_size, rng) for _ in range(epochs)]  # a question's batches may not be full
    steps = sum(map(len, planned))
    schedule = warmup_then_decay(optimizer, steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    # earlier: seconds trained in sittings before this one
    done, running, earlier = go_on_from(checkpoint, steps, network, wrapped, optimizer, schedule)
    network.train()
    began = time.monotonic()
    bar = tqdm(total=steps, initial=done, desc="training", unit="batch")
    for step, batch in enumerate(itertools.chain.from_iterable(planned), start=1):
        if stop_at and step > stop_at:
            break
        if step <= done:
            continue
        chosen = [pairs[i] for i in batch]
        encoded = tokenizer([p.first for p in chosen], [p.second for p in chosen], truncation="longest_first",
                            max_length=MAX_TOKENS, padding=True, return_tensors="pt")
        logits = network(encoded["input_ids"], encoded["attention_mask"], encoded.get("token_type_ids"))
        loss = loss_fn(logits, torch.tensor([float(p.label) for p in chosen]))
        ranking = listwise_loss(logits, chosen) if listwise else None
        if ranking is not None:
            loss = loss + listwise * ranking
        optimizer.zero_grad()
        loss.backward()
        if clip_norm:
            torch.nn.utils.clip_grad_norm_(low_rank + list(network.head.parameters()), clip_norm)
        optimizer.step()
        schedule.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.set_postfix(loss=f"{running:.3f}")
        bar.update()
        if checkpoint is not None and (step % every == 0 or step in (steps, stop_at)):
            save_checkpoint(checkpoint, steps, step, running, network, wrapped, optimizer, schedule,
                            earlier + time.monotonic() - began)
    bar.close()
    network.eval()
    return adapter_state(network, wrapped)


def warmup_then_decay(optimizer, steps: int):
    """The learning rate rising over the first sixteenth of `steps` batches, then falling to zero
    at the last."""
    warmup = max(1, steps // 16)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))


def go_on_from(checkpoint: Path | None, steps: int, network, wrapped: dict[str, LowRank], optimizer,
               schedule) -> tuple[int, float | None, float]:
    """Set the updates, head, optimiser and schedule from `checkpoint` when it holds a run of the
    same plan (`steps` batches): (batches done, running loss, seconds trained); else (0, None, 0)."""
    if checkpoint is None or not checkpoint.is_file():
        return 0, None, 0.0
    saved = torch.load(checkpoint, weights_only=False)
    if saved["steps"] != steps:
        return 0, None, 0.0
    set_adapter_state(network, wrapped, saved["state"])
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    if "rng" in saved:  # the dropout masks go on as they would have
        torch.set_rng_state(saved["rng"])
    print(f"going on from {checkpoint} at batch {saved['done']} of {steps}", file=sys.stderr)
    return saved["done"], saved["running"], saved.get("seconds", 0.0)


def save_checkpoint(checkpoint: Path, steps: int, done: int, running: float, network, wrapped: dict[str, LowRank],
                    optimizer, schedule, seconds: float) -> None:
    """What `go_on_from` needs to go on after batch `done`, and the seconds trained so far."""
    saved = {"steps": steps, "done": done, "running": running, "state": adapter_state(network, wrapped),
             "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
             "rng": torch.get_rng_state(), "seconds": seconds}
    torch.save(saved, checkpoint.with_suffix(".tmp"))
    os.replace(checkpoint.with_suffix(".tmp"), checkpoint)  # a kill while saving keeps the last one


def trained_seconds(checkpoint: Path) -> float | None:
    """The seconds a run's training took over all its sittings, as its last checkpoint says (None
    without one, or for one written before they were kept)."""
    return torch.load(checkpoint, weights_only=False).get("seconds") if checkpoint.is_file() else None


def adapter_state(network, wrapped: dict[str, LowRank]) -> dict:
    """The updates and the head, apart from the base weights: they are what is shipped."""
    state = {"head.weight": network.head.weight.detach().clone(), "head.bias": network.head.bias.detach().clone()}
    for name, layer in wrapped.items():
        state[f"{name}.lora_down"] = layer.down.detach().clone().contiguous()
        state[f"{name}.lora_up"] = layer.up.detach().clone().contiguous()
    return state


def set_adapter_state(network, wrapped: dict[str, LowRank], state: dict) -> None:
    with torch.no_grad():
        network.head.weight.copy_(state["head.weight"])
        network.head.bias.copy_(state["head.bias"])
        for name, layer in wrapped.items():
            layer.down.copy_(state[f"{name}.lora_down"])
            layer.up.copy_(state[f"{name}.lora_up"])


def per_group(pairs: list[Pair], probabilities: np.ndarray, worst: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per question: its best candidate's probability, and whether it is answerable (a pair is
    positive). With `worst`, per LLM answer: its least supported claim's probability, and
    whether all its claims are supported."""
    groups: dict[str, list[tuple[float, bool]]] = {}
    for pair, p in zip(pairs, probabilities):
        groups.setdefault(pair.qid, []).append((float(p), bool(pair.label)))
    extreme, agree = (min, all) if worst else (max, any)
    keys = sorted(groups)
    return (np.array([extreme(p for p, _ in groups[k]) for k in keys]),
            np.array([agree(label for _, label in groups[k]) for k in keys]))


def sample_questions(pairs: list[Pair], count: int, rng: random.Random) -> list[Pair]:
    """About `count` pairs, taken with all the other pairs of their question (or claim)."""
    order = question_groups(pairs)
    rng.shuffle(order)
    kept: list[Pair] = []
    for group in order:
        if len(kept) >= count:
            break
        kept.extend(pairs[i] for i in group)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, help="the shared bench folder")
    parser.add_argument("--claims", choices=CLAIM_FILES, default="summary", help="the RAGTruth task to train on")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="train on this many pairs only (a quick check)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--altered", type=int, default=2000, help="altered SQuAD sentences as claims")
    parser.add_argument("--contrasts", type=int, default=0,
                        help="answerable questions altered so that their sentence no longer answers them")
    parser.add_argument("--contrast-kinds", default=",".join(CONTRAST_KINDS),
                        help="which alterations make the contrasts: any of " + ", ".join(CONTRAST_KINDS))
    parser.add_argument("--listwise", type=float, default=0.0,
                        help="weight of a listwise loss: each question's answering sentence against its others")
    parser.add_argument("--per-article", type=_at_least_zero, default=QUESTIONS_PER_ARTICLE,
                        help="questions of each SQuAD 1.1 article at most (0: all)")
    parser.add_argument("--init", type=Path, help="go on training from the model in this folder")
    parser.add_argument("--base", type=Path,
                        help="the folder of another base encoder (as `python -m qa.bases` installs it); "
                             "default: the bundled all-MiniLM-L6-v2")
    parser.add_argument("--top-layers", type=_at_least_zero, default=0,
                        help="update only the encoder's top N layers (0: all of them)")
    parser.add_argument("--mine", action="store_true",
                        help="with --init: the paragraph's negatives are the sentences that model scores highest")
    parser.add_argument("--squad-train", type=_at_least_zero, default=0,
                        help="questions of the SQuAD 1.1 training set, spread over its 442 articles")
    parser.add_argument("--keyword-share", type=float, default=0.0,
                        help="this share of the SQuAD questions again in keyword style (lower case, no function words)")
    parser.add_argument("--snli", type=_at_least_zero, default=0, help="SNLI pairs as claims")
    parser.add_argument("--search", type=Path, metavar="GOLD",
                        help="search-engine questions over article summaries, every one kept "
                             "(bench/search_questions/training.jsonl)")
    parser.add_argument("--non-questions", type=_at_least_zero, default=0,
                        help="greetings, mashing and other articles' questions against sentences, all negatives")
    parser.add_argument("--checkpoint", type=Path,
                        help="save here as training goes, and go on from what is there (default: OUT/checkpoint.pt)")
    parser.add_argument("--lr", type=float, default=LEARNING_RATE, help="the updates' peak learning rate "
                        f"(default {LEARNING_RATE}; the head's is twice it)")
    parser.add_argument("--clip-norm", type=float, default=0.0, help="bound each batch's gradient norm (default: no bound)")
    parser.add_argument("--stop-at", type=_at_least_zero, default=0, metavar="BATCH",
                        help="stop after this batch of the plan and make the model of that point (the same "
                             "command without it goes on to the end)")
    args = parser.parse_args(argv)
    kinds = tuple(args.contrast_kinds.split(","))
    if set(kinds) - set(CONTRAST_KINDS):
        parser.error(f"--contrast-kinds: unknown {', '.join(sorted(set(kinds) - set(CONTRAST_KINDS)))}; "
                     f"use any of {', '.join(CONTRAST_KINDS)}")
    began = time.time()

    questions = squad_questions(args.bench)
    held = set(ABSTAIN_REPORT) | set(THRESHOLD_TUNE)
    hardness = None
    if args.mine:
        if not args.init:
            parser.error("--mine needs --init: the model whose mistakes are mined")
        miner = SupportModel.load(args.init, second=False)
        hardness = lambda question, sentences: miner.probabilities([(question, t) for t in sentences])  # noqa: E731
    fit_q = squad_pairs([q for q in questions if q.article not in held], seed=args.seed, hardness=hardness,
                        per_article=args.per_article)
    tune_q = squad_pairs([q for q in questions if q.article in THRESHOLD_TUNE], seed=args.seed)

    embedder = SentenceTransformerEmbedder()
    sources, claims = ragtruth_claims(args.bench / "ragtruth-summary-data2txt" / CLAIM_FILES[args.claims])
    tune_sources = split_sources([c.source_id for c in claims], seed=args.seed)
    fit_c = claim_pairs([c for c in claims if c.source_id not in tune_sources], sources, embedder, "fit")
    tune_c = claim_pairs([c for c in claims if c.source_id in tune_sources], sources, embedder, "tune")
    fit_a = altered_pairs(altered_claims([q for q in questions if q.article not in held], args.altered, args.seed))
    del embedder
    contrasts = altered_questions([q for q in questions if q.article not in held], args.seed, kinds)
    fit_x = [Pair(question, sentence, 0, "question", "contrast", f"x{i}")
             for i, (question, sentence) in enumerate(random.Random(args.seed).sample(
                 contrasts, min(args.contrasts, len(contrasts))))]

    extra_q = squad_pairs(squad_train_questions(args.bench, args.squad_train, args.seed), seed=args.seed,
                          per_article=0) if args.squad_train else []
    fit_k = keyword_pairs(fit_q + extra_q, args.keyword_share, args.seed) if args.keyword_share else []
    fit_s = snli_pairs(args.bench, args.snli, args.seed) if args.snli else []
    fit_n = non_question_pairs(squad_train_questions(args.bench, 2000, args.seed + 1), args.non_questions,
                               args.seed) if args.non_questions else []

    fit_w = search_pairs(args.bench, args.search) if args.search else []

    fit = fit_q + extra_q + fit_k + fit_s + fit_n + fit_c + fit_a
    if args.limit and args.limit <= len(fit_x) + len(fit_w):
        parser.error(f"--limit {args.limit} leaves no room beside the {len(fit_x) + len(fit_w)} pairs always kept")
    if args.limit:  # the contrasts and the search-engine questions are all kept; the rest, a whole question at a time
        fit = sample_questions(fit, args.limit - len(fit_x) - len(fit_w), random.Random(args.seed))
    fit += fit_x + fit_w
    print(f"pairs: {len(fit_q)} question + {len(extra_q)} SQuAD-train + {len(fit_k)} keyword + {len(fit_s)} SNLI + "
          f"{len(fit_w)} search-engine + "
          f"{len(fit_n)} non-question + {len(fit_c)} claim + {len(fit_a)} altered + {len(fit_x)} contrast "
          f"for training ({len(fit)} used), "
          f"{len(tune_q)} + {len(tune_c)} to choose thresholds", file=sys.stderr)

    from transformers import AutoTokenizer

    base, base_name = chosen_base(args.base)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    network = build_network(base)
    targets = targets_of(network, args.top_layers)
    start, previous = None, None
    if args.init:
        from safetensors.torch import load_file

        start = load_file(str(args.init / WEIGHTS))
        previous = json.loads((args.init / SETTINGS).read_text("utf-8")).get("trained")
    args.out.mkdir(parents=True, exist_ok=True)
    # Every core, set here: the embedder that chose the claims' evidence above leaves torch on one
    # thread when it is done (`index.embedding.cpu_threads`), which had halved training speed.
    torch.set_num_threads(os.cpu_count() or 1)
    checkpoint = args.checkpoint or args.out / "checkpoint.pt"
    state = train(fit, network, tokenizer, args.epochs, args.seed, targets, start=start, listwise=args.listwise,
                  checkpoint=checkpoint, stop_at=args.stop_at, lr=args.lr, clip_norm=args.clip_norm)

    from safetensors.torch import save_file

    save_file(state, str(args.out / WEIGHTS))
    provisional = {"base": base_name, "rank": RANK, "alpha": ALPHA, "targets": list(targets), "max_tokens": MAX_TOKENS,
                   "answer_threshold": 0.5, "claim_threshold": 0.5, "evidence_sentences": EVIDENCE_SENTENCES}
    (args.out / SETTINGS).write_text(json.dumps(provisional, indent=2) + "\n", encoding="utf-8")

    # Thresholds from the loaded model, exactly as it runs in the product.
    model = SupportModel.load(args.out, "int8", second=False)
    tune_probabilities = model.probabilities([(p.first, p.second) for p in tune_q])
    q_best, answerable = per_group(tune_q, tune_probabilities)
    answer_threshold = capped_threshold(q_best, answerable, DECLINE_CAP)
    answer_accuracy = balanced_accuracy(q_best >= answer_threshold, answerable)
    calibration = expected_calibration_error(tune_probabilities, np.array([p.label for p in tune_q]))
    c_worst, clean = per_group(tune_c, model.probabilities([(p.first, p.second) for p in tune_c]), worst=True)
    # flagged = worst claim below the threshold; the positive class is "has an unsupported claim"
    doubt_threshold, claim_f1 = best_threshold(1.0 - c_worst, ~clean, f1)
    claim_threshold = round(1.0 - doubt_threshold, 2)
    settings = dict(provisional, answer_threshold=answer_threshold, claim_threshold=claim_threshold)
    seconds = trained_seconds(checkpoint)
    settings["trained"] = {
        "command": command_line("training/train_support.py", argv),
        "commit": commit_of_tree(),
        "claims_task": args.claims,
        "went_on_from": previous,
        "pairs": len(fit),
        **({"stopped_at_batch": args.stop_at} if args.stop_at else {}),
        "minutes": round((time.time() - began) / 60, 1),  # this command's, from data to thresholds
        **({"training_minutes_all_sittings": round(seconds / 60, 1)} if seconds is not None else {}),
        "tuning_figures": {
            "answer_balanced_accuracy_on_tune_articles": round(answer_accuracy, 3),
            "answer_threshold_rule": f"the highest that declines at most {DECLINE_CAP:.0%} of answerable tune questions",
            "expected_calibration_error_on_tune_pairs": round(calibration, 3),
            "claim_answer_f1_on_tune_sources": round(claim_f1, 3),
        },
    }
    (args.out / SETTINGS).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    SupportSettings.read(args.out / SETTINGS)
    print(json.dumps(settings, indent=2))
    return 0


def _at_least_zero(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"a whole number of 0 or more, not {value!r}")
    return int(value)


def chosen_base(folder: Path | None) -> tuple[str, str]:
    """The folder and the name of the base to train on: `folder` (as `python -m qa.bases` installs a
    base), else the bundled MiniLM. Models are looked up by their base's name, so QA_BASE_MODELS
    is pointed at the folder that holds it."""
    if folder is None:
        return bundled_model_path(), BUNDLED_BASE
    os.environ[BASES_VARIABLE] = str(folder.parent)
    return str(folder), folder.name


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that ran `script` (its path from the root), to record with what it made: with
    `argv` when it was called with them, else with the process's arguments."""
    return f"python {script} " + " ".join(sys.argv[1:] if argv is None else argv)


def commit_of_tree() -> str:
    """The commit the repository is at (with "-dirty" when it has changes), to record with what it made."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())

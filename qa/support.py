"""The support model: does this sentence answer the question, does this evidence back the claim?

A cross-encoder made from the bundled all-MiniLM-L6-v2: both texts go through the transformer
together, so it reads whether the sentence says what was asked, not only whether it is on topic.
What training changed is shipped beside this file (`models/support/`): low-rank updates of the
encoder's linear layers, merged into the bundled weights when the model loads, and a linear head
on the mean-pooled output. Nothing is downloaded.

    model = SupportModel.load()
    model.probabilities([("When did the Zurich office open?", "The Oslo office opened in 2004.")])
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedding import SMALL_BATCH
from index.settings import PRECISIONS
from qa.errors import SupportModelError

MODEL_DIR = Path(__file__).resolve().parent / "models" / "support"
WEIGHTS = "adapter.safetensors"
SETTINGS = "settings.json"
BUNDLED_BASE = "all-MiniLM-L6-v2"
_SHIPPED: dict[str, "SupportModel"] = {}  # SupportModel.shipped, per precision
_SHIPPED_LOCK = threading.Lock()
KEEP = 3  # a second reader reads the first model's best KEEP sentences, unless its settings say otherwise
log = logging.getLogger(__name__)


def base_path(name: str, verify: bool = False) -> str:
    """The folder of the base encoder `name`: the bundled MiniLM, or one that `python -m qa.bases`
    installed (`bases.default_dir`). With `verify`, its weights are hash-checked first: when a
    model is built from them (the int8 model is built once and cached)."""
    from index.embedding import bundled_model_path
    from qa import bases

    if name == BUNDLED_BASE:
        return bundled_model_path()
    if name not in bases.KNOWN:
        raise SupportModelError(f"the support model's base {name} is none that qa.bases knows "
                                f"({', '.join([BUNDLED_BASE, *bases.KNOWN])})")
    if not base_installed(name):
        raise SupportModelError(f"the support model's base {name} is not installed; run `python -m qa.bases` "
                                f"(scripts/setup.sh does), or set {bases.VARIABLE} to the folder that holds it")
    folder = bases.default_dir() / name
    if verify:
        try:
            bases.checked(folder, bases.KNOWN[name].sha256)
        except bases.WeightsMismatch as exc:
            raise SupportModelError(f"the support model's base: {exc}") from None
    return str(folder)


def base_installed(name: str) -> bool:
    """Whether the base `name` is bundled, or installed where `base_path` looks (its weights are
    checked when a model is built from them)."""
    from qa import bases

    return name == BUNDLED_BASE or bases.installed(bases.default_dir() / name)


@dataclass(frozen=True)
class Rule:
    """A logistic regression over the model's probability (as a logit) and cheap signals.

    The answer rule (`training/fit_answer_rule.py`) orders an extractive shortlist, and its
    probability for the first sentence decides whether to answer: on the training articles, the
    model's probability together with `extractive`'s signals finds the answering sentence more
    often than either alone. The claim rule (`training/fit_claim_rule.py`)
    decides whether evidence backs a claim, with `grounding.claim_features`.
    """

    weights: dict[str, float]  # "probability" weighs the model's logit; the rest weigh the signals
    bias: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias
        for name, weight in self.weights.items():
            value = features[name]
            if name == "probability":
                value = float(np.log(max(value, 1e-6) / max(1 - value, 1e-6)))
            z += weight * value
        return float(1 / (1 + np.exp(-z)))


@dataclass(frozen=True)
class SupportSettings:
    rank: int
    alpha: float
    targets: tuple[str, ...]  # suffixes of the linear layers that carry a low-rank update
    max_tokens: int
    answer_threshold: float  # below it, the best sentence does not answer: abstain
    claim_threshold: float  # at or above it, the evidence supports the claim
    evidence_sentences: int  # source sentences shown with a claim
    answer_rule: Rule | None = None  # None: the model's probability alone orders the shortlist and decides
    claim_rule: Rule | None = None  # None: the model's probability alone decides a claim
    named_threshold: float | None = None  # answer_threshold for a question asked of named documents; None: the same
    base: str = BUNDLED_BASE  # the encoder the updates apply to (`base_path`)
    second_reader: str | None = None  # a model folder beside this one that reads its best sentences again
    keep: int = KEEP  # how many of its best sentences the second reader reads
    span_reader: str | None = None  # a span reader's folder beside this one, whose scores the answer rule weighs

    @classmethod
    def read(cls, path: Path) -> SupportSettings:
        data = json.loads(path.read_text(encoding="utf-8"))
        second = data.get("second_reader") or {}
        keep = second.get("keep", KEEP) if isinstance(second, dict) else None
        if second and (keep is None or Path(str(second.get("model", ""))).name != second.get("model")
                       or not isinstance(keep, int) or keep < 1):
            raise ValueError("second_reader must be {\"model\": a folder beside this one, \"keep\": 1 or more}")
        spans = data.get("span_reader")
        if spans is not None and (not isinstance(spans, str) or Path(spans).name != spans or spans in {".", ".."}):
            raise ValueError("span_reader must be the name of a folder beside this one")
        rule = lambda key: Rule({k: float(v) for k, v in data[key]["weights"].items()}, float(data[key]["bias"])) \
            if data.get(key) else None  # noqa: E731
        if not spans and "reader" in (data.get("answer_rule") or {}).get("weights", {}):
            raise ValueError("the answer rule weighs a span reader, and span_reader names none")
        return cls(
            rank=int(data["rank"]), alpha=float(data["alpha"]), targets=tuple(data["targets"]),
            max_tokens=int(data["max_tokens"]), answer_threshold=float(data["answer_threshold"]),
            claim_threshold=float(data["claim_threshold"]), evidence_sentences=int(data["evidence_sentences"]),
            answer_rule=rule("answer_rule"), claim_rule=rule("claim_rule"),
            named_threshold=float(data["named_threshold"]) if data.get("named_threshold") is not None else None,
            base=str(data.get("base", BUNDLED_BASE)),
            second_reader=second.get("model"),
            keep=keep,
            span_reader=spans,
        )


def build_network(folder: str, attention: str | None = None):
    """The encoder in `folder` with a one-logit head on its mean-pooled output (untrained head)."""
    import torch

    from index.embedding import takes_token_types

    class CrossEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = base_encoder(folder, attention)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
            self.typed = takes_token_types(self.encoder)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            types = {"token_type_ids": token_type_ids} if self.typed and token_type_ids is not None else {}
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **types).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    return CrossEncoder()


def base_encoder(folder: str, attention: str | None = None):
    """The transformer in `folder` without its pooler, which no head here reads."""
    from transformers import AutoModel

    with quiet_transformers():  # it reports the unused pooler weights on every load
        return AutoModel.from_pretrained(folder, local_files_only=True, add_pooling_layer=False,
                                         attn_implementation=attention)


@contextmanager
def quiet_transformers():
    from transformers.utils import logging as transformers_logging

    before = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(before)


def target_layers(network, targets: Sequence[str]) -> dict[str, object]:
    """The encoder's linear layers that get a low-rank update, by module name."""
    import torch

    return {name: module for name, module in network.encoder.named_modules()
            if isinstance(module, torch.nn.Linear) and name.endswith(tuple(targets))}


def merged_network(model_dir: Path, settings: SupportSettings, attention: str | None = None):
    """The base encoder with the shipped updates merged into its weights, and the trained head."""
    from safetensors.torch import load_file
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    network = build_network(base_path(settings.base, verify=True), attention)
    merge_updates(network, load_file(str(model_dir / WEIGHTS)), settings)
    return network.eval()


def merge_updates(network, state: dict, settings) -> None:
    """Add the low-rank updates in `state` to the weights of the network's encoder and copy its
    trained head; `settings` give the rank, alpha and target layers (a support model's or the
    span reader's)."""
    import torch

    layers = target_layers(network, settings.targets)
    if not layers or settings.rank < 1:
        raise ValueError(f"its settings name no layer of its base, {settings.base}")
    scale = settings.alpha / settings.rank
    with torch.no_grad():
        for name, layer in layers.items():
            layer.weight += scale * (state[f"{name}.lora_up"].float() @ state[f"{name}.lora_down"].float())
        network.head.weight.copy_(state["head.weight"])
        network.head.bias.copy_(state["head.bias"])


def load_trained(what: str, model_dir: Path, precision: str, cache_dir: Path | None, read_settings,
                 int8_logits, fp32_logits):
    """The settings of a trained model in `model_dir` (the support model or the span reader) and
    its logits, in int8 or fp32; whatever stops it is one SupportModelError naming `what`, without
    file-system paths (the message may reach a web page)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from safetensors import SafetensorError

    if precision not in PRECISIONS:
        raise SupportModelError(f"unknown {what} precision {precision!r}; use one of: {', '.join(PRECISIONS)}")
    if not (model_dir / WEIGHTS).is_file() or not (model_dir / SETTINGS).is_file():
        raise SupportModelError(f"the {what} is missing: no {WEIGHTS} and {SETTINGS} in {model_dir.name}/")
    try:
        settings = read_settings(model_dir / SETTINGS)
        if precision == "int8":
            try:
                return settings, int8_logits(model_dir, settings, cache_dir)
            except (OSError, ValueError, KeyError, TypeError, SafetensorError, SupportModelError):
                raise
            except Exception as exc:  # the exporter, the quantiser and ONNX Runtime raise many types
                raise SupportModelError(f"cannot make the int8 {what} ({type(exc).__name__}); "
                                        "set QA_SUPPORT_PRECISION=fp32 to run the fp32 one") from None
        return settings, fp32_logits(model_dir, settings)
    except SupportModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as exc:
        reason = f"no weights for {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        raise SupportModelError(f"the {what} in {model_dir.name}/ is unreadable ({reason}); "
                                "reinstall the package or train it again") from None


class SupportModel:
    """Probabilities that the second text answers or supports the first, one per pair.

    In int8 (the default) the merged encoder runs on ONNX Runtime, quantised as the embedder is
    (`index.onnx_embedding`): made once from the bundled weights and the shipped updates, and
    cached; the mean pooling and the head run in numpy. In fp32 the torch network runs.
    """

    def __init__(self, logits, tokenizer, settings: SupportSettings, precision: str,
                 second: SupportModel | None = None, span_reader=None):
        self._logits = logits  # (list of tokenised pairs) -> one logit per pair
        self._tokenizer = tokenizer
        self.settings = settings
        self.precision = precision
        self.second = second  # reads this model's best `settings.keep` sentences again, and decides
        self.span_reader = span_reader  # the span reader (`qa.span_reader`) whose scores the answer rule weighs

    @property
    def answering(self) -> SupportModel:
        """The model whose answer rule decides whether a question is answered: the second reader
        when there is one."""
        return self.second or self

    @classmethod
    def shipped(cls, precision: str = "int8") -> SupportModel:
        """The model in the package, loaded once per process and shared: it only reads. Threads
        that ask while it loads wait for that load rather than start their own."""
        with _SHIPPED_LOCK:
            if precision not in _SHIPPED:
                _SHIPPED[precision] = cls.load(MODEL_DIR, precision)
            return _SHIPPED[precision]

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR, precision: str = "int8", cache_dir: Path | None = None,
             second: bool = True) -> SupportModel:
        """The model in `model_dir`, the span reader its settings name, and, with `second`, the
        second reader they name. A second reader whose base is not installed where setup puts it
        is left out with a warning: the answers are then this model's alone. (Where
        $QA_BASE_MODELS names the folder, that it lacks the base is an error.)"""
        from qa import bases

        model = cls._load(model_dir, precision, cache_dir)
        name = model.settings.second_reader
        if second and name:
            folder = model_dir.parent / name
            try:
                base = SupportSettings.read(folder / SETTINGS).base if (folder / SETTINGS).is_file() else BUNDLED_BASE
            except (OSError, ValueError, KeyError, TypeError):
                raise SupportModelError(f"the second reader's settings in {name}/ are unreadable") from None
            # Only a known base missing from where set-up puts it falls back; anything else loads
            # or says what is wrong.
            falls_back = base in bases.KNOWN and not base_installed(base) and not os.environ.get(bases.VARIABLE)
            if not falls_back:
                model.second = cls._load(folder, precision, cache_dir)
            else:
                log.warning("the second reader's base %s is not installed, so answers use the first reader "
                            "alone; run `python -m qa.bases` to install it", base)
        return model

    @classmethod
    def _load(cls, model_dir: Path, precision: str, cache_dir: Path | None) -> SupportModel:
        from tokenizers import Tokenizer

        settings, logits = load_trained("support model", model_dir, precision, cache_dir, SupportSettings.read,
                                        _int8_logits, lambda d, s: _torch_logits(merged_network(d, s)))
        tokenizer = Tokenizer.from_file(str(Path(base_path(settings.base)) / "tokenizer.json"))
        tokenizer.enable_truncation(settings.max_tokens, strategy="longest_first")
        tokenizer.no_padding()
        span_reader = None
        if settings.span_reader:
            from qa.span_reader import SpanReader

            span_reader = SpanReader.load(model_dir.parent / settings.span_reader, precision, cache_dir)
        return cls(logits, tokenizer, settings, precision, span_reader=span_reader)

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(pairs))
        logits = np.asarray(self._logits(encodings), dtype=np.float64)
        return (1 / (1 + np.exp(-logits))).astype(np.float32)


def _int8_logits(model_dir: Path, settings: SupportSettings, cache_dir: Path | None):
    """Logits from the int8 model, one pair per call: dynamic quantisation scales a call's
    activations together, so a pair scored alone gets the same probability whatever else is
    scored beside it. Many pairs are spread over every core while no other batch holds them (that
    was also faster than batches here), else scored on the calling thread."""
    from safetensors.numpy import load_file

    from index.onnx_embedding import default_cache_dir, inference_session, mean_pooled, quantised_model

    path = quantised_model(Path(base_path(settings.base)), cache_dir or default_cache_dir(), "support",
                           encoder=lambda: merged_network(model_dir, settings, attention="eager").encoder,
                           depends_on=(model_dir / WEIGHTS,))  # not the settings: refitted rules change no weight
    session = inference_session(path, threads=1)  # sessions may run concurrently
    state = load_file(str(model_dir / WEIGHTS))
    weight, bias = state["head.weight"].astype(np.float32).reshape(-1), float(state["head.bias"].reshape(-1)[0])

    def one(encoding) -> float:
        return float(mean_pooled(session, [encoding])[0] @ weight + bias)

    return one_at_a_time(one, "support-model")


def one_at_a_time(one, name: str, small: int = SMALL_BATCH):
    """`one` over a list of encodings, one per call: more than `small` of them spread over every
    core while no other batch holds them, else on the calling thread."""
    from index.embedding import every_core_if_free

    cores = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix=name)

    def each(encodings) -> list:
        with every_core_if_free(len(encodings), small) as spread:
            return list(cores.map(one, encodings)) if spread else [one(e) for e in encodings]

    return each


def _torch_logits(network):
    def logits(encodings, batch_size: int = 32) -> np.ndarray:
        import torch

        from index.embedding import cpu_threads
        from index.onnx_embedding import padded

        # Sorted by length, so that each batch pads little.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.zeros(len(encodings), dtype=np.float32)
        with cpu_threads(len(encodings)), torch.inference_mode():
            for begin in range(0, len(order), batch_size):
                chunk = order[begin:begin + batch_size]
                ids, mask, types = (torch.from_numpy(a) for a in padded([encodings[i] for i in chunk]))
                out[chunk] = network(ids, mask, types).numpy()
        return out

    return logits


def claim_evidence(scores: np.ndarray, spans: Sequence[tuple[int, int]], count: int) -> list[int]:
    """The `count` best-scoring source sentences for one claim, in reading order.

    `scores` ranks every candidate sentence by a cheap signal (shared words and embedding
    closeness); `spans` are (passage index, start) pairs that give the reading order. A claim
    often joins facts from neighbouring sentences, so the model sees these together.
    """
    best = np.argsort(-scores, kind="stable")[:count]
    return sorted((int(i) for i in best), key=lambda i: spans[i])

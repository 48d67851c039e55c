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

import functools
import json
import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import SupportModelError

MODEL_DIR = Path(__file__).resolve().parent / "models" / "support"
WEIGHTS = "adapter.safetensors"
SETTINGS = "settings.json"


@dataclass(frozen=True)
class Rule:
    """A logistic regression over the model's probability (as a logit) and cheap signals.

    The answer rule (`training/fit_answer_rule.py`) orders an extractive shortlist: on the
    training articles, the model's probability together with `extractive`'s signals finds the
    answering sentence more often than either alone. The claim rule (`training/fit_claim_rule.py`)
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
    answer_rule: Rule | None = None  # None: the model's probability alone orders the shortlist
    claim_rule: Rule | None = None  # None: the model's probability alone decides a claim

    @classmethod
    def read(cls, path: Path) -> SupportSettings:
        data = json.loads(path.read_text(encoding="utf-8"))
        rule = lambda key: Rule({k: float(v) for k, v in data[key]["weights"].items()}, float(data[key]["bias"])) \
            if data.get(key) else None  # noqa: E731
        return cls(
            rank=int(data["rank"]), alpha=float(data["alpha"]), targets=tuple(data["targets"]),
            max_tokens=int(data["max_tokens"]), answer_threshold=float(data["answer_threshold"]),
            claim_threshold=float(data["claim_threshold"]), evidence_sentences=int(data["evidence_sentences"]),
            answer_rule=rule("answer_rule"), claim_rule=rule("claim_rule"),
        )


def build_network(base_path: str):
    """The bundled encoder with a one-logit head on its mean-pooled output (untrained head)."""
    import torch
    from transformers import AutoModel

    class CrossEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            with _quiet_transformers():  # it reports the unused pooler weights on every load
                self.encoder = AutoModel.from_pretrained(base_path, local_files_only=True, add_pooling_layer=False)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    return CrossEncoder()


@contextmanager
def _quiet_transformers():
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


class SupportModel:
    """Probabilities that the second text answers or supports the first, one per pair."""

    def __init__(self, network, tokenizer, settings: SupportSettings):
        self._network = network
        self._tokenizer = tokenizer
        self.settings = settings
        self._tokenizing = threading.Lock()  # a fast tokenizer changes its own settings per call

    @classmethod
    @functools.cache
    def shipped(cls) -> SupportModel:
        """The model in the package, loaded once per process and shared: it only reads."""
        return cls.load(MODEL_DIR)

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR) -> SupportModel:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        from transformers import AutoTokenizer
        from transformers.utils import logging as transformers_logging

        from index.embedding import bundled_model_path

        transformers_logging.disable_progress_bar()
        weights, settings_file = model_dir / WEIGHTS, model_dir / SETTINGS
        if not weights.is_file() or not settings_file.is_file():
            raise SupportModelError(f"the support model is missing: no {WEIGHTS} and {SETTINGS} in {model_dir.name}/")
        try:
            settings = SupportSettings.read(settings_file)
            state = load_file(str(weights))
            base = bundled_model_path()
            network = build_network(base)
            layers = target_layers(network, settings.targets)
            if not layers or settings.rank < 1:
                raise ValueError("its settings name no layer of the bundled model")
            scale = settings.alpha / settings.rank
            with torch.no_grad():
                for name, layer in layers.items():
                    layer.weight += scale * (state[f"{name}.lora_up"].float() @ state[f"{name}.lora_down"].float())
                network.head.weight.copy_(state["head.weight"])
                network.head.bias.copy_(state["head.bias"])
            network.eval()
            tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as exc:
            # The reason without file-system paths: this message may reach a web page.
            reason = f"no weights for {exc}" if isinstance(exc, KeyError) else type(exc).__name__
            raise SupportModelError(f"the support model in {model_dir.name}/ is unreadable ({reason}); "
                                    "reinstall the package or train it again") from None
        return cls(network, tokenizer, settings)

    def probabilities(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        import torch

        from index.embedding import cpu_threads

        # Sorted by length, so that each batch pads little.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        scores = np.zeros(len(pairs), dtype=np.float32)
        with cpu_threads(len(pairs)), torch.inference_mode():
            for begin in range(0, len(order), batch_size):
                chunk = order[begin:begin + batch_size]
                with self._tokenizing:
                    batch = self._tokenizer(
                        [pairs[i][0] for i in chunk], [pairs[i][1] for i in chunk],
                        truncation="longest_first", max_length=self.settings.max_tokens,
                        padding=True, return_tensors="pt",
                    )
                logits = self._network(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
                scores[chunk] = torch.sigmoid(logits).numpy()
        return scores


def claim_evidence(scores: np.ndarray, spans: Sequence[tuple[int, int]], count: int) -> list[int]:
    """The `count` best-scoring source sentences for one claim, in reading order.

    `scores` ranks every candidate sentence by a cheap signal (shared words and embedding
    closeness); `spans` are (passage index, start) pairs that give the reading order. A claim
    often joins facts from neighbouring sentences, so the model sees these together.
    """
    best = np.argsort(-scores, kind="stable")[:count]
    return sorted((int(i) for i in best), key=lambda i: spans[i])

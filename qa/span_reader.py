"""The span reader: where in a passage the answer to a question lies.

The support model reads one sentence at a time, so it cannot see that "It was the third-most
watched U.S. broadcast ever." answers a question about the show that the sentence before names.
The span reader reads a stretch of a passage with the question and gives every token a logit for
the answer starting there and one for it ending there (extractive question answering, trained on
SQuAD by `training/train_reader.py`). A sentence's score is that of the best span inside it, and
the answer rule (`extractive.reader_scores`) weighs each shortlisted sentence's score beside the
support model's probability.

What training changed is shipped beside this file (`models/reader/`), as the support model's is:
low-rank updates of the bundled all-MiniLM-L6-v2, merged into its weights when the model loads,
and the start/end head. In int8 (the default) the merged encoder runs on ONNX Runtime, made once
and cached; the head runs in numpy.

    reader = SpanReader.load()
    reader.sentence_scores("Who won?", "It rained. Denver won the game.", [(0, 10), (11, 31)])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.support import BUNDLED_BASE, WEIGHTS, base_encoder, base_path, load_trained, merge_updates, one_at_a_time

MODEL_DIR = Path(__file__).resolve().parent / "models" / "reader"
STRIDE = 64  # tokens a window of a long passage shares with the one before
NONE = -1e4  # the score of a sentence the reader gave no token


@dataclass(frozen=True)
class ReaderSettings:
    rank: int
    alpha: float
    targets: tuple[str, ...]  # suffixes of the linear layers that carry a low-rank update
    max_tokens: int  # the question and a window of the passage
    longest_answer: int  # tokens
    base: str = BUNDLED_BASE

    @classmethod
    def read(cls, path: Path) -> ReaderSettings:
        data = json.loads(path.read_text(encoding="utf-8"))
        settings = cls(rank=int(data["rank"]), alpha=float(data["alpha"]), targets=tuple(data["targets"]),
                       max_tokens=int(data["max_tokens"]), longest_answer=int(data["longest_answer"]),
                       base=str(data.get("base", BUNDLED_BASE)))
        # A window holds at most half of it in question, three marks, and more passage than STRIDE.
        if settings.max_tokens - settings.max_tokens // 2 - 3 <= STRIDE or settings.longest_answer < 1:
            raise ValueError(f"max_tokens must leave more than {STRIDE} tokens of passage, and longest_answer "
                             "must be 1 or more")
        return settings


def build_network(folder: str, attention: str | None = None):
    """The encoder in `folder` with a head that gives every token a start and an end logit
    (untrained head)."""
    import torch

    from index.embedding import takes_token_types

    class SpanNetwork(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = base_encoder(folder, attention)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)
            self.typed = takes_token_types(self.encoder)  # MiniLM does, mpnet does not

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            types = {"token_type_ids": token_type_ids} if self.typed and token_type_ids is not None else {}
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **types).last_hidden_state
            logits = self.head(hidden).masked_fill(attention_mask.unsqueeze(-1) == 0, NONE)
            return logits[..., 0], logits[..., 1]

    return SpanNetwork()


def merged_network(model_dir: Path, settings: ReaderSettings, attention: str | None = None):
    """The base encoder with the shipped updates merged into its weights, and the trained head."""
    from safetensors.torch import load_file
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    network = build_network(base_path(settings.base, verify=True), attention)
    merge_updates(network, load_file(str(model_dir / WEIGHTS)), settings)
    return network.eval()


def best_span(starts: np.ndarray, ends: np.ndarray, longest: int) -> float:
    """The highest start + end logit of a span of at most `longest` tokens within these tokens."""
    n = len(starts)
    if not n:
        return NONE
    padded = np.concatenate([ends, np.full(longest - 1, -np.inf)])
    window_best = np.lib.stride_tricks.sliding_window_view(padded, longest).max(axis=1)[:n]
    return float(np.max(starts + window_best))


def log_shares(scores: np.ndarray) -> np.ndarray:
    """Each score's share of them all, as a log (a softmax over sentences)."""
    return scores - np.logaddexp.reduce(scores) if len(scores) else scores


class SpanReader:
    """Scores for sentences of a passage: how likely the answer lies in each, as the reader sees it."""

    def __init__(self, logits, tokenizer_file: Path, settings: ReaderSettings, precision: str):
        from tokenizers import Tokenizer

        self._logits = logits  # (list of tokenised windows) -> a (tokens, 2) array per window
        self._words = Tokenizer.from_file(str(tokenizer_file))  # a question alone, untruncated
        self._words.no_truncation()
        self._words.no_padding()  # the bundled tokenizer pads to 128 tokens
        self._pairs = Tokenizer.from_file(str(tokenizer_file))  # the question with windows of the passage
        self._pairs.enable_truncation(settings.max_tokens, stride=STRIDE, strategy="only_second")
        self._pairs.no_padding()
        self.settings = settings
        self.precision = precision

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR, precision: str = "int8", cache_dir: Path | None = None) -> SpanReader:
        settings, logits = load_trained("span reader", model_dir, precision, cache_dir, ReaderSettings.read,
                                        _int8_logits, lambda d, s: _torch_logits(merged_network(d, s)))
        return cls(logits, Path(base_path(settings.base)) / "tokenizer.json", settings, precision)

    @classmethod
    def of_network(cls, network, settings: ReaderSettings) -> SpanReader:
        """A reader over a torch network in memory (one being trained), in fp32."""
        return cls(_torch_logits(network), Path(base_path(settings.base)) / "tokenizer.json", settings, "fp32")

    def windows(self, question: str, text: str) -> list:
        """The question with the passage, tokenised, in windows of at most `max_tokens` tokens
        that overlap by STRIDE; a question longer than half of that is cut to it."""
        return self._windows(self._cut(question), text)

    def _cut(self, question: str) -> str:
        """The question, cut to half of `max_tokens` tokens."""
        half = self.settings.max_tokens // 2
        asked = self._words.encode(question, add_special_tokens=False)
        return question[:asked.offsets[half][0]] if len(asked.ids) > half else question

    def _windows(self, question: str, text: str) -> list:
        encoding = self._pairs.encode(question, text)
        return [encoding, *encoding.overflowing]

    def sentence_scores(self, question: str, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """For each sentence (a character span of `text`), the score of the best answer span that
        starts and ends inside it: the start logit of its first token plus the end logit of its
        last; NONE for a sentence with no token in any window."""
        return self.passage_scores(question, [(text, spans)])[0]

    def passage_scores(self, question: str,
                       passages: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[np.ndarray]:
        """`sentence_scores` of each (text, sentence spans) passage, with every window of every
        passage read in one call (spread over the cores)."""
        question = self._cut(question)  # once for all the passages
        windows = [(i, w) for i, (text, spans) in enumerate(passages) if spans and text.strip()
                   for w in self._windows(question, text)]
        scores = [np.full(len(spans), NONE) for _, spans in passages]
        for (i, window), logits in zip(windows, self._logits([w for _, w in windows])):
            sequence = np.array([s == 1 for s in window.sequence_ids])
            tokens = np.flatnonzero(sequence)
            begins = np.array(window.offsets)[tokens, 0]
            for j, (start, end) in enumerate(passages[i][1]):
                inside = tokens[(begins >= start) & (begins < end)]
                if len(inside):
                    scores[i][j] = max(scores[i][j], best_span(logits[inside, 0], logits[inside, 1],
                                                               self.settings.longest_answer))
        return scores


def _int8_logits(model_dir: Path, settings: ReaderSettings, cache_dir: Path | None):
    """Start and end logits from the int8 model, one window per call (as the support model's, so
    that a window's logits do not depend on what else is read beside it)."""
    from safetensors.numpy import load_file

    from index.onnx_embedding import default_cache_dir, inference_session, padded, quantised_model

    path = quantised_model(Path(base_path(settings.base)), cache_dir or default_cache_dir(), "reader",
                           encoder=lambda: merged_network(model_dir, settings, attention="eager").encoder,
                           depends_on=(model_dir / WEIGHTS,))
    session = inference_session(path, threads=1)
    state = load_file(str(model_dir / WEIGHTS))
    weight, bias = state["head.weight"].astype(np.float32), state["head.bias"].astype(np.float32)
    typed = "token_type_ids" in {i.name for i in session.get_inputs()}

    def one(encoding) -> np.ndarray:
        ids, mask, types = padded([encoding])
        feed = {"input_ids": ids, "attention_mask": mask, **({"token_type_ids": types} if typed else {})}
        return session.run(None, feed)[0][0] @ weight.T + bias

    return one_at_a_time(one, "span-reader", small=1)  # a window is a batch's worth of work


def _torch_logits(network):
    def logits(encodings) -> list[np.ndarray]:
        import torch

        from index.embedding import cpu_threads
        from index.onnx_embedding import padded

        out = []
        with cpu_threads(len(encodings)), torch.inference_mode():
            for encoding in encodings:
                ids, mask, types = (torch.from_numpy(a) for a in padded([encoding]))
                starts, ends = network(ids, mask, types)
                out.append(np.stack([starts[0].numpy(), ends[0].numpy()], axis=1))
        return out

    return logits

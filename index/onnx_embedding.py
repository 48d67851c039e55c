"""The embedding model on ONNX Runtime, its weights quantised to int8, made from the local weights.

The first use exports the sentence-transformers model (a BERT encoder; mean pooling and
normalisation are done here, as its modules.json says) to ONNX, fuses its attention and layer
norms with ONNX Runtime's transformer optimiser, and quantises the weights of its matrix products
to int8 (per output channel) with dynamic quantisation, which runs on the CPU's integer
dot-product instructions (AVX-512 VNNI where present). The word embeddings stay fp32: quantising
them too was a little faster and further from the fp32 vectors (bench/RESULTS-embedding.md).

The result is cached under `cache_dir` in a folder named by a digest of the weights and the
recipe, so a change of either makes a new one; nothing is downloaded. The support model
(`qa.support`), the same encoder with trained updates merged in, is made the same way through
`quantised_model(..., encoder=...)` and runs on `inference_session` and `mean_pooled` too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.embedding import BUNDLED_MODEL, EMBED_BATCH, SMALL_BATCH, _ALL_CORES, bundled_model_path, takes_token_types
from index.settings import EmbeddingModelError

log = logging.getLogger(__name__)

RECIPE = "onnx-opset17-fused-bert-int8-matmul-per-channel-v1"  # change it when the export or quantisation changes
MAX_TOKENS = 256  # what all-MiniLM-L6-v2 was trained to read (sentence_bert_config.json)


def default_cache_dir() -> Path:
    """Where quantised models are kept between runs: the user's cache folder."""
    return Path.home() / ".cache" / "qa-corpus" / "models"


def _weights_digest(model_dir: Path, depends_on: Sequence[Path] = ()) -> str:
    """A digest of the files the model is made from; cheap: sizes and the config, not 90 MB of
    weights. `depends_on` are small files read whole (a fine-tuned model's own weights)."""
    digest = hashlib.sha256(RECIPE.encode())
    for name in ("config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json"):
        path = model_dir / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for path in depends_on:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def quantised_model(model_dir: Path, cache_dir: Path, name: str, encoder: Callable[[], object] | None = None,
                    depends_on: Sequence[Path] = ()) -> Path:
    """The int8 ONNX file for a BERT or MPNet encoder, made on first use and kept in `cache_dir`.

    The encoder is the one in `model_dir`, or the torch module that `encoder()` builds (eager
    attention, returning the last hidden state) from it and the files `depends_on` names.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit("/", 1)[-1]) or "model"
    target = cache_dir / f"{safe}-{_weights_digest(model_dir, depends_on)}"
    model = target / "model-int8.onnx"
    if model.is_file():
        return model
    log.info("making the int8 model of %s in %s (once)", name, target)
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f".making-{os.getpid()}-{threading.get_ident()}"
    staging.mkdir(exist_ok=True)
    try:
        fp32 = staging / "model.onnx"
        _export(encoder() if encoder else _sentence_encoder(model_dir), fp32)
        fused = staging / "model-fused.onnx"
        _fuse(fp32, fused, json.loads((model_dir / "config.json").read_text()))
        int8 = staging / "model-int8.onnx"
        _quantise(fused, int8)
        int8.replace(model)  # atomic: a concurrent first use finds a whole file or none
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return model


def _sentence_encoder(model_dir: Path):
    """The transformer of a sentence-transformers model, as `_export` takes it."""
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Eager attention: the fused kernel's path depends on the mask's values, which a trace would
    # freeze to those of the example.
    return AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")


def _export(bert, target: Path) -> None:
    import torch

    typed = takes_token_types(bert)  # else the graph has no such input

    class Encoder(torch.nn.Module):  # keyword arguments: the model's positional order varies by version
        def __init__(self):
            super().__init__()
            self.bert = bert.eval()

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            types = {"token_type_ids": token_type_ids} if typed else {}
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, **types).last_hidden_state

    encoder = Encoder().eval()
    names = ["input_ids", "attention_mask", "token_type_ids"][:3 if typed else 2]
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 9:] = 0  # a padded row, so that nothing about the mask is traced as a constant
    example = (ids, mask, torch.zeros_like(ids))[:len(names)]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on the model's Python branches
        # The TorchScript exporter: it needs only `onnx`, and gives one self-contained file.
        torch.onnx.export(encoder, example, str(target), input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def _fuse(source: Path, target: Path, config: dict) -> None:
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(source), model_type="bert", num_heads=int(config["num_attention_heads"]),
                                     hidden_size=int(config["hidden_size"]))
    fused.save_model_to_file(str(target))


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Weights to signed int8, one scale per output channel; activations quantised on the fly.
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fused ops lack shapes


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (or a local sentence-transformers BERT model) with int8 weights on ONNX Runtime.

    Two sessions share the work as `cpu_threads` does for the torch model: one on a single thread
    for queries (so that concurrent requests each get a core, no lock), one on every core for
    batches, one batch at a time across the process.
    """

    precision = "int8"

    def __init__(self, model: str = "", batch_size: int = EMBED_BATCH, cache_dir: Path | None = None):
        self.name = model or BUNDLED_MODEL
        self.batch_size = batch_size
        self.max_tokens = MAX_TOKENS
        self._dir = Path(model or bundled_model_path())
        self._cache_dir = cache_dir or default_cache_dir()
        self._sessions: tuple | None = None
        self._loading = threading.Lock()
        self.dimension = int(json.loads((self._dir / "config.json").read_text())["hidden_size"])

    @staticmethod
    def supports(model_dir: Path) -> bool:
        """Whether the folder holds a model this class runs as sentence-transformers would: a BERT
        encoder, mean pooling, then normalisation, with a fast tokenizer."""
        try:
            config = json.loads((model_dir / "config.json").read_text())
            modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((model_dir / "modules.json").read_text())]
            pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return (config.get("model_type") == "bert" and modules == ["Transformer", "Pooling", "Normalize"]
                and pooling.get("pooling_mode_mean_tokens") is True and (model_dir / "tokenizer.json").is_file()
                and not any(v for k, v in pooling.items() if k.startswith("pooling_mode_") and
                            k != "pooling_mode_mean_tokens"))

    def _load(self):
        with self._loading:
            if self._sessions is None:
                from tokenizers import Tokenizer

                try:
                    path = quantised_model(self._dir, self._cache_dir, self.name)
                    sessions = [inference_session(path, threads) for threads in (1, os.cpu_count() or 1)]
                except Exception as exc:  # the exporter, the quantiser and ONNX Runtime raise many types
                    raise EmbeddingModelError(f"cannot make the int8 model of {self.name!r} in {self._cache_dir}: "
                                              f"{exc}; set QA_EMBED_PRECISION=fp32 to run the fp32 one") from None
                tokenizer = Tokenizer.from_file(str(self._dir / "tokenizer.json"))
                tokenizer.enable_truncation(MAX_TOKENS)  # as sentence-transformers does: the rest is not read
                tokenizer.no_padding()
                self._sessions = (tokenizer, *sessions)
            return self._sessions

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        tokenizer, one, every = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        # Shortest first, as sentence-transformers does, so that each batch pads little.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        small = len(texts) <= SMALL_BATCH
        lock = threading.Lock() if small else _ALL_CORES
        with lock:
            for i in range(0, len(order), self.batch_size):
                part = order[i : i + self.batch_size]
                out[part] = mean_pooled(one if small else every, [encodings[j] for j in part])
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def inference_session(path: Path, threads: int):
    """An ONNX Runtime session on the CPU that runs one call on `threads` threads."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def padded(encodings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids, attention mask and token types of tokenised texts (or pairs), padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
        types[row, : len(e.ids)] = e.type_ids
    return ids, mask, types


@functools.lru_cache(maxsize=16)
def _typed(session) -> bool:
    """Whether the session's graph takes token types; asked once per session."""
    return "token_type_ids" in {i.name for i in session.get_inputs()}


def mean_pooled(session, encodings) -> np.ndarray:
    """The mean of the last hidden state over each tokenised text's (or pair's) own tokens."""
    ids, mask, types = padded(encodings)
    feed = {"input_ids": ids, "attention_mask": mask, **({"token_type_ids": types} if _typed(session) else {})}
    hidden = session.run(None, feed)[0]
    summed = (hidden * mask[:, :, None]).sum(axis=1)
    return summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)

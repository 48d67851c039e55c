"""What the support model's base costs per question: MiniLM-L6 (bundled) against all-mpnet-base-v2.

    python -m qa.bases --to models                        # fetched from the registry, hash-checked
    python bench/base_latency.py models/all-mpnet-base-v2 --out bench/RESULTS-base-latency.md

An extractive answer reads a shortlist of 8 (question, sentence) pairs, so the figure is the time
of 8 pairs of 64 tokens, as a cross-encoder (encoder and mean pooling), in torch fp32 and in int8
on ONNX Runtime (dynamic quantisation of the linear layers, as the shipped models run). Each
configuration runs in turn, round after round, and the median of the rounds is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

PAIRS, TOKENS = 8, 64


def inputs(vocab_size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, vocab_size - 1, size=(PAIRS, TOKENS)).astype(np.int64)
    return ids, np.ones_like(ids)


def torch_runner(model_dir: Path):
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
    ids, mask = inputs(encoder.config.vocab_size)

    def run() -> None:
        with torch.inference_mode():
            encoder(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.mean(1)

    return encoder, run


def int8_runner(encoder, work: Path):
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids, mask = inputs(encoder.config.vocab_size)
    fp32, int8 = work / "model.onnx", work / "model-int8.onnx"
    torch.onnx.export(Plain().eval(), (torch.from_numpy(ids), torch.from_numpy(mask)), str(fp32),
                      input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                      dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"}},
                      opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    session = onnxruntime.InferenceSession(str(int8), options, providers=["CPUExecutionProvider"])

    def run() -> None:
        session.run(None, {"input_ids": ids, "attention_mask": mask})[0].mean(1)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mpnet", type=Path, help="the folder of all-mpnet-base-v2 (`python -m qa.bases`)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from index.embedding import bundled_model_path

    torch.set_num_threads(os.cpu_count() or 1)
    runners = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in (("MiniLM-L6", Path(bundled_model_path())), ("mpnet-base", args.mpnet)):
            encoder, run = torch_runner(path)
            runners[f"{name} fp32 (torch)"] = run
            work = Path(tmp) / name
            work.mkdir()
            runners[f"{name} int8 (ONNX Runtime)"] = int8_runner(encoder, work)
        times = {name: [] for name in runners}
        for run in runners.values():
            run()  # warm up
        for _ in range(args.rounds):
            for name, run in runners.items():
                began = time.perf_counter()
                run()
                times[name].append((time.perf_counter() - began) * 1000)
    base = statistics.median(times["MiniLM-L6 fp32 (torch)"])
    rows = [f"| {name} | {statistics.median(t):.0f} | {statistics.median(t) / base:.2f}x |" for name, t in times.items()]
    table = "\n".join(["| base, precision | ms for 8 pairs of 64 tokens (median) | against MiniLM-L6 fp32 |",
                       "| --- | ---: | ---: |", *rows])
    print(table)
    if args.out:
        load = os.getloadavg()
        args.out.write_text(f"# The support model's base: cost per shortlist\n\n{__doc__.split(chr(10) * 2, 1)[1]}\n"
                            f"Command: `python bench/base_latency.py MPNET_DIR --rounds {args.rounds}`; load average "
                            f"at the end {load[0]:.2f}.\n\n{table}\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

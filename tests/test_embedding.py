"""The int8 embedder: made from the bundled weights, cached, close to fp32, and at home in an fp32 index."""

from __future__ import annotations

import numpy as np
import pytest

from index import IndexSettings, ingest, open_index
from index.embedding import SentenceTransformerEmbedder, load_embedder
from index.onnx_embedding import OnnxEmbedder
from index.settings import EmbeddingModelError

from tests.conftest import SAMPLE_CORPUS


@pytest.fixture(scope="session")
def int8_embedder(tmp_path_factory) -> OnnxEmbedder:
    return OnnxEmbedder(cache_dir=tmp_path_factory.mktemp("model-cache"))


def sample_passages() -> list[str]:
    return [p for f in sorted(SAMPLE_CORPUS.glob("*.txt")) for p in f.read_text(encoding="utf-8").split("\n\n")
            if len(p.split()) > 5]


def test_int8_vectors_are_close_to_fp32_ones(int8_embedder, embedder):
    passages = sample_passages()
    assert len(passages) > 20
    int8, fp32 = int8_embedder.embed(passages), embedder.embed(passages)
    assert int8.shape == fp32.shape == (len(passages), 384) and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    similarity = (int8 * fp32).sum(axis=1)
    assert similarity.min() > 0.97 and similarity.mean() > 0.99
    # Alone (one thread, no padding, activations quantised on its own range) a text keeps its direction.
    alone = np.stack([int8_embedder.embed([p])[0] for p in passages[:5]])
    assert ((alone * int8[:5]).sum(axis=1) > 0.98).all()


def test_the_int8_model_is_made_once_and_kept(int8_embedder, tmp_path):
    int8_embedder.embed(["warm"])
    [made] = list(int8_embedder._cache_dir.rglob("model-int8.onnx"))
    stamp = made.stat().st_mtime_ns
    again = OnnxEmbedder(cache_dir=int8_embedder._cache_dir)
    again.embed(["a second process would find it"])
    assert list(again._cache_dir.rglob("*.onnx")) == [made] and made.stat().st_mtime_ns == stamp
    assert not list(again._cache_dir.rglob(".making-*"))


def test_an_index_built_with_fp32_vectors_serves_int8_queries(tmp_path, int8_embedder, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([SAMPLE_CORPUS], settings, embedder=embedder)
    reader = open_index(settings, int8_embedder)  # the same model: no mismatch
    query = "Who attacked policemen in Grozny?"
    fp32_top = [c for c, _ in open_index(settings, embedder).dense(embedder.embed([query])[0], 3)]
    int8_top = [c for c, _ in reader.dense(int8_embedder.embed([query])[0], 3)]
    assert int8_top[0] == fp32_top[0]
    # and an ingest with the int8 model adds to it without a rebuild
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text("The Tarnwick ferry pier closed after the storm.\n", encoding="utf-8")
    assert ingest([extra], settings, embedder=int8_embedder).added == 1


def test_the_default_is_int8_and_fp32_can_be_chosen(tmp_path):
    assert isinstance(load_embedder(), OnnxEmbedder)
    assert isinstance(load_embedder(precision="fp32"), SentenceTransformerEmbedder)
    with pytest.raises(EmbeddingModelError, match="fp32"):
        load_embedder(precision="fp8")


def test_the_precision_comes_from_the_environment():
    from qa.config import Config, ConfigError

    assert Config.from_env({}).embed_precision == "int8"
    assert Config.from_env({"QA_EMBED_PRECISION": "fp32"}).index_settings().embed_precision == "fp32"
    with pytest.raises(ConfigError, match="QA_EMBED_PRECISION"):
        Config.from_env({"QA_EMBED_PRECISION": "int4"})

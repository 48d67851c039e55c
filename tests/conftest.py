"""Shared fixtures: the real embedding model, a real index of the sample corpus in tmp dirs.

Every test runs with a scrubbed QA_* environment and offline, so nothing of the user's setup
(an index dir, an LLM endpoint) leaks in.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from index.embedding import SentenceTransformerEmbedder
from qa.config import Config
from qa.service import Assistant
from qa.support import SupportModel

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = ROOT / "docs_corpus"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "default-index"))


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def support_model() -> SupportModel:
    return SupportModel.shipped()


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory, embedder) -> Path:
    """The sample corpus, ingested once per session; tests must not write to it."""
    index_dir = tmp_path_factory.mktemp("sample-index")
    Assistant(Config(index_dir=index_dir, corpus_dir=SAMPLE_CORPUS), embedder=embedder).ingest()
    return index_dir


@pytest.fixture(scope="session")
def assistant(sample_index_dir, embedder, support_model) -> Assistant:
    """An extractive assistant over the sample index."""
    return Assistant(Config(index_dir=sample_index_dir, corpus_dir=SAMPLE_CORPUS), embedder=embedder,
                     support=support_model)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, target)
    return target

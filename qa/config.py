"""All settings in one object, built from QA_* environment variables in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from index import IndexSettings

MODES = ("auto", "extractive", "llm")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    model: str
    api_key: str = "not-needed"
    timeout: float = 60.0


@dataclass(frozen=True)
class Config:
    index_dir: Path = Path(".qa_index")
    corpus_dir: Path = Path("docs_corpus")
    embed_model: str = ""  # empty: the bundled all-MiniLM-L6-v2
    chroma_host: str | None = None
    chroma_port: int = 8000
    collection: str = "qa_chunks"
    chunk_tokens: int = 192
    chunk_overlap_tokens: int = 32
    top_k: int = 5
    candidates: int = 50  # per retriever, before fusion
    mode: str = "auto"
    abstain_below: float = 0.46  # chosen on eval/gold_sample.jsonl: most questions handled right
    max_question_chars: int = 4000
    llm: LLMSettings | None = None
    host: str = "127.0.0.1"
    port: int = 7860

    def index_settings(self) -> IndexSettings:
        return IndexSettings(
            index_dir=self.index_dir,
            embed_model=self.embed_model,
            chunk_tokens=self.chunk_tokens,
            chunk_overlap_tokens=self.chunk_overlap_tokens,
            chroma_host=self.chroma_host,
            chroma_port=self.chroma_port,
            collection=self.collection,
        )

    def with_(self, **changes) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        get = lambda name: env.get(f"QA_{name}") or None  # noqa: E731
        llm = None
        if get("LLM_BASE_URL"):
            llm = LLMSettings(
                base_url=get("LLM_BASE_URL"),
                model=get("LLM_MODEL") or "default",
                api_key=get("LLM_API_KEY") or "not-needed",
                timeout=_number(get("LLM_TIMEOUT") or "60", "QA_LLM_TIMEOUT", float),
            )
        mode = get("MODE") or "auto"
        if mode not in MODES:
            raise ConfigError(f"QA_MODE must be one of {', '.join(MODES)}, not {mode!r}")
        defaults = cls()
        return cls(
            index_dir=Path(get("INDEX_DIR") or defaults.index_dir),
            corpus_dir=Path(get("CORPUS_DIR") or _default_corpus()),
            embed_model=get("EMBED_MODEL") or "",
            chroma_host=get("CHROMA_HOST"),
            chroma_port=_number(get("CHROMA_PORT") or "8000", "QA_CHROMA_PORT"),
            collection=get("CHROMA_COLLECTION") or defaults.collection,
            chunk_tokens=_number(get("CHUNK_TOKENS") or str(defaults.chunk_tokens), "QA_CHUNK_TOKENS"),
            top_k=_number(get("TOP_K") or str(defaults.top_k), "QA_TOP_K"),
            mode=mode,
            abstain_below=_number(get("ABSTAIN_BELOW") or str(defaults.abstain_below), "QA_ABSTAIN_BELOW", float),
            llm=llm,
            host=get("HOST") or defaults.host,
            port=_number(get("PORT") or str(defaults.port), "QA_PORT"),
        )


def _default_corpus() -> Path:
    """The sample corpus beside the source tree when run from a checkout, else ./docs_corpus."""
    beside_source = Path(__file__).resolve().parent.parent / "docs_corpus"
    return beside_source if beside_source.is_dir() else Path("docs_corpus")


def _number(text: str, name: str, kind=int):
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None

"""All settings in one object, built from QA_* environment variables in one place."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from index import IndexSettings
from index.errors import CorpusError
from index.settings import PRECISIONS

MODES = ("auto", "extractive", "llm")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MIN_KEY_CHARS = 16
MAKE_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ConfigError(CorpusError, ValueError):
    """A QA_* setting is wrong (tree: index.errors)."""


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
    embed_precision: str = "int8"  # or "fp32"; int8 runs on ONNX Runtime (index.embedding.load_embedder)
    support_precision: str = "int8"  # or "fp32": the support model's, likewise (qa.support)
    chroma_host: str | None = None
    chroma_port: int = 8000
    collection: str = "qa_chunks"
    chunk_tokens: int = 192
    chunk_overlap_tokens: int = 32
    top_k: int = 5
    candidates: int = 50  # per retriever, before fusion
    mode: str = "auto"
    abstain_below: float | None = None  # None: the support model's threshold (training/fit_answer_rule.py)
    max_question_chars: int = 4000  # also the limit for each turn of a question's history
    max_history_turns: int = 20  # earlier turns beyond these are not read
    llm: LLMSettings | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    # Serving to others (README: "Running it for others").
    api_key: str | None = None  # Bearer for the API, the password of the UI's login
    allowed_hosts: tuple[str, ...] = ()  # Host headers served; empty: loopback names and the bound host
    read_only: bool = False  # no uploads
    insecure: bool = False  # serve a non-loopback address without a key (`qa serve --insecure`)
    max_upload_bytes: int = 10 * 1024 * 1024  # per file
    max_upload_files: int = 20  # per request
    max_document_chunks: int = 2000  # a longer document is refused, not indexed in part

    def index_settings(self) -> IndexSettings:
        return IndexSettings(
            index_dir=self.index_dir,
            embed_model=self.embed_model,
            embed_precision=self.embed_precision,
            chunk_tokens=self.chunk_tokens,
            chunk_overlap_tokens=self.chunk_overlap_tokens,
            chroma_host=self.chroma_host,
            chroma_port=self.chroma_port,
            collection=self.collection,
            max_document_chunks=self.max_document_chunks,
        )

    def served_hosts(self) -> tuple[str, ...]:
        """The Host header names the server answers ("*": any); others get a 400 (DNS rebinding).

        Loopback names always; then QA_ALLOWED_HOSTS, or else the address it is bound to."""
        bound = () if self.host in ("0.0.0.0", "::", "") else (self.host.strip("[]").lower(),)
        return tuple(dict.fromkeys((*LOOPBACK_HOSTS, *(self.allowed_hosts or bound))))

    def exposure_problem(self) -> str | None:
        """Why serving as configured would expose the corpus to the network, or None."""
        if self.api_key or self.insecure or is_loopback(self.host):
            return None
        return (f"refusing to serve on {self.host} without a key: set QA_API_KEY (or QA_API_KEY_FILE) to a "
                f"secret such as the output of {MAKE_KEY}, or pass --insecure to serve without one")

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
            embed_precision=_choice(get("EMBED_PRECISION") or defaults.embed_precision, PRECISIONS,
                                    "QA_EMBED_PRECISION"),
            support_precision=_choice(get("SUPPORT_PRECISION") or defaults.support_precision, PRECISIONS,
                                      "QA_SUPPORT_PRECISION"),
            chroma_host=get("CHROMA_HOST"),
            chroma_port=_number(get("CHROMA_PORT") or "8000", "QA_CHROMA_PORT"),
            collection=get("CHROMA_COLLECTION") or defaults.collection,
            chunk_tokens=_number(get("CHUNK_TOKENS") or str(defaults.chunk_tokens), "QA_CHUNK_TOKENS"),
            top_k=_number(get("TOP_K") or str(defaults.top_k), "QA_TOP_K"),
            mode=mode,
            abstain_below=_probability(get("ABSTAIN_BELOW"), "QA_ABSTAIN_BELOW") if get("ABSTAIN_BELOW") else None,
            llm=llm,
            host=get("HOST") or defaults.host,
            port=_number(get("PORT") or str(defaults.port), "QA_PORT"),
            api_key=_api_key(get("API_KEY"), get("API_KEY_FILE")),
            allowed_hosts=tuple(h.strip().strip("[]").lower() for h in (get("ALLOWED_HOSTS") or "").split(",")
                                if h.strip()),
            read_only=_flag(get("READ_ONLY"), "QA_READ_ONLY"),
            max_upload_bytes=round(_positive(get("MAX_UPLOAD_MB") or "10", "QA_MAX_UPLOAD_MB", float) * 1024 * 1024),
            max_upload_files=_positive(get("MAX_UPLOAD_FILES") or str(defaults.max_upload_files),
                                       "QA_MAX_UPLOAD_FILES"),
            max_document_chunks=_positive(get("MAX_DOCUMENT_CHUNKS") or str(defaults.max_document_chunks),
                                          "QA_MAX_DOCUMENT_CHUNKS"),
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve to anything


def _api_key(key: str | None, key_file: str | None) -> str | None:
    if key and key_file:
        raise ConfigError("set QA_API_KEY or QA_API_KEY_FILE, not both")
    if key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read QA_API_KEY_FILE: {getattr(exc, 'strerror', None) or exc}") from None
        if not key:
            raise ConfigError("QA_API_KEY_FILE is empty")
    if key is None:
        return None
    if len(key) < MIN_KEY_CHARS or key != key.strip():
        raise ConfigError(f"the API key must be at least {MIN_KEY_CHARS} characters, without surrounding spaces; "
                          f"make one with {MAKE_KEY}")
    return key


def _flag(text: str | None, name: str) -> bool:
    value = (text or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, not {text!r}")


def _default_corpus() -> Path:
    """The sample corpus beside the source tree when run from a checkout, else ./docs_corpus."""
    beside_source = Path(__file__).resolve().parent.parent / "docs_corpus"
    return beside_source if beside_source.is_dir() else Path("docs_corpus")


def _positive(text: str, name: str, kind=int):
    value = _number(text, name, kind)
    if value <= 0:
        raise ConfigError(f"{name} must be above 0, not {text!r}")
    return value


def _number(text: str, name: str, kind=int):
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None


def _probability(text: str, name: str) -> float:
    value = _number(text, name, float)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} is a probability, from 0 to 1, not {text!r}")
    return value


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value

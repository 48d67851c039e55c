"""The systems that our pipeline is compared with, behind the runner's `Pipeline` interface.

- BM25 alone and dense alone: the app's own pipeline (same index, same extractive answerer) with
  one of the two retrievers instead of their fusion, so the difference is the retrieval.
- Plain LlamaIndex: `VectorStoreIndex.from_documents` over a `ChromaVectorStore`, embedded with
  `HuggingFaceEmbedding` on the same bundled all-MiniLM-L6-v2, every setting left at its default
  (SentenceSplitter, 1024-token chunks, 200 overlap) except `similarity_top_k`, raised from 2 to
  10 so that hit@5 and MRR@10 can be measured. There is no LLM (`Settings.llm = None`), so the
  pipeline stops at retrieval; its "answer" is the first sentence of its top chunk, cited to that
  chunk's offsets as LlamaIndex reports them. It never abstains.

llama-index and chromadb types stay inside this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from index import Document as IndexDocument
from index.embedding import bundled_model_path
from index.loaders import load_paths
from index.sentences import sentence_spans

from qa.config import Config
from qa.errors import QAError
from qa.results import Answer, Citation, Passage
from qa.retrieve import HybridRetriever
from qa.service import Assistant

LLAMAINDEX_NAME = "plain LlamaIndex"


class SingleRetrieverAssistant(Assistant):
    """The app's Assistant, retrieving with BM25 alone or dense alone."""

    def __init__(self, config: Config, method: str, embedder=None):
        if method not in ("bm25", "dense"):
            raise ValueError(f"method must be 'bm25' or 'dense', not {method!r}")
        super().__init__(config, embedder=embedder)
        self.method = method

    def retriever(self, method: str = "hybrid") -> HybridRetriever:
        # `ask` and `search` call retriever() without an argument; every path gets ours.
        return super().retriever(self.method)


class LlamaIndexPipeline:
    """LlamaIndex's default path over the same documents, stored in its own Chroma folder."""

    name = LLAMAINDEX_NAME

    def __init__(self, paths: list[Path], work_dir: Path, top_k: int = 5, embed_model: str = ""):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self.top_k = top_k
        self.documents: dict[str, IndexDocument] = {}
        for item in load_paths([Path(p) for p in paths]):
            if isinstance(item, IndexDocument):  # the loader's errors were reported at ingest
                self.documents[item.doc_id] = item
        if not self.documents:
            raise QAError(f"no documents to index for the LlamaIndex baseline in {', '.join(map(str, paths))}")
        self._index = self._open_or_build(Path(work_dir), embed_model or bundled_model_path())
        self._last: tuple[str, int, list[Passage]] | None = None

    def _open_or_build(self, work_dir: Path, model_path: str):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex

        try:
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding
            from llama_index.vector_stores.chroma import ChromaVectorStore
        except ImportError:
            raise QAError("the LlamaIndex baseline needs the bench extra: pip install -e '.[bench]'") from None

        Settings.llm = None  # retrieval only: nothing may reach for an OpenAI key or a network
        embed_model = HuggingFaceEmbedding(model_name=model_path)
        # Embedding a corpus takes minutes; reuse the store while documents and model are the same.
        fingerprint = hashlib.sha256(
            json.dumps([model_path, sorted((d.doc_id, d.content_hash) for d in self.documents.values())])
            .encode("utf-8")
        ).hexdigest()
        marker = work_dir / "fingerprint"
        if not (marker.is_file() and marker.read_text() == fingerprint):
            shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(work_dir / "chroma"),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("llamaindex_baseline"))
        if marker.is_file():
            return VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
        documents = [Document(text=d.text, id_=d.doc_id) for d in self.documents.values()]
        index = VectorStoreIndex.from_documents(
            documents, storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed_model,
        )
        marker.write_text(fingerprint)
        return index

    def warm_up(self) -> None:
        self.search("warm up", 1)

    def search(self, query: str, k: int) -> list[Passage]:
        """LlamaIndex's top `k` nodes as passages (the last query's are kept for `ranking`)."""
        if self._last and self._last[0] == query and self._last[1] >= k:
            return self._last[2][:k]
        passages = []
        for hit in self._index.as_retriever(similarity_top_k=k).retrieve(query):
            node = hit.node
            doc = self.documents.get(node.ref_doc_id or "")
            if doc is None or node.start_char_idx is None or node.end_char_idx is None:
                continue  # without a document and offsets, a node cannot be scored by span
            passages.append(Passage(doc.doc_id, node.start_char_idx, node.end_char_idx, title=doc.title,
                                    text=node.get_content(), score=round(float(hit.score or 0.0), 4)))
        self._last = (query, k, passages)
        return passages

    def ask(self, question: str, history: list[str]) -> Answer:
        # The plain pipeline has no notion of a conversation: it searches the question as it is.
        passages = self.search(question, max(self.top_k, 10))
        answer = Answer(question, "", False, "retrieval-only", passages=passages[: self.top_k], query=question)
        if passages:
            top = passages[0]
            spans = sentence_spans(top.text)
            start, end = spans[0] if spans else (0, len(top.text))
            quote = top.text[start:end]
            # The quote is the node's own text; its offsets are LlamaIndex's, so `valid_offsets`
            # checks them against the document.
            answer.citations = [Citation(top.doc_id, top.start + start, top.start + end, n=1, title=top.title,
                                         quote=quote, supported=True, score=top.score)]
            answer.answer = f"{quote} [1]"
        return answer

    def ranking(self, answer: Answer, k: int) -> list[Passage]:
        return self.search(answer.query or answer.question, k)

    def text(self, doc_id: str) -> str | None:
        doc = self.documents.get(doc_id)
        return doc.text if doc else None

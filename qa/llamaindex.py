"""The assistant as LlamaIndex components, for pipelines built with LlamaIndex.

    from qa.llamaindex import CorpusRetriever, CitedQueryEngine

    retriever = CorpusRetriever(assistant, top_k=5)      # a BaseRetriever over the index
    nodes = retriever.retrieve("Who leads Chechnya?")    # nodes carry exact offsets and citation ids
    engine = CitedQueryEngine(assistant)                 # a BaseQueryEngine
    response = engine.query("Who leads Chechnya?")       # source_nodes: the sentences it cites

Each node is a `TextNode` whose `start_char_idx`/`end_char_idx` locate its text in the document
(`document[start:end] == node.text`), whose id is the citation id `<doc_id>:<start>-<end>`, and
whose metadata holds `doc_id`, `title` and `citation_id`. LlamaIndex types stay in this module.
"""

from __future__ import annotations

import asyncio

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from index.documents import Span

from qa.service import Assistant


def span_node(span: Span, title: str, text: str, score: float | None) -> NodeWithScore:
    """One span of one document as a scored LlamaIndex node."""
    node = TextNode(
        id_=span.id, text=text, start_char_idx=span.start, end_char_idx=span.end,
        metadata={"doc_id": span.doc_id, "title": title, "citation_id": span.id},
        # The text is the document's own; the metadata must not leak into what a model reads as it.
        excluded_embed_metadata_keys=["doc_id", "citation_id"], excluded_llm_metadata_keys=["doc_id", "citation_id"],
    )
    return NodeWithScore(node=node, score=score)


class CorpusRetriever(BaseRetriever):
    """Hybrid retrieval (dense and BM25, fused) over the assistant's index."""

    def __init__(self, assistant: Assistant, top_k: int | None = None, callback_manager: CallbackManager | None = None):
        super().__init__(callback_manager=callback_manager)
        self._assistant = assistant
        self._top_k = top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        passages = self._assistant.search(query_bundle.query_str, self._top_k)
        return [span_node(p, p.title, p.text, p.score) for p in passages]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


class CitedQueryEngine(BaseQueryEngine):
    """The assistant's cited answer; `source_nodes` are the sentences its citations quote, in order.

    `response.metadata` holds `abstained`, `support`, `citations` (as the API gives them) and
    `mode`. When the corpus does not answer, the response says so and has no source nodes.
    """

    def __init__(self, assistant: Assistant, top_k: int | None = None, callback_manager: CallbackManager | None = None):
        super().__init__(callback_manager=callback_manager)
        self._assistant = assistant
        self._top_k = top_k

    def _query(self, query_bundle: QueryBundle) -> Response:
        answer = self._assistant.ask(query_bundle.query_str, top_k=self._top_k).result()
        nodes = [span_node(c, c.title, c.quote, c.score) for c in answer.citations]
        metadata = {"abstained": answer.abstained, "support": answer.support, "mode": answer.mode,
                    "citations": [c.to_dict() for c in answer.citations]}
        return Response(response=answer.answer, source_nodes=nodes, metadata=metadata)

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return await asyncio.to_thread(self._query, query_bundle)

    def _get_prompt_modules(self) -> dict:
        return {}  # no prompts of LlamaIndex's: the answer is extractive, or the assistant's own LLM prompt

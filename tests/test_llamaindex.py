"""The LlamaIndex components, through LlamaIndex's own interfaces, on the real sample index."""

from __future__ import annotations

import asyncio

from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine

from qa.llamaindex import CitedQueryEngine, CorpusRetriever

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"


def _exact(assistant, node) -> None:
    doc_id = node.metadata["doc_id"]
    assert assistant.reader.text(doc_id)[node.start_char_idx:node.end_char_idx] == node.text
    assert node.node_id == node.metadata["citation_id"] == f"{doc_id}:{node.start_char_idx}-{node.end_char_idx}"
    assert assistant.cite(node.node_id).quote == node.text


def test_the_retriever_gives_nodes_at_exact_offsets_with_citation_ids(assistant):
    found = CorpusRetriever(assistant, top_k=3).retrieve(QUESTION)
    assert len(found) == 3 and [n.score for n in found] == sorted((n.score for n in found), reverse=True)
    for scored in found:
        _exact(assistant, scored.node)
    assert [n.node_id for n in found] == [p.id for p in assistant.search(QUESTION, 3)]


def test_the_query_engine_answers_with_the_cited_sentences_as_source_nodes(assistant):
    response = CitedQueryEngine(assistant).query(QUESTION)
    answer = assistant.ask(QUESTION)
    assert str(response) == answer.answer and "405" in str(response)
    assert [n.node_id for n in response.source_nodes] == [c.id for c in answer.citations]
    for scored in response.source_nodes:
        _exact(assistant, scored.node)
    assert response.metadata["abstained"] is False and response.metadata["citations"][0]["n"] == 1


def test_the_query_engine_declines_with_no_source_nodes(assistant):
    response = CitedQueryEngine(assistant).query("What is the capital of Australia?")
    assert response.metadata["abstained"] is True and response.source_nodes == []


def test_the_retriever_composes_into_a_llamaindex_query_engine(assistant):
    engine = RetrieverQueryEngine.from_args(CorpusRetriever(assistant, top_k=2), llm=MockLLM())
    response = engine.query(QUESTION)
    assert len(response.source_nodes) == 2
    for scored in response.source_nodes:
        _exact(assistant, scored.node)


def test_async_retrieval_and_query_give_the_same_as_sync(assistant):
    retriever, engine = CorpusRetriever(assistant, top_k=2), CitedQueryEngine(assistant)
    nodes = asyncio.run(retriever.aretrieve(QUESTION))
    assert [n.node_id for n in nodes] == [n.node_id for n in retriever.retrieve(QUESTION)]
    assert str(asyncio.run(engine.aquery(QUESTION))) == str(engine.query(QUESTION))

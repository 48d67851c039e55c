"""LLM mode against a local server that speaks the chat-completions protocol.

The fake answers from a script that reads the numbered sources it was sent, so each test can cite
rightly, cite wrongly, or invent a claim on purpose, and check what the grounding step makes of it.
"""

from __future__ import annotations

import re

import pytest

from qa.config import Config, LLMSettings
from qa.errors import LLMError
from qa.llm import OpenAICompatibleChat
from qa.service import ABSTAIN_TEXT, Assistant
from tests.conftest import SAMPLE_CORPUS
from tests.fake_openai import FakeOpenAI, source_number

DEPARTED = "405 people, according to our data, have left Chechnya"
QUESTION = "How many people have left Chechnya to join the fighting in Syria?"


def llm_assistant(sample_index_dir, embedder, fake: FakeOpenAI) -> Assistant:
    config = Config(index_dir=sample_index_dir, corpus_dir=SAMPLE_CORPUS,
                    llm=LLMSettings(base_url=fake.base_url, model="scripted", timeout=10))
    return Assistant(config, embedder=embedder)


def check_invariants(answer) -> None:
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)} == {c.n for c in answer.citations}
    for citation in answer.citations:
        text = (SAMPLE_CORPUS / citation.doc_id).read_text(encoding="utf-8")
        assert text[citation.start : citation.end] == citation.quote


def test_a_well_cited_answer_is_verified_and_cites_the_exact_sentence(sample_index_dir, embedder):
    def script(messages):
        n = source_number(messages, DEPARTED)
        return f"According to the Russian Interior Ministry, 405 people have left Chechnya to fight in Syria [{n}]."

    with FakeOpenAI(script) as fake:
        answer = llm_assistant(sample_index_dir, embedder, fake).ask(QUESTION)
    assert answer.mode == "llm" and not answer.abstained
    [citation] = answer.citations
    assert citation.supported and DEPARTED in citation.quote
    assert answer.sentences[0].supported
    check_invariants(answer)
    # The model was given numbered sources and told to cite them.
    prompt = fake.requests[0]["messages"][-1]["content"]
    assert "Source [1]" in prompt and QUESTION in prompt


def test_a_wrong_citation_is_repointed_to_the_passage_that_supports_it(sample_index_dir, embedder):
    def script(messages):
        right = source_number(messages, DEPARTED)
        wrong = 1 if right != 1 else 2
        return f"According to the Russian Interior Ministry, 405 people have left Chechnya to fight in Syria [{wrong}]."

    with FakeOpenAI(script) as fake:
        answer = llm_assistant(sample_index_dir, embedder, fake).ask(QUESTION)
    [citation] = answer.citations
    assert citation.supported and DEPARTED in citation.quote
    check_invariants(answer)


def test_an_invented_claim_is_marked_unsupported(sample_index_dir, embedder):
    def script(messages):
        n = source_number(messages, DEPARTED)
        return (f"405 people have left Chechnya to join the fighting in Syria [{n}]. "
                f"Kadyrov was awarded the Nobel Prize in Chemistry for his work on polymers [{n}]. "
                "The ministry plans to open a museum of tea on the Moon.")

    with FakeOpenAI(script) as fake:
        answer = llm_assistant(sample_index_dir, embedder, fake).ask(QUESTION)
    supported = [s.supported for s in answer.sentences]
    assert supported == [True, False, False]
    nobel = answer.sentences[1]
    assert nobel.citations and not answer.citations[nobel.citations[0] - 1].supported
    assert answer.sentences[2].citations == ()  # cited nothing, and nothing supports it
    assert "Moon." in answer.answer
    check_invariants(answer)


def test_citations_out_of_range_do_not_break_the_answer(sample_index_dir, embedder):
    with FakeOpenAI(lambda m: "405 people have left Chechnya to join the fighting in Syria [42] [0].") as fake:
        answer = llm_assistant(sample_index_dir, embedder, fake).ask(QUESTION)
    [citation] = answer.citations
    assert citation.supported and DEPARTED in citation.quote
    check_invariants(answer)


def test_the_model_saying_it_cannot_answer_is_an_abstention(sample_index_dir, embedder):
    with FakeOpenAI(lambda m: ABSTAIN_TEXT) as fake:
        answer = llm_assistant(sample_index_dir, embedder, fake).ask("What is the capital of Australia?")
    assert answer.abstained and answer.citations == [] and answer.answer == ABSTAIN_TEXT


def test_streaming_hands_out_the_text_as_it_grows(sample_index_dir, embedder):
    def script(messages):
        return f"405 people have left Chechnya to join the fighting in Syria [{source_number(messages, DEPARTED)}]."

    with FakeOpenAI(script) as fake:
        response = llm_assistant(sample_index_dir, embedder, fake).ask(QUESTION, stream=True)
        assert not fake.requests  # nothing is asked of the model before the response is read
        pieces = []
        for piece in response:
            assert not response.done
            pieces.append(piece)
        assert response.done
    assert len(pieces) > 3 and "".join(pieces) == script(fake.requests[0]["messages"])
    assert fake.requests[0]["stream"] is True
    assert response.citations[0].supported and response.text() == response.result().answer
    assert list(response) == pieces  # a second reader gets the same text, without asking again
    assert len(fake.requests) == 1


def test_an_answer_read_without_streaming_is_finished_when_ask_returns(sample_index_dir, embedder):
    def script(messages):
        return f"405 people have left Chechnya to join the fighting in Syria [{source_number(messages, DEPARTED)}]."

    with FakeOpenAI(script) as fake:
        response = llm_assistant(sample_index_dir, embedder, fake).ask(QUESTION)
        assert response.done and not fake.requests[0].get("stream")
    assert response.mode == "llm" and response.citations[0].supported


def test_a_follow_up_is_rewritten_by_the_llm_before_retrieval(sample_index_dir, embedder):
    standalone = "How many of the people who left Chechnya for Syria were killed?"

    def script(messages):
        if "Standalone question" in messages[-1]["content"]:
            return standalone
        return f"104 of them have been killed [{source_number(messages, '104 have been killed')}]."

    with FakeOpenAI(script) as fake:
        answer = llm_assistant(sample_index_dir, embedder, fake).ask(
            "and how many of them were killed?", history=[QUESTION])
    assert answer.query == standalone
    assert "104" in answer.citations[0].quote and answer.citations[0].supported


def test_an_unreachable_endpoint_is_a_clear_error(sample_index_dir, embedder):
    config = Config(index_dir=sample_index_dir, llm=LLMSettings(base_url="http://127.0.0.1:9/v1", model="x", timeout=2))
    with pytest.raises(LLMError, match="127.0.0.1:9"):
        Assistant(config, embedder=embedder).ask(QUESTION)


def test_the_client_speaks_the_protocol(embedder):
    with FakeOpenAI(lambda messages: f"echo: {messages[-1]['content']}") as fake:
        chat = OpenAICompatibleChat(LLMSettings(base_url=fake.base_url, model="m"))
        assert chat.complete("system text", "hello") == "echo: hello"
        assert "".join(chat.stream("system text", "hello")) == "echo: hello"
    request = fake.requests[0]
    assert request["model"] == "m"
    assert [m["role"] for m in request["messages"]] == ["system", "user"]


def test_markers_after_the_full_stop_cite_the_sentence_before():
    from qa.grounding import split_claims

    assert split_claims("405 people left. [1] 104 were killed. [2]") == [
        ("405 people left.", [1]), ("104 were killed.", [2])]
    assert split_claims("405 people left [1]. 104 were killed [2][3].") == [
        ("405 people left.", [1]), ("104 were killed.", [2, 3])]

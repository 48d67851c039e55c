"""The OpenAI-compatible endpoint, with the official `openai` package as the client, against the
real server on 127.0.0.1 over the real sample index."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import openai
import pytest
from tests.conftest import SAMPLE_CORPUS
from tests.live_server import LiveServer

from qa.config import Config
from qa.service import Assistant

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
KEY = "correct-horse-battery-staple-42"


def start(tmp_path_factory, sample_index_dir, embedder, support_model, name: str, **settings) -> LiveServer:
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(sample_index_dir, root / "index")
    config = Config(index_dir=root / "index", corpus_dir=SAMPLE_CORPUS, **settings)
    return LiveServer(Assistant(config, embedder=embedder, support=support_model))


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_index_dir, embedder, support_model):
    with start(tmp_path_factory, sample_index_dir, embedder, support_model, "openai") as live:
        yield live


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0, timeout=120)


def test_models_lists_the_corpus_model(client):
    assert [m.id for m in client.models.list()] == ["qa-corpus"]


def test_a_completion_is_the_cited_answer_with_its_sources(client, server):
    reply = client.chat.completions.create(model="qa-corpus", messages=[{"role": "user", "content": QUESTION}])
    message = reply.choices[0].message
    answer = server.assistant.ask(QUESTION)
    assert reply.choices[0].finish_reason == "stop" and message.role == "assistant"
    assert message.content.startswith(answer.answer) and "405" in message.content
    assert "\n\nSources:\n[1] " in message.content
    citations = message.model_extra["citations"]
    assert [c["id"] for c in citations] == [c.id for c in answer.citations]
    for c in citations:
        assert server.assistant.cite(c["id"]).quote == c["quote"]
        assert f"[{c['n']}] " in message.content and c["id"] in message.content
    assert message.model_extra["abstained"] is False


def test_streaming_sends_the_answer_then_the_sources_and_ends(client):
    plain = client.chat.completions.create(model="qa-corpus", messages=[{"role": "user", "content": QUESTION}])
    stream = client.chat.completions.create(model="qa-corpus", stream=True,
                                            messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    assert len([c for c in chunks if c.choices[0].delta.content]) >= 2  # the answer, then the sources
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert [c["id"] for c in last.delta.model_extra["citations"]] == \
        [c["id"] for c in plain.choices[0].message.model_extra["citations"]]


def cl100k(monkeypatch):
    """tiktoken's own cl100k_base, from the copy that llama-index ships (nothing is downloaded)."""
    import llama_index.core
    import tiktoken

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"))
    return tiktoken.get_encoding("cl100k_base")


def test_usage_counts_the_tokens_sent_and_returned_with_tiktoken(client, monkeypatch):
    encoding = cl100k(monkeypatch)
    messages = [{"role": "system", "content": "Answer from the corpus."},
                {"role": "user", "content": "How many people from Chechnya left to join the Islamic State?"},
                {"role": "assistant", "content": "405 [1]"},
                {"role": "user", "content": QUESTION}]

    def tokens(text: str) -> int:
        return len(encoding.encode(text))

    # As OpenAI counts a chat for its cl100k models: 3 tokens around each message, 3 to start the reply.
    prompt = sum(3 + tokens(m["role"]) + tokens(m["content"]) for m in messages) + 3
    reply = client.chat.completions.create(model="qa-corpus", messages=messages)
    usage = reply.usage
    assert usage.prompt_tokens == prompt > 40
    assert usage.completion_tokens == tokens(reply.choices[0].message.content) > 20
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    chunks = list(client.chat.completions.create(model="qa-corpus", messages=messages, stream=True,
                                                 stream_options={"include_usage": True}))
    *answer, last = chunks
    assert last.choices == [] and last.usage == usage
    assert all(c.usage is None for c in answer) and answer[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in answer) == reply.choices[0].message.content

    plain = list(client.chat.completions.create(model="qa-corpus", messages=messages, stream=True))
    assert all(c.usage is None and c.choices for c in plain)  # no usage chunk unless asked for


def test_a_follow_up_reads_the_earlier_user_turns(client):
    reply = client.chat.completions.create(model="qa-corpus", messages=[
        {"role": "system", "content": "Answer from the corpus."},
        {"role": "user", "content": "How many people from Chechnya left to join the Islamic State in Syria?"},
        {"role": "assistant", "content": "405 [1]"},
        {"role": "user", "content": [{"type": "text", "text": "and how many of them were killed?"}]},
    ])
    assert "104" in reply.choices[0].message.content


def test_an_unanswerable_question_declines_with_no_sources(client):
    reply = client.chat.completions.create(model="qa-corpus", messages=[
        {"role": "user", "content": "What is the capital of Australia?"}])
    message = reply.choices[0].message
    assert message.model_extra["abstained"] is True and message.model_extra["citations"] == []
    assert "Sources:" not in message.content


@pytest.mark.parametrize("messages, words", [
    ([{"role": "system", "content": "no question here"}], "no user message"),
    ([], "messages"),
    ([{"role": "user", "content": ""}], "question"),
    ([{"role": "user", "content": "x" * 5000}], "question"),
])
def test_bad_requests_get_openais_error_shape(client, messages, words):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="qa-corpus", messages=messages)
    error = caught.value.body
    assert isinstance(error, dict) and words in error["message"] and error["type"] == "invalid_request_error"


def test_not_json_and_unknown_routes_get_openais_error_shape(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        broken = http.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
        missing = http.get("/v1/embeddings")
    assert broken.status_code == 400 and broken.json()["error"]["message"]
    assert missing.status_code == 404 and "/v1/chat/completions" in missing.json()["error"]["message"]


def test_a_keyed_server_takes_the_key_as_openai_clients_send_it(tmp_path_factory, sample_index_dir, embedder,
                                                                 support_model):
    with start(tmp_path_factory, sample_index_dir, embedder, support_model, "openai-keyed", api_key=KEY) as live:
        wrong = openai.OpenAI(base_url=live.url + "/v1", api_key="not-the-key", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as caught:
            wrong.models.list()
        assert "key" in caught.value.body["message"]
        right = openai.OpenAI(base_url=live.url + "/v1", api_key=KEY, max_retries=0, timeout=120)
        reply = right.chat.completions.create(model="qa-corpus", messages=[{"role": "user", "content": QUESTION}])
        assert "405" in reply.choices[0].message.content


def test_an_llm_answer_streams_checked_and_marks_the_unsupported_claim(tmp_path_factory, sample_index_dir, embedder,
                                                                       support_model):
    from tests.live_server import ScriptedChat

    root = tmp_path_factory.mktemp("openai-llm")
    shutil.copytree(sample_index_dir, root / "index")
    assistant = Assistant(Config(index_dir=root / "index", corpus_dir=SAMPLE_CORPUS, mode="llm"),
                          embedder=embedder, support=support_model, chat=ScriptedChat(pause=0))
    with LiveServer(assistant) as live:
        client = openai.OpenAI(base_url=live.url + "/v1", api_key="not-needed", max_retries=0, timeout=120)
        chunks = list(client.chat.completions.create(model="qa-corpus", stream=True,
                                                     messages=[{"role": "user", "content": QUESTION}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    citations = chunks[-1].choices[0].delta.model_extra["citations"]
    assert "405 people" in text and "penguins" in text  # the made-up claim stays, marked
    assert any(c["supported"] for c in citations) and any(not c["supported"] for c in citations)
    assert "(does not support the claim)" in text

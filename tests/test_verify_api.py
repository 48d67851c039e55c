"""POST /api/verify on the real server: good, bad and malformed requests."""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import SAMPLE_CORPUS
from tests.live_server import LiveServer

from qa.config import Config
from qa.service import Assistant

PASSAGES = ["The Oslo office opened in 2004. It employs forty engineers.",
            "Maria Lopez was appointed chief executive of Nordwind in March 2019."]


@pytest.fixture(scope="module")
def api(sample_index_dir, embedder, support_model):
    assistant = Assistant(Config(index_dir=sample_index_dir, corpus_dir=SAMPLE_CORPUS), embedder=embedder,
                          support=support_model)
    with LiveServer(assistant) as server, httpx.Client(base_url=server.url + "/api", timeout=60) as client:
        yield client


def test_a_supported_answer_against_passages(api):
    reply = api.post("/verify", json={"answer": "Maria Lopez became chief executive of Nordwind in 2019 [2].",
                                      "passages": PASSAGES})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["supported"] is True
    [sentence] = body["sentences"]
    assert sentence["source"] == {"passage": 1, "start": 0, "end": len(PASSAGES[1]), "quote": PASSAGES[1]}
    assert 0.5 <= sentence["probability"] <= 1.0 and sentence["start"] == 0


def test_an_unsupported_sentence_is_marked_and_located(api):
    answer = "The Oslo office opened in 2004. The Oslo office has a rooftop garden."
    body = api.post("/verify", json={"answer": answer, "passages": PASSAGES}).json()
    assert body["supported"] is False
    assert [s["supported"] for s in body["sentences"]] == [True, False]
    assert [answer[s["start"]:s["end"]] for s in body["sentences"]] == [s["text"] for s in body["sentences"]]


def test_without_passages_the_index_is_searched_and_cited(api):
    body = api.post("/verify", json={"answer": "405 people have left Chechnya to fight in Syria.",
                                     "question": "How many people left Chechnya for Syria?"}).json()
    [sentence] = body["sentences"]
    assert sentence["supported"] and "405 people" in sentence["source"]["quote"]
    cited = api.get(f"/citations/{sentence['source']['id']}").json()
    assert cited["quote"] == sentence["source"]["quote"]


@pytest.mark.parametrize("body, status, words", [
    ({"answer": ""}, 400, "empty"),
    ({"answer": "Fine.", "passages": []}, 400, "passages is empty"),
    ({"answer": "Fine.", "passages": ["x"] * 21}, 400, "limit"),
    ({"answer": 5}, 422, "answer"),
    ({"answer": "Fine.", "passages": "not a list"}, 422, "passages"),
    ({"answer": "Fine.", "extra": 1}, 422, "extra"),
    ({}, 422, "answer"),
    ({"answer": "Fine.", "question": 7}, 422, "question"),
    ({"answer": "[1] [2]"}, 400, "no sentence"),
])
def test_bad_requests_get_a_clear_error(api, body, status, words):
    reply = api.post("/verify", json=body)
    assert reply.status_code == status, reply.text
    assert words in reply.json()["error"].lower()

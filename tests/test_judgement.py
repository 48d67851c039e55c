"""Contradictions caught and non-questions declined, through the real server and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import LiveServer

from qa.config import Config
from qa.gate import REPLY
from qa.service import Assistant

OSLO = ["The Oslo office opened in 2004."]


@pytest.fixture(scope="module")
def server(sample_index_dir, embedder, support_model):
    assistant = Assistant(Config(index_dir=sample_index_dir, corpus_dir=SAMPLE_CORPUS), embedder=embedder,
                          support=support_model)
    with LiveServer(assistant) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


def cli(index_dir, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", "--index-dir", str(index_dir), *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


@pytest.mark.parametrize("answer, kind, claim, evidence", [
    ("The Oslo office opened in 2005.", "date", "2005", "2004"),
    ("The Bergen office opened in 2004.", "name", "Bergen", "Oslo"),
    ("The Oslo office did not open in 2004.", "negation", "not", "(affirms)"),
    ("The Oslo office closed in 2004.", "antonym", "closed", "opened"),
])
def test_a_contradicted_claim_is_flagged_and_says_why(server, answer, kind, claim, evidence):
    body = server.post("/api/verify", json={"answer": answer, "passages": OSLO}).json()
    [sentence] = body["sentences"]
    assert body["supported"] is False and sentence["probability"] <= 0.05
    assert {"kind": kind, "claim": claim, "evidence": evidence} in sentence["conflicts"]


@pytest.mark.parametrize("answer, kind, claim, evidence", [
    ("500 people left Chechnya for Syria.", "number", "500", "405"),
    ("About 30,000 Russians are believed to be in Syria.", "number", "30,000", "3,000"),
    ("140 have been killed.", "number", "140", "104"),
])
def test_a_changed_figure_is_flagged_against_the_index(server, answer, kind, claim, evidence):
    body = server.post("/api/verify", json={"answer": answer}).json()
    [sentence] = body["sentences"]
    assert not sentence["supported"]
    assert {"kind": kind, "claim": claim, "evidence": evidence} in sentence["conflicts"]


def test_putin_is_not_the_head_of_the_chechen_republic(server):
    [sentence] = server.post("/api/verify", json={"answer": "Putin is the head of the Chechen republic.",
                                                  "question": "Who is the head of the Chechen republic?"}
                             ).json()["sentences"]
    assert not sentence["supported"]


@pytest.mark.parametrize("answer", [
    "405 people have left Chechnya to join the fighting in Syria.",  # near the article's words
    "According to the Interior Ministry, 405 people went from Chechnya to Syria to fight.",  # a paraphrase
    "More than 400 people have left Chechnya to fight in Syria.",  # a hedge the figure bears out
    "Ramzan Kadyrov is the head of the republic.",  # a name in full
    "Kadyrov is the head of the republic.",  # and in part
])
def test_true_claims_still_pass(server, answer):
    body = server.post("/api/verify", json={"answer": answer}).json()
    assert body["supported"] is True, body
    assert body["sentences"][0]["conflicts"] == []


@pytest.mark.parametrize("message", ["hello", "Thanks!", "what can you do?", "Hi, who are you?", "how does it work?",
                                     "xxxx", "asdf qwer", "?", "x" * 4000])
def test_a_non_question_gets_a_short_reply_everywhere(server, sample_index_dir, message):
    reply = server.post("/api/ask", json={"question": message}).json()
    assert reply["abstained"] is True and reply["answer"] == REPLY and reply["citations"] == []
    chat = server.post("/v1/chat/completions", json={"model": "qa-corpus",
                                                     "messages": [{"role": "user", "content": message}]}).json()
    assert chat["choices"][0]["message"]["content"].startswith(REPLY)
    assert chat["choices"][0]["message"]["citations"] == []


def test_a_question_about_the_last_answer_asks_nothing_only_when_there_is_none():
    from qa.gate import not_a_question

    knows_nothing = lambda word: False  # noqa: E731
    for vague in ("how does it work?", "what is this?", "How does this work?", "why?"):
        assert not_a_question(vague, knows_nothing), vague  # the conversation's first turn
        assert not not_a_question(vague, knows_nothing, first_turn=False), vague  # a follow-up
    assert not_a_question("Thanks! what can you do?", knows_nothing, first_turn=False)
    assert not not_a_question("what is this treaty?", knows_nothing)


def test_a_vague_follow_up_is_read_with_the_question_before_it(server):
    reply = server.post("/api/ask", json={"question": "how does it work?",
                                          "history": ["What did Kadyrov say about the special forces?"]}).json()
    assert reply["answer"] != REPLY and reply["query"].startswith("What did Kadyrov say")


def test_the_cli_declines_hello_and_flags_a_changed_year(sample_index_dir):
    asked = cli(sample_index_dir, "ask", "hello", "--json")
    assert asked.returncode == 0, asked.stderr
    reply = json.loads(asked.stdout)
    assert reply["abstained"] is True and reply["answer"] == REPLY and reply["citations"] == []
    checked = cli(sample_index_dir, "verify", "-",
                  stdin=json.dumps({"answer": "The Oslo office opened in 2005.", "passages": OSLO}))
    assert checked.returncode == 1
    assert "conflict, date: '2005' against '2004'" in checked.stdout


def test_real_questions_keep_their_answers(server):
    reply = server.post("/api/ask", json={"question": "How many people left Chechnya for Syria?"}).json()
    assert reply["abstained"] is False and "405" in reply["answer"]
    off_topic = server.post("/api/ask", json={"question": "What is the airspeed of an unladen swallow?"}).json()
    assert off_topic["abstained"] is True and off_topic["answer"] != REPLY


def test_with_the_document_that_answers_gone_the_question_is_declined(tmp_path, embedder, support_model):
    """Once the Nalchik article is removed, no other article's sentence is passed off as the answer."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in SAMPLE_CORPUS.iterdir():
        if not path.name.startswith("002_"):
            (corpus / path.name).write_bytes(path.read_bytes())
    assistant = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=corpus), embedder=embedder,
                          support=support_model)
    assistant.ingest()
    answer = assistant.ask("How many militants were killed in the bunker near Nalchik?").result()
    assert answer.abstained, answer.answer

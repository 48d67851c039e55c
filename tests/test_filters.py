"""Filters restrict retrieval inside both searches, in the Python API, the HTTP API, the CLI and
the OpenAI endpoint; on the real sample index."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import httpx
import openai
import pytest
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import LiveServer

from qa.errors import BadInputError
from qa.filters import Filters

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
ANSWERED_IN = "003_5086438d16222152.txt"  # "A total of 405 people ... have left Chechnya"
OTHER = "000_3cdf5aa040d08496.txt"  # the only dated document (2016-12-28)
NALCHIK = "002_4ee77f7c6db00e4b.txt"  # "Russian special forces wipe out ISIS-linked cell near Nalchik"


def test_filters_parse_and_refuse_clearly():
    assert Filters.parse(None) is None and Filters.parse({}) is None
    assert Filters.parse({"doc_ids": [], "title": None, "since": None, "until": None}) is None
    f = Filters.parse({"doc_ids": ["a", "a", "b"], "title": " Grozny ", "since": "2016-01-01", "until": "2016-12-31"})
    assert f == Filters(("a", "b"), "Grozny", date(2016, 1, 1), date(2016, 12, 31))
    for bad, words in [("x", "must be an object"), ({"doc": ["a"]}, "unknown filter 'doc'"),
                       ({"doc_ids": "a"}, "list of document ids"), ({"since": "28/12/2016"}, "YYYY-MM-DD"),
                       ({"since": "2017-01-01", "until": "2016-01-01"}, "after"), ({"title": 5}, "title")]:
        with pytest.raises(BadInputError, match=words):
            Filters.parse(bad)


def test_filters_allow_by_id_title_and_date():
    f = Filters(title="nalchik")
    assert f.allows("x", "Cell near Nalchik", None) and not f.allows("x", "Grozny", None)
    dated = Filters(since=date(2016, 12, 1))
    assert dated.allows("x", "", "2016-12-28") and dated.allows("x", "", "2016-12-28T10:00:00Z")
    assert not dated.allows("x", "", "2016-11-30") and not dated.allows("x", "", None)
    assert not dated.allows("x", "", "last winter")


def test_without_filters_the_answer_comes_from_its_document(assistant):
    assert [c.doc_id for c in assistant.ask(QUESTION).citations] == [ANSWERED_IN]


def test_a_filter_keeps_top_k_passages_inside_it(assistant):
    found = assistant.search(QUESTION, top_k=3, filters={"doc_ids": [OTHER]})
    assert len(found) == 3 and {p.doc_id for p in found} == {OTHER}
    assert all(assistant.reader.text(p.doc_id)[p.start:p.end] == p.text for p in found)
    assert {p.doc_id for p in assistant.search(QUESTION, top_k=3, filters={"title": "NALCHIK"})} == {NALCHIK}
    assert {p.doc_id for p in assistant.search(QUESTION, top_k=5, filters={"since": "2016-12-01"})} == {OTHER}
    assert assistant.search(QUESTION, top_k=5, filters={"until": "2000-01-01"}) == []


def test_an_answer_outside_the_filter_is_not_given(assistant):
    answer = assistant.ask(QUESTION, filters={"doc_ids": [OTHER, NALCHIK]})
    assert {p.doc_id for p in answer.passages} <= {OTHER, NALCHIK}
    assert all(c.doc_id in (OTHER, NALCHIK) for c in answer.citations)
    assert "405" not in answer.answer


@pytest.mark.xfail(strict=True, reason="a known miss of the third-epoch model: the answer rule gives '3,000 Russians "
                   "are believed to be in Syria' 0.22 for this question, over the bar")
def test_without_the_document_that_answers_the_question_is_declined(assistant):
    assert assistant.ask(QUESTION, filters={"doc_ids": [OTHER, NALCHIK]}).abstained


def test_the_best_answer_inside_the_filter_is_given(assistant):
    question = "How many gunmen did security forces kill on the outskirts of Grozny the day after the attack?"
    unfiltered = assistant.ask(question)
    [cited] = {c.doc_id for c in unfiltered.citations}
    inside = assistant.ask(question, filters={"doc_ids": [cited]})
    assert inside.answer == unfiltered.answer
    outside = assistant.ask(question, filters={"title": "Nalchik"})
    assert all(c.doc_id == NALCHIK for c in outside.citations)


@pytest.fixture(scope="module")
def server(assistant):
    with LiveServer(assistant) as live:
        yield live


def test_the_http_api_takes_filters_for_ask_and_search(server):
    with httpx.Client(base_url=server.url + "/api", timeout=120) as api:
        asked = api.post("/ask", json={"question": QUESTION, "filters": {"doc_ids": [OTHER]}}).json()
        assert asked["abstained"] and {p["doc_id"] for p in asked["passages"]} == {OTHER}
        found = api.post("/search", json={"query": QUESTION, "top_k": 2, "filters": {"title": "nalchik"}}).json()
        assert [p["doc_id"] for p in found["results"]] == [NALCHIK, NALCHIK]
        bad = api.post("/ask", json={"question": QUESTION, "filters": {"since": "yesterday"}})
        assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["error"]
        unknown = api.post("/search", json={"query": QUESTION, "filters": {"author": "x"}})
        assert unknown.status_code == 422 and "author" in unknown.json()["error"]


def test_the_openai_endpoint_takes_filters_as_an_extra_field(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="qa-corpus", messages=[{"role": "user", "content": QUESTION}],
                                           extra_body={"filters": {"doc_ids": [OTHER]}})
    assert reply.choices[0].message.model_extra["abstained"] is True


def test_the_cli_takes_filter_options(sample_index_dir):
    run = subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index-dir", str(sample_index_dir), "--corpus-dir", str(SAMPLE_CORPUS),
         "search", QUESTION, "--top-k", "2", "--title", "nalchik", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert [p["doc_id"] for p in json.loads(run.stdout)["results"]] == [NALCHIK, NALCHIK]
    bad = subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index-dir", str(sample_index_dir), "search", QUESTION, "--since", "soon"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr

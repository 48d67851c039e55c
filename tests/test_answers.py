"""The read side on the sample corpus: search, extractive answers, citations, abstention, input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading

import pytest

from index.documents import Span
from qa.config import Config
from qa import gate
from qa.errors import BadInputError, NotFoundError
from qa.service import ABSTAIN_TEXT, Assistant
from tests.conftest import ROOT, SAMPLE_CORPUS

QUESTIONS = {
    "How many people have left Chechnya to join the fighting in Syria?": "405",
    "How many gunmen did security forces kill on the outskirts of Grozny the day after the attack?": "seven",
    "Who is the leader of ISIS?": "Abu Bakr al-Baghdadi",
    "When did police attempt to stop a car in Grozny?": "December 17",
    "How old were the attackers in the Chechnya attacks on Eid al-Adha?": "between 11 and 16",
    "Who was the leader of Vilayat KBK?": "Zankishiev",
    "How many militants were killed in the first phase of the operation in Nalchik?": "11",
    "Which Russian Deputy Foreign Minister said the figures are alarming?": "Syromolotov",
}
UNANSWERABLE = [
    "What is the capital of Australia?",
    "Who won the 2018 FIFA World Cup final?",
    "What is the boiling point of water at sea level?",
    "what is the capital of france",  # in lower case, as a search box gets it: France is still a name
    "how many police were killed in texas",
    "when was the attack in london",
]


def check_invariants(answer) -> None:
    """Every [n] has its citation; every quote is the document text at its span."""
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert numbers == {c.n for c in answer.citations}
    for citation in answer.citations:
        text = (SAMPLE_CORPUS / citation.doc_id).read_text(encoding="utf-8")
        assert text[citation.start : citation.end] == citation.quote
        assert citation.id == f"{citation.doc_id}:{citation.start}-{citation.end}"
    for passage in answer.passages:
        text = (SAMPLE_CORPUS / passage.doc_id).read_text(encoding="utf-8")
        assert text[passage.start : passage.end] == passage.text
    assert answer.abstained == (answer.answer in (ABSTAIN_TEXT, gate.REPLY))


# Known misses of the answer rule, which on the sample gold set quotes the answering sentence
# more often than the model alone (36 of 50 against 33). "How old were the attackers ...?" was one
# (the rule preferred a sentence that repeats the question's words, "the attacks ... Eid al-Adha",
# and gives no age) until a question asking how many, how old or when needed a figure or a date;
# "Who is the leader of ISIS?" was another until titles counted in ranking.
RULE_MISSES: set[str] = set()


@pytest.mark.parametrize("question,expected", [
    pytest.param(q, e, marks=pytest.mark.xfail(strict=True, reason="a known miss of the answer rule"))
    if q in RULE_MISSES else (q, e) for q, e in QUESTIONS.items()])
def test_extractive_answers_quote_the_sentence_that_answers(assistant, question, expected):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.answer
    assert answer.mode == "extractive"
    assert expected in answer.citations[0].quote
    check_invariants(answer)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_questions_the_corpus_cannot_answer_abstain(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained and answer.citations == []
    assert answer.passages  # what was looked at is still shown
    check_invariants(answer)


# Each document gives a president, and each question is about the other's: a sentence that gives
# what is asked to another name does not answer it (`consistency.question_conflicts`).
@pytest.mark.parametrize("question,expected", [
    # not "Chechnya's President"; asked in lower case, the Putin sentence's support (0.25) is over the bar
    ("who is the president of russia", "Russian President Vladimir Putin"),
    ("who is the chechen president", "Chechen President Ramzan Kadyrov"),  # not "Russian President"
])
def test_a_sentence_that_gives_what_is_asked_to_another_name_is_not_quoted(assistant, question, expected):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.answer
    assert expected in answer.citations[0].quote
    check_invariants(answer)


def test_a_how_many_question_wants_the_sentence_with_a_number(assistant):
    answer = assistant.ask("How many Russians have joined the Islamic State in total?")
    assert re.search(r"\d", answer.citations[0].quote)


def test_search_returns_ranked_passages_with_exact_spans(assistant):
    results = assistant.search("Kadyrov spy network inside Isis", top_k=3)
    assert len(results) == 3
    assert results[0].doc_id == "003_5086438d16222152.txt"
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    for r in results:
        text = (SAMPLE_CORPUS / r.doc_id).read_text(encoding="utf-8")
        assert text[r.start : r.end] == r.text


def test_follow_up_questions_are_searched_with_their_context(assistant):
    history = ["How many people from Chechnya left to join the Islamic State in Syria?"]
    answer = assistant.ask("and how many of them were killed?", history=history)
    assert "Chechnya" in answer.query
    assert "104" in answer.answer
    check_invariants(answer)


def test_cite_resolves_span_context_and_metadata(assistant):
    answer = assistant.ask("When did police attempt to stop a car in Grozny?")
    found = assistant.cite(answer.citations[0].id)
    text = (SAMPLE_CORPUS / found.doc_id).read_text(encoding="utf-8")
    assert found.quote == text[found.start : found.end]
    assert found.title and found.date == "2016-12-28"
    assert text[found.context_start : found.start] == found.context_before
    assert text[found.end : found.context_end] == found.context_after
    assert found.context_before.strip() and found.context_after.strip()


@pytest.mark.parametrize(
    "citation_id,error",
    [
        ("../../etc/passwd:0-10", NotFoundError),
        ("/etc/passwd:0-10", NotFoundError),
        ("nonexistent.txt:0-10", NotFoundError),
        ("000_3cdf5aa040d08496.txt:0-999999", NotFoundError),
        ("000_3cdf5aa040d08496.txt:20-10", BadInputError),
        ("000_3cdf5aa040d08496.txt", BadInputError),
        ("", BadInputError),
    ],
)
def test_bad_citation_ids_are_clear_errors(assistant, citation_id, error):
    with pytest.raises(error):
        assistant.cite(citation_id)


def test_one_span_type_names_chunks_passages_citations_and_resolved_ids(assistant):
    answer = assistant.ask("How many people have left Chechnya to fight in Syria?")
    citation, passage = answer.citations[0], answer.passages[0]
    found = assistant.cite(citation.id)
    assert all(isinstance(x, Span) for x in (citation, passage, found))
    assert Span.parse(citation.id) == Span(citation.doc_id, citation.start, citation.end)
    assert found.id == citation.id and Span.parse(passage.id).id == passage.id
    assert any(citation.overlaps(p) for p in answer.passages)  # it quotes what was retrieved
    # A document id may hold colons and dashes: the last colon starts the span.
    assert Span.parse(" uploads/a:b-c.jsonl/x:1-2:30-45 ") == Span("uploads/a:b-c.jsonl/x:1-2", 30, 45)
    for bad in ("a.txt:10-10", "a.txt:10", ":1-2", "a.txt:-1-5", None):
        with pytest.raises(ValueError):
            Span.parse(bad)
    assert Span("a", 0, 10).overlaps(Span("a", 9, 12)) and not Span("a", 0, 10).overlaps(Span("a", 10, 12))
    assert not Span("a", 0, 10).overlaps(Span("b", 0, 10))


@pytest.mark.parametrize(
    "question,message",
    [("", "empty"), ("   \n\t ", "empty"), ("\x00\x07\x1b", "empty"), ("x" * 100_000, "100,000 characters")],
)
def test_bad_questions_are_clear_errors(assistant, question, message):
    with pytest.raises(BadInputError, match=message):
        assistant.ask(question)
    with pytest.raises(BadInputError, match=message):  # at once, before a streamed answer is read
        assistant.ask(question, stream=True)


def test_a_streamed_extractive_answer_comes_whole_and_reads_as_the_plain_one(assistant):
    question = "How many people have left Chechnya to fight in Syria?"
    response = assistant.ask(question, stream=True)
    assert response.mode == "extractive" and not response.done
    assert list(response) == [response.text()] and response.done
    plain = assistant.ask(question)
    assert plain.to_dict() | {"timings_ms": None} == response.to_dict() | {"timings_ms": None}


def test_questions_beyond_the_limit_wait_for_a_turn(sample_index_dir, embedder, support_model):
    from qa.service import concurrent_answers

    busy = Assistant(Config(index_dir=sample_index_dir), embedder=embedder, support=support_model)
    limit = concurrent_answers(busy.config)
    held = [busy.ask("Who is Kadyrov?", stream=True) for _ in range(limit)]
    for response in held:
        next(iter(response))  # each is being written, and holds its turn
    waiting = busy.ask("Who is Kadyrov?", stream=True)
    finished = threading.Event()
    threading.Thread(target=lambda: (waiting.result(), finished.set()), daemon=True).start()
    assert not finished.wait(1.0)
    held[0].result()  # its turn ends with it
    assert finished.wait(30)


def test_control_characters_and_other_scripts_are_answered_not_crashed(assistant):
    answer = assistant.ask("How many people\x00 have left\x1b Chechnya\tto fight in Syria?")
    assert "405" in answer.answer
    for question in ("Сколько людей уехало из Чечни в Сирию?", "车臣有多少人去了叙利亚？", "🙂🙂🙂?"):
        check_invariants(assistant.ask(question))


def test_top_k_and_mode_are_checked(assistant):
    with pytest.raises(BadInputError, match="top_k"):
        assistant.ask("Who is Kadyrov?", top_k=0)
    with pytest.raises(BadInputError, match="top_k"):
        assistant.ask("Who is Kadyrov?", top_k=10_000)
    with pytest.raises(BadInputError, match="QA_LLM_BASE_URL"):
        assistant.ask("Who is Kadyrov?", mode="llm")
    assert len(assistant.ask("Who is Kadyrov?", top_k=2).passages) == 2


def run_qa(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})})


def test_qa_ask_json_matches_the_spec(sample_index_dir):
    result = run_qa("--index-dir", str(sample_index_dir), "ask",
                    "How many people have left Chechnya to join the fighting in Syria?", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"question", "answer", "abstained", "mode", "citations", "passages", "timings_ms"} <= data.keys()
    citation = data["citations"][0]
    assert {"n", "id", "doc_id", "title", "start", "end", "quote", "supported", "score"} <= citation.keys()
    assert {"retrieve", "answer", "total"} <= data["timings_ms"].keys()


def test_qa_commands_fail_with_one_line_and_no_traceback(sample_index_dir, tmp_path):
    cases = [
        (["--index-dir", str(tmp_path / "nothing"), "ask", "Who?"], "no index"),
        (["--index-dir", str(sample_index_dir), "ask", "   "], "empty"),
        (["--index-dir", str(sample_index_dir), "cite", "../../etc/passwd:0-10"], "no indexed document"),
        (["--index-dir", str(sample_index_dir), "search", "x", "--top-k", "0"], "top_k"),
        (["--index-dir", str(tmp_path / "index"), "ingest", str(tmp_path / "no-such-folder")], "no such file or folder"),
    ]
    for args, message in cases:
        result = run_qa(*args)
        assert result.returncode == 2
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "index").exists()  # a missing path indexes nothing, not even an empty index


@pytest.mark.parametrize("model", ["{tmp}/no-model-here", "/nope", "no-such-org/no-such-model"])
def test_a_bad_embedding_model_is_one_line(sample_index_dir, tmp_path, model):
    result = run_qa("--index-dir", str(tmp_path / "index"), "ingest", str(ROOT / "docs_corpus"),
                    env_extra={"QA_EMBED_MODEL": model.format(tmp=tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot load embedding model" in result.stderr and "QA_EMBED_MODEL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_qa_ask_reads_the_question_from_stdin(sample_index_dir):
    result = subprocess.run([sys.executable, "-m", "qa.cli", "--index-dir", str(sample_index_dir), "ask", "-", "--json"],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            input="How many people have left Chechnya to join the fighting in Syria?\n")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == "How many people have left Chechnya to join the fighting in Syria?"
    assert "405" in data["answer"]


def test_listing_and_citing_load_no_model(sample_index_dir):
    """`qa docs` and `qa cite` read the catalog only: neither model, nor torch, is loaded."""
    script = (
        "import sys\n"
        "from qa.cli import main\n"
        f"main(['--index-dir', {str(sample_index_dir)!r}, 'docs'])\n"
        f"main(['--index-dir', {str(sample_index_dir)!r}, 'cite', '003_5086438d16222152.txt:2362-2582'])\n"
        "print('loaded:', sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "405 people" in result.stdout and result.stdout.strip().endswith("loaded: []")


def test_hard_wrapped_text_is_quoted_a_whole_sentence_at_a_time(tmp_path, embedder, support_model):
    corpus = tmp_path / "wrapped"
    corpus.mkdir()
    for path in SAMPLE_CORPUS.glob("*.txt"):
        paragraphs = path.read_text(encoding="utf-8").split("\n")
        (corpus / path.name).write_text("\n".join(textwrap.fill(p, 72) for p in paragraphs), encoding="utf-8")
    wrapped = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=corpus), embedder=embedder,
                        support=support_model)
    wrapped.ingest()
    answer = wrapped.ask("On what date did gunmen knock down a traffic policeman in Grozny?")
    quote = answer.citations[0].quote
    assert quote.startswith("On December 17, when police") and quote.endswith("in an attempt to\nescape.")
    assert (corpus / answer.citations[0].doc_id).read_text(encoding="utf-8")[
        answer.citations[0].start : answer.citations[0].end] == quote
    assert "\n" not in answer.answer and answer.answer.startswith("On December 17, when police attempted")


def test_a_formula_cut_from_its_subscript_by_a_line_break_is_answered_and_quoted_whole(tmp_path, embedder,
                                                                                       support_model):
    corpus = tmp_path / "report"
    corpus.mkdir()
    text = ("Carbon report\n\nGlobal CO\n2 emissions rose by 5 percent in 2021, after falling in 2020. The rise "
            "was driven by coal use in Asia.\n\nThe ozone layer (O\n3) is recovering slowly.\n")
    (corpus / "carbon.txt").write_text(text, encoding="utf-8")
    report = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=corpus), embedder=embedder,
                       support=support_model)
    report.ingest()
    answer = report.ask("How much did CO2 emissions rise in 2021?")
    assert not answer.abstained
    citation = answer.citations[0]
    assert citation.quote == text[citation.start : citation.end] == \
        "Global CO\n2 emissions rose by 5 percent in 2021, after falling in 2020."
    assert answer.answer.startswith("Global CO2 emissions rose by 5 percent in 2021")

"""The evaluation harness end to end: gold files, the runner, BEIR sets, the CLI, the baselines.

Real parts only: the real model, real Chroma, real files in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.catalog import FILENAME as CATALOG
from qa.cli import main
from qa.config import Config
from qa.eval.baselines import LlamaIndexPipeline, SingleRetrieverAssistant
from qa.eval.beir import beir_config, load_beir
from qa.eval.gold import GoldError, find_quote, locate, read_gold
from qa.eval.metrics import Span
from qa.eval.runner import (
    AssistantPipeline,
    RecordingEmbedder,
    evaluate,
    model_support,
    summarize,
)
from qa.service import Assistant

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "docs_corpus"
GROZNY = "000_3cdf5aa040d08496.txt"
NALCHIK = "002_4ee77f7c6db00e4b.txt"


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


# --- gold files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("line, message", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"question": "q?"}', 'needs an "id"'),
    ('{"id": "x", "question": "  "}', 'non-empty "question"'),
    ('{"id": "x", "question": "q?", "answers": "four"}', '"answers" must be a list'),
    ('{"id": "x", "question": "q?", "history": "earlier"}', '"history" must be a list'),
    ('{"id": "x", "question": "q?", "evidence": [{"doc_id": "a", "quote": "b"}]}', 'evidence without "answers"'),
    ('{"id": "x", "question": "q?", "answers": ["a"], "evidence": [{"doc_id": "a"}]}', 'evidence 1 needs a non-empty "quote"'),
    ('{"id": "x", "question": "q?", "answers": ["a"], "evidence": [{"doc_id": "a", "quote": "b", "start": 3}]}', "only one of start and end"),
    ('{"id": "x", "question": "q?", "answers": ["a"], "evidence": [{"doc_id": "a", "quote": "b", "start": 5, "end": 2}]}', "0 <= start < end"),
])
def test_a_bad_gold_line_is_named_by_file_and_line(tmp_path, line, message):
    path = write_jsonl(tmp_path / "gold.jsonl", [{"id": "ok", "question": "Fine?"}, line])
    with pytest.raises(GoldError) as caught:
        read_gold(path)
    assert f"{path} line 2: " in str(caught.value)
    assert message in str(caught.value)


def test_gold_ids_must_be_unique_and_files_must_hold_questions(tmp_path):
    path = write_jsonl(tmp_path / "gold.jsonl", [{"id": "a", "question": "One?"}, "", {"id": "a", "question": "Two?"}])
    with pytest.raises(GoldError, match=r"line 3: id 'a' is already used on .*line 1"):
        read_gold(path)
    with pytest.raises(GoldError, match="holds no questions"):
        read_gold(write_jsonl(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(GoldError, match="no such gold file"):
        read_gold(tmp_path / "missing.jsonl")


def test_locate_finds_quotes_typed_with_plain_quote_marks_and_other_spacing():
    text = "He said “the gunmen were   neutralized” at night. The gunmen fled. The gunmen fled."
    assert find_quote(text, '"the gunmen were neutralized"') == [(8, 39)]
    assert find_quote(text, "The gunmen fled.") == [(50, 66), (67, 83)]  # every occurrence is evidence
    assert find_quote(text, "the gunmen ran") == []


def test_locate_fills_in_spans_and_checks_given_offsets(tmp_path):
    texts = {"a.txt": "Four were killed. Two were taken to hospital."}
    path = write_jsonl(tmp_path / "gold.jsonl", [
        {"id": "found", "question": "How many?", "answers": ["four"], "evidence": [{"doc_id": "a.txt", "quote": "Four were killed."}]},
        {"id": "given", "question": "How many?", "answers": ["two"],
         "evidence": [{"doc_id": "a.txt", "quote": "Two", "start": 18, "end": 21}]},
        {"id": "none", "question": "Who?", "answers": [], "evidence": []},
    ])
    found, given, none = locate(read_gold(path), texts.get)
    assert found.spans == (Span("a.txt", 0, 17),) and found.evidence[0].start == 0
    assert given.spans == (Span("a.txt", 18, 21),)
    assert none.spans == () and not none.answerable


@pytest.mark.parametrize("evidence, message", [
    ({"doc_id": "b.txt", "quote": "Four"}, "names 'b.txt', which the index does not hold"),
    ({"doc_id": "a.txt", "quote": "Five were killed"}, "is not in 'a.txt'"),
    ({"doc_id": "a.txt", "quote": "Four", "start": 1, "end": 5}, "at 1-5 is 'our '"),
])
def test_locate_errors_name_the_line(tmp_path, evidence, message):
    path = write_jsonl(tmp_path / "gold.jsonl", [{"id": "q", "question": "How many?", "answers": ["4"], "evidence": [evidence]}])
    with pytest.raises(GoldError) as caught:
        locate(read_gold(path), {"a.txt": "Four were killed."}.get)
    assert f"{path} line 1: evidence 1" in str(caught.value) and message in str(caught.value)


# --- the runner over the real sample index --------------------------------------------------------
@pytest.fixture(scope="module")
def small_gold(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("gold") / "gold.jsonl", [
        {"id": "killed", "question": "How many militants were killed in the first phase of the operation near Nalchik?",
         "answers": ["11"], "evidence": [{"doc_id": NALCHIK, "quote": "with 11 militants killed in the first phase of the operation"}]},
        {"id": "evening", "question": "And how many more died later, in the evening?", "answers": ["three"],
         "evidence": [{"doc_id": NALCHIK, "quote": "and three more early in the evening"}],
         "history": ["How many militants were killed in the first phase of the operation near Nalchik?"]},
        {"id": "capital", "question": "What is the capital of Australia?", "answers": [], "evidence": []},
    ])


def test_the_runner_scores_each_question_through_the_app(assistant, embedder, support_model, small_gold):
    recording = Assistant(assistant.config, embedder=RecordingEmbedder(embedder), support=support_model)
    questions = locate(read_gold(small_gold), recording.reader.text)
    pipeline = AssistantPipeline(recording, mode="extractive")
    results = evaluate(pipeline, questions, model_support(support_model))
    killed, evening, capital = results

    assert killed.first_hit_rank is not None and killed.hit_at_5 == 1.0
    assert killed.retrieved[:5] == [p.id for p in assistant.ask(killed.question).passages]  # the app's passages
    assert "11" in killed.answer and killed.contains == 1.0 and killed.exact == 0.0
    assert killed.citations and all(c["valid"] for c in killed.citations) and killed.valid_offsets == 1.0
    assert killed.citation_recall == 1.0 and killed.supported_sentences == killed.sentences > 0
    assert killed.support is not None and killed.support >= recording.abstain_below
    assert killed.unabstained_answer == killed.answer
    # The unanswerable question abstained; the curve still learns what it would have answered.
    assert capital.abstained and capital.support < recording.abstain_below and capital.unabstained_answer
    # The follow-up was searched together with the question before it.
    assert evening.query != evening.question and "Nalchik" in evening.query
    assert capital.answerable is False and capital.hit_at_1 is None and capital.f1 is None
    assert all(r.latency_ms > 0 and r.error is None for r in results)

    summary = summarize(results)
    assert summary["n"] == 3
    assert summary["retrieval"]["ndcg@10"] is None
    # Abstention: the only unanswerable question decides both scores.
    expected_recall = 1.0 if capital.abstained else 0.0
    assert summary["abstention"]["recall"] == expected_recall


def test_a_failing_question_is_recorded_and_the_run_goes_on(assistant, embedder, support_model, small_gold):
    class Broken(AssistantPipeline):
        def ask(self, question, history):
            if "capital" in question:
                raise RuntimeError("the model fell over")
            return super().ask(question, history)

    questions = locate(read_gold(small_gold), assistant.reader.text)
    results = evaluate(Broken(assistant), questions, model_support(support_model))
    assert results[2].error == "RuntimeError: the model fell over" and results[2].abstained
    assert results[0].error is None and results[0].hit_at_5 == 1.0


def test_recording_embedder_computes_while_answering_and_reuses_afterwards(embedder):
    calls = []

    class Counting:
        name, dimension = embedder.name, embedder.dimension

        def embed(self, texts):
            calls.append(list(texts))
            return embedder.embed(texts)

    recording = RecordingEmbedder(Counting())
    with recording.answering():
        first = recording.embed(["four were killed", "two lived"])
        recording.embed(["four were killed"])  # computed again: the app's latency is its own
    assert len(calls) == 2
    again = recording.embed(["two lived", "four were killed", "new text"])
    assert calls[-1] == ["new text"]  # only what was not seen while answering
    np.testing.assert_allclose(again[:2], first[::-1], atol=1e-6)


# --- the CLI --------------------------------------------------------------------------------------
def test_qa_eval_prints_a_readable_table(sample_index_dir, small_gold, capsys):
    assert main(["--index-dir", str(sample_index_dir), "eval", str(small_gold), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "questions   2" in out
    assert "hit@5 1.000" in out
    assert "abstention" not in out  # nothing to score without unanswerable questions: left out


@pytest.mark.parametrize("argv, message", [
    (["eval"], "needs a gold JSONL file or --beir DIR"),
    (["eval", "gold.jsonl", "--beir", "."], "needs a gold JSONL file or --beir DIR"),
    (["eval", "gold.jsonl", "--limit", "0"], "--limit must be 1 or more"),
    (["eval", "gold.jsonl", "--top-k", "0"], "--top-k must be"),
    (["eval", "gold.jsonl", "--mode", "llm"], "LLM mode needs an endpoint"),
    (["eval", "missing.jsonl"], "no such gold file"),
    (["eval", "--beir", "no-such-folder"], "no such folder"),
])
def test_qa_eval_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["--index-dir", str(tmp_path / "index"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error: ") and message in err and err.count("\n") == 1


def test_qa_eval_without_an_index_says_to_ingest(tmp_path, small_gold, capsys):
    assert main(["--index-dir", str(tmp_path / "nothing"), "eval", str(small_gold)]) == 2
    assert "qa ingest" in capsys.readouterr().err


# --- BEIR -----------------------------------------------------------------------------------------
@pytest.fixture
def beir_folder(tmp_path) -> Path:
    folder = tmp_path / "tiny-beir"
    (folder / "qrels").mkdir(parents=True)
    write_jsonl(folder / "corpus.jsonl", [
        {"_id": "volcano", "title": "Volcanoes", "text": "A volcano erupts when magma rises through the crust and spills out as lava."},
        {"_id": "bees", "title": "Bees", "text": "Honey bees make honey from the nectar of flowers and store it in wax combs."},
        {"_id": "tides", "title": "Tides", "text": "Ocean tides are caused by the gravitational pull of the moon and the sun."},
        {"_id": "chess", "title": "Chess", "text": "In chess the bishop moves diagonally and the rook moves in straight lines."},
    ])
    write_jsonl(folder / "queries.jsonl", [
        {"_id": "q1", "text": "What makes the tides in the ocean?"},
        {"_id": "q2", "text": "How do bees produce honey?"},
        {"_id": "q3", "text": "A query without judgements"},
    ])
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\ttides\t1\nq2\tbees\t1\n")
    return folder


def test_qa_eval_beir_scores_an_index_of_its_own(tmp_path, beir_folder, embedder, capsys):
    index_dir = tmp_path / "main-index"
    assert main(["--index-dir", str(index_dir), "eval", "--beir", str(beir_folder), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 2  # only queries with judgements
    assert summary["retrieval"]["ndcg@10"] == 1.0 and summary["retrieval"]["recall@100"] == 1.0
    assert summary["retrieval"]["hit@1"] == 1.0
    assert summary["answer"] == {"exact": None, "f1": None, "contains": None}
    assert summary["abstention"] == {"precision": None, "recall": None}

    config = beir_config(Config(index_dir=index_dir), load_beir(beir_folder))
    assert config.index_dir == index_dir / "beir" / "tiny-beir"
    assert not (index_dir / CATALOG).exists()  # the main index is left alone
    again = Assistant(config, embedder=embedder).ingest([beir_folder / "corpus.jsonl"])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)  # a second run embeds nothing


def test_a_broken_beir_folder_is_a_clear_error(beir_folder, tmp_path, capsys):
    (beir_folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\ttides\n")
    assert main(["--index-dir", str(tmp_path / "i"), "eval", "--beir", str(beir_folder)]) == 2
    assert "test.tsv line 2: expected query-id<TAB>corpus-id<TAB>score" in capsys.readouterr().err
    (beir_folder / "qrels" / "test.tsv").unlink()
    assert main(["--index-dir", str(tmp_path / "i"), "eval", "--beir", str(beir_folder)]) == 2
    assert "is not a BEIR folder: qrels/test.tsv is missing" in capsys.readouterr().err


# --- baselines ------------------------------------------------------------------------------------
def test_single_retriever_assistant_uses_only_its_retriever(assistant, embedder):
    bm25 = SingleRetrieverAssistant(assistant.config, "bm25", embedder=embedder)
    query = "Zankishiev Vilayat KBK leader"
    lexical_order = [c.id for c, _ in bm25.reader.lexical(query, 5)]
    assert [p.id for p in bm25.search(query, 5)] == lexical_order
    assert bm25.ask(query).passages[0].id == lexical_order[0]
    with pytest.raises(ValueError):
        SingleRetrieverAssistant(assistant.config, "hybrid")


def test_plain_llamaindex_baseline_over_real_chroma(tmp_path, monkeypatch):
    work = tmp_path / "llamaindex"
    pipeline = LlamaIndexPipeline([CORPUS], work, top_k=3)
    answer = pipeline.ask("How many militants were killed in the first phase near Nalchik?", [])
    assert len(answer.passages) == 3 and not answer.abstained
    for p in pipeline.ranking(answer, 10):
        assert pipeline.text(p.doc_id)[p.start : p.end] == p.text  # LlamaIndex's offsets hold here
    citation = answer.citations[0]
    assert answer.answer == f"{citation.quote} [1]"
    assert pipeline.text(citation.doc_id)[citation.start : citation.end] == citation.quote
    assert answer.passages[0].doc_id == NALCHIK

    from llama_index.core import VectorStoreIndex

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the LlamaIndex store was rebuilt although nothing changed")

    monkeypatch.setattr(VectorStoreIndex, "from_documents", no_rebuild)
    reopened = LlamaIndexPipeline([CORPUS], work, top_k=3)
    assert [p.id for p in reopened.search("Nalchik bunker", 3)] == [p.id for p in pipeline.search("Nalchik bunker", 3)]


# --- LLM mode: the citation scores where they are not trivially right -------------------------------
def test_citation_scores_of_a_generated_answer_with_an_unsupported_claim(sample_index_dir, embedder, support_model,
                                                                         tmp_path):
    from qa.config import LLMSettings
    from tests.fake_openai import FakeOpenAI, source_number

    def script(messages):
        if "Standalone question" in messages[-1]["content"]:
            return "How many people have left Chechnya to fight in Syria?"
        n = source_number(messages, "405 people, according to our data")
        # One claim its source supports, one that no source does, both citing the same source.
        return f"A total of 405 people have left Chechnya to fight in Syria [{n}]. The moon is made of green cheese [{n}]."

    gold = write_jsonl(tmp_path / "gold.jsonl", [
        {"id": "left", "question": "How many people have left Chechnya to join the fighting in Syria?",
         "answers": ["405"], "evidence": [{"doc_id": "003_5086438d16222152.txt", "quote": "A total of 405 people"}]},
    ])
    with FakeOpenAI(script) as fake:
        config = Config(index_dir=sample_index_dir, corpus_dir=CORPUS,
                        llm=LLMSettings(base_url=fake.base_url, model="scripted", timeout=10))
        assistant = Assistant(config, embedder=embedder, support=support_model)
        questions = locate(read_gold(gold), assistant.reader.text)
        [result] = evaluate(AssistantPipeline(assistant, mode="llm"), questions, model_support(support_model))

    assert result.mode == "llm" and not result.abstained and result.error is None
    assert result.contains == 1.0
    assert result.sentences == 2 and result.supported_sentences == 1  # the cheese is nowhere
    assert result.citation_recall == 0.5  # one of two sentences supported by what it cites
    assert result.citation_precision == 0.5  # the citation on the cheese supports nothing
    assert result.valid_offsets == 1.0 and all(c["valid"] for c in result.citations)
    assert any(c["hits_evidence"] for c in result.citations)
    assert result.support is None  # no extractive support score in LLM mode


# --- the report -----------------------------------------------------------------------------------
def test_report_with_baselines_and_the_threshold_curve(tmp_path):
    from qa.eval.report import write_report
    from qa.eval.runner import QuestionResult

    def result(qid, answerable, abstained, support, answer, contains):
        r = QuestionResult(qid, f"question {qid}?", [], answerable, ["four"] if answerable else [],
                           ["a.txt:0-10"] if answerable else [])
        r.abstained, r.support, r.unabstained_answer, r.answer = abstained, support, answer, "" if abstained else answer
        r.contains = contains if answerable else None
        r.hit_at_1 = r.hit_at_5 = r.rr_at_10 = 1.0 if answerable else None
        r.first_hit_rank = 1 if answerable else None
        return r

    results = [result("right", True, False, 0.8, "Four died. [1]", 1.0),
               result("declined", False, True, 0.3, "Nothing. [1]", None),
               result("answered-wrongly", False, False, 0.6, "Two lived. [1]", None)]
    ours = summarize(results)
    worse = json.loads(json.dumps(ours))
    worse["retrieval"]["hit@5"] = 0.5
    written = write_report(tmp_path / "report", ours, [r.to_dict() for r in results], {"title": "t", "command": "qa eval x"},
                           comparison={"ours": ours, "BM25 alone": worse}, abstain_below=0.45)
    names = {p.name for p in written}
    assert {"results.json", "per_question.jsonl", "summary.md", "comparison.json", "comparison.png",
            "threshold_tradeoff.png", "support_distribution.png", "abstention_curve.json"} <= names
    markdown = (tmp_path / "report" / "summary.md").read_text()
    assert "| BM25 alone | 1.000 | 0.500 |" in markdown
    assert "### Answered although the corpus does not answer: 1" in markdown and "answered-wrongly" in markdown
    curve = json.loads((tmp_path / "report" / "abstention_curve.json").read_text())
    at = {p["threshold"]: p for p in curve}
    # Below 0.3 nothing abstains; at 0.45 "declined" does; at 0.7 both unanswerables do.
    assert at[0.2]["abstention_recall"] == 0.0 and at[0.45]["abstention_recall"] == 0.5
    assert at[0.7]["abstention_recall"] == 1.0 and at[0.7]["accuracy"] == 1.0
    assert at[0.9]["accuracy"] == 0.0  # the right answer is declined too

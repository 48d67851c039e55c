"""The support model: it loads offline, it declines what the corpus does not say, it answers what
it does, and `verify` checks any answer against passages or the index."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from index.embedding import bundled_model_path
from qa import extractive, grounding, support
from qa.config import Config
from qa.errors import BadInputError, SupportModelError
from qa.service import Assistant
from qa.span_reader import MODEL_DIR as SPAN_READER_DIR
from qa.support import MODEL_DIR, SupportModel
from qa.text import content_terms
from qa.verify import claims_of

ROOT = Path(__file__).resolve().parent.parent

# One fact a document; each question below is about a neighbour of a fact the corpus holds.
FACTS = {
    "offices.txt": "The Oslo office opened in 2004.",
    "people.txt": "Maria Lopez was appointed chief executive of Nordwind in March 2019.",
    "bridge.txt": "The Harbour Bridge is 340 metres long.",
    "river.txt": "The Tana river flows into the Barents Sea.",
}
ANSWERABLE = [
    ("When did the Oslo office open?", "The Oslo office opened in 2004."),
    ("Who was appointed chief executive of Nordwind?", "Maria Lopez"),
    ("How long is the Harbour Bridge?", "340 metres"),
    ("Where does the Tana river flow into?", "Barents Sea"),
]
UNANSWERABLE = [
    "When did the Zurich office open?",
    pytest.param("Who was appointed chief financial officer of Nordwind?", marks=pytest.mark.xfail(
        strict=True, reason="a known miss: the answer rule gives the chief executive sentence 0.70 for it")),
    "How long is the Tower Bridge?",
    "Where does the Danube flow into?",
]


@pytest.fixture(scope="module")
def facts(tmp_path_factory, embedder, support_model) -> Assistant:
    corpus = tmp_path_factory.mktemp("facts")
    for name, text in FACTS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    assistant = Assistant(Config(index_dir=corpus.parent / "facts-index", corpus_dir=corpus),
                          embedder=embedder, support=support_model)
    assistant.ingest()
    return assistant


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_a_neighbour_of_a_fact_is_declined(facts, question):
    answer = facts.ask(question)
    assert answer.abstained, f"answered {answer.answer!r} at support {answer.support}"
    assert answer.support < facts.abstain_below and not answer.citations


@pytest.mark.parametrize("question, expected", ANSWERABLE)
def test_the_fact_itself_is_answered_and_cited(facts, question, expected):
    answer = facts.ask(question)
    assert not answer.abstained and expected in answer.answer
    assert answer.support >= facts.abstain_below
    [citation] = [c for c in answer.citations if expected in c.quote]
    assert facts.reader.text(citation.doc_id)[citation.start:citation.end] == citation.quote


def test_the_rule_orders_the_shortlist_and_its_probability_is_the_answers_support(facts, support_model):
    question = "When did the Oslo office open?"
    answer = facts.ask(question)
    texts = {p.doc_id: facts.reader.text(p.doc_id) for p in answer.passages}
    scored = extractive.score_sentences(question, answer.passages, texts, support_model)
    rule = support_model.settings.answer_rule
    assert rule is not None and rule.weights["probability"] > 0  # the model's say counts, and for it
    assert [s.rank_score for s in scored] == sorted((rule.probability(s.features) for s in scored), reverse=True)
    [direct] = support_model.probabilities([(question, answer.citations[0].quote)])
    assert scored[0].text == answer.citations[0].quote
    assert scored[0].rank_score != pytest.approx(scored[0].support, abs=1e-2), "the rule's and the model's agree here"
    assert answer.citations[0].score == pytest.approx(float(direct), abs=1e-4)  # a citation: the model's own
    assert answer.support == pytest.approx(scored[0].rank_score, abs=1e-4)  # the answer: the rule's, which decides


def test_the_model_loads_with_no_network(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = SupportModel.load(cache_dir=tmp_path)  # the int8 model made here, from local files alone
    [p] = model.probabilities([("When did the Oslo office open?", "The Oslo office opened in 2004.")])
    assert 0.0 <= p <= 1.0
    assert [f.name for f in tmp_path.glob("support-*/*")] == ["model-int8.onnx"]


def test_int8_and_fp32_make_the_same_calls(support_model):
    """The int8 model (the default) stands in for the fp32 network it is made from."""
    fp32 = SupportModel.load(precision="fp32")
    pairs = [(q, FACTS[doc]) for q, doc in [
        ("When did the Oslo office open?", "offices.txt"), ("When did the Zurich office open?", "offices.txt"),
        ("How long is the Harbour Bridge?", "bridge.txt"), ("How long is the Tower Bridge?", "bridge.txt"),
        ("Who was appointed chief executive of Nordwind?", "people.txt"),
        ("Where does the Danube flow into?", "river.txt")]]
    assert support_model.precision == "int8" and fp32.precision == "fp32"
    exact, quantised = fp32.probabilities(pairs), support_model.probabilities(pairs)
    assert np.abs(exact - quantised).max() < 0.12 and np.abs(exact - quantised).mean() < 0.04
    threshold = support_model.settings.answer_threshold
    assert list(exact >= threshold) == list(quantised >= threshold)
    assert all(exact[[0, 2, 4]] >= threshold)  # a neighbour's name is told apart by the checks, not here


def test_an_unknown_precision_is_one_clear_error(monkeypatch):
    from qa.config import ConfigError

    with pytest.raises(SupportModelError, match="unknown support model precision 'bf16'"):
        SupportModel.load(precision="bf16")
    monkeypatch.setenv("QA_SUPPORT_PRECISION", "bf16")
    with pytest.raises(ConfigError, match="QA_SUPPORT_PRECISION"):
        Config.from_env()


@pytest.mark.parametrize("value", ["2", "-0.1", "abc"])
def test_a_threshold_that_is_no_probability_is_refused(monkeypatch, value):
    from qa.config import ConfigError

    monkeypatch.setenv("QA_ABSTAIN_BELOW", value)
    with pytest.raises(ConfigError, match="QA_ABSTAIN_BELOW"):
        Config.from_env()


def test_threads_asking_for_the_shipped_model_while_it_loads_share_one_load(monkeypatch):
    monkeypatch.setattr(support, "_SHIPPED", {})
    loads = []

    def slow_load(cls, *args, **kwargs):
        loads.append(1)
        time.sleep(0.3)  # the others ask meanwhile
        return object()  # a stand-in: only how often it loads, and what each caller gets, is tested

    monkeypatch.setattr(SupportModel, "load", classmethod(slow_load))
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: SupportModel.shipped(), range(4)))
    assert len(loads) == 1
    assert all(model is models[0] for model in models)


def test_the_shipped_files_are_small_and_say_how_they_were_made():
    size = sum(f.stat().st_size for f in MODEL_DIR.iterdir())
    assert size < 8_000_000
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    assert settings["trained"]["command"].startswith("python training/train_support.py")
    assert 0 < settings["answer_threshold"] < 1 and 0 < settings["claim_threshold"] < 1


def test_missing_model_files_are_one_clear_error(tmp_path):
    with pytest.raises(SupportModelError, match="missing"):
        SupportModel.load(tmp_path, cache_dir=tmp_path / "cache")
    shutil.copy(MODEL_DIR / "settings.json", tmp_path / "settings.json")
    (tmp_path / "adapter.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(SupportModelError, match="unreadable") as raised:
        SupportModel.load(tmp_path, cache_dir=tmp_path / "cache")
    assert str(tmp_path) not in str(raised.value)  # the message may reach a web page

    from safetensors.torch import load_file, save_file

    state = load_file(str(MODEL_DIR / "adapter.safetensors"))
    del state["head.weight"]
    save_file(state, str(tmp_path / "adapter.safetensors"))
    with pytest.raises(SupportModelError, match="no weights for 'head.weight'"):
        SupportModel.load(tmp_path, cache_dir=tmp_path / "cache")
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    (tmp_path / "settings.json").write_text(json.dumps(settings | {"targets": ["no_such_layer"]}), encoding="utf-8")
    with pytest.raises(SupportModelError, match="unreadable"):
        SupportModel.load(tmp_path, cache_dir=tmp_path / "cache")


def test_a_base_that_is_not_installed_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_BASE_MODELS", str(tmp_path / "bases"))  # a folder without the base
    shutil.copy(MODEL_DIR / "adapter.safetensors", tmp_path / "adapter.safetensors")
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    (tmp_path / "settings.json").write_text(json.dumps(settings | {"base": "all-mpnet-base-v2"}), encoding="utf-8")
    with pytest.raises(SupportModelError, match=r"base all-mpnet-base-v2 is not installed; run `python -m qa.bases`"):
        SupportModel.load(tmp_path, cache_dir=tmp_path / "cache")
    # installed by hand without its tokenizer: not installed either, rather than a raw error from the tokenizer
    base = tmp_path / "bases" / "all-mpnet-base-v2"
    base.mkdir(parents=True)
    (base / "config.json").write_text("{}", encoding="utf-8")
    (base / "model.safetensors").write_bytes(b"weights")
    with pytest.raises(SupportModelError, match=r"base all-mpnet-base-v2 is not installed; run `python -m qa.bases`"):
        SupportModel.load(tmp_path, cache_dir=tmp_path / "cache")


def test_a_base_whose_weights_differ_from_upstream_is_refused(tmp_path, monkeypatch):
    base = tmp_path / "bases" / "all-mpnet-base-v2"
    base.mkdir(parents=True)
    (base / "config.json").write_text("{}", encoding="utf-8")
    (base / "tokenizer.json").write_bytes((Path(bundled_model_path()) / "tokenizer.json").read_bytes())
    (base / "model.safetensors").write_bytes(b"weights that are not the upstream file")
    monkeypatch.setenv("QA_BASE_MODELS", str(tmp_path / "bases"))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    shutil.copy(MODEL_DIR / "adapter.safetensors", model_dir / "adapter.safetensors")
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    (model_dir / "settings.json").write_text(json.dumps(settings | {"base": "all-mpnet-base-v2"}), encoding="utf-8")
    for precision in ("int8", "fp32"):
        with pytest.raises(SupportModelError, match="not the upstream file's.*refusing it"):
            SupportModel.load(model_dir, precision, cache_dir=tmp_path / "cache")


@pytest.fixture(scope="module")
def int8_cache(tmp_path_factory) -> Path:
    """One cache of int8 models for the tests below: they build the same two."""
    return tmp_path_factory.mktemp("int8")


def _paired(tmp_path: Path, keep: int, reader_base: str | None = None) -> Path:
    """The shipped model with a second reader beside it: the shipped model with its head negated
    (so that it orders sentences the other way round), or its files claiming another base."""
    from safetensors.torch import load_file, save_file

    state = load_file(str(MODEL_DIR / "adapter.safetensors"))
    negated = {**state, "head.weight": -state["head.weight"], "head.bias": -state["head.bias"]}
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    for name, weights, extra in (("first", state, {"second_reader": {"model": "second", "keep": keep}}),
                                 ("second", negated, {"base": reader_base} if reader_base else {})):
        (tmp_path / name).mkdir()
        save_file(weights, str(tmp_path / name / "adapter.safetensors"))
        (tmp_path / name / "settings.json").write_text(json.dumps(settings | extra), encoding="utf-8")
    shutil.copytree(SPAN_READER_DIR, tmp_path / "reader")  # the span reader both settings name
    return tmp_path / "first"


OSLO = ("The Oslo office opened in 2004. The Oslo office has forty staff. The Oslo office moved to a new "
        "building in 2015. The Oslo office is led by Kari Nordmann.")


def test_a_second_reader_reads_the_first_readers_best_sentences_again(tmp_path, embedder, int8_cache):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "oslo.txt").write_text(OSLO + "\n", encoding="utf-8")
    paired = _paired(tmp_path, keep=2)
    model = SupportModel.load(paired, cache_dir=int8_cache)
    alone = SupportModel.load(paired, cache_dir=int8_cache, second=False)
    assert alone.second is None and model.second is not None and model.answering is model.second
    assistant = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus"),
                          embedder=embedder, support=alone)
    assistant.ingest()
    question = "Who leads the Oslo office, and how many people work there?"
    passages = assistant.search(question)
    texts = {p.doc_id: assistant.reader.text(p.doc_id) for p in passages}
    chosen = extractive.shortlisted(extractive.signals(question, passages, texts))
    first = extractive.read(question, chosen, alone, texts=texts)
    again = extractive.read(question, chosen, model, texts=texts)
    best = extractive._answerable(first, extractive.required_kind(question))[:2]
    assert len(first) == 4 and len(best) == 2
    # Only the first reader's best two are read again; the negated head gives 1 - p to each.
    assert sorted((s.start, s.end) for s in again) == sorted((s.start, s.end) for s in best)
    support = {s.start: s.support for s in best}
    assert [s.support for s in again] == pytest.approx([1 - support[s.start] for s in again], abs=1e-4)
    assert again[0].rank_score >= again[1].rank_score  # ranked by the second reader's rule


def test_the_second_reader_decides_the_declines(tmp_path, embedder, int8_cache):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "offices.txt").write_text(FACTS["offices.txt"] + "\n", encoding="utf-8")
    paired = SupportModel.load(_paired(tmp_path, keep=1), cache_dir=int8_cache)
    alone = SupportModel.load(tmp_path / "first", cache_dir=int8_cache, second=False)
    config = Config(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus", abstain_below=0.5)
    assistant = Assistant(config, embedder=embedder, support=alone)
    assistant.ingest()
    question = "When did the Oslo office open?"
    passages = assistant.search(question)
    texts = {p.doc_id: assistant.reader.text(p.doc_id) for p in passages}
    chosen = extractive.shortlisted(extractive.signals(question, passages, texts))
    [first] = extractive.read(question, chosen, alone, texts=texts)
    [second] = extractive.read(question, chosen, paired, texts=texts)
    assert second.support == pytest.approx(1 - first.support, abs=1e-3)  # the negated head
    assert first.rank_score >= 0.5 > second.rank_score  # the bar lies between the two readers' calls
    by_first = assistant.ask(question)
    by_second = Assistant(config, embedder=embedder, support=paired).ask(question)
    assert not by_first.abstained and by_first.support == pytest.approx(first.rank_score, abs=1e-4)
    assert by_second.abstained and by_second.support == pytest.approx(second.rank_score, abs=1e-4)


def test_a_second_reader_whose_base_is_missing_leaves_the_first_alone(tmp_path, monkeypatch, caplog, int8_cache):
    monkeypatch.setattr("qa.bases.default_dir", lambda: tmp_path / "bases")  # where setup would put it
    with caplog.at_level("WARNING", logger="qa.support"):
        model = SupportModel.load(_paired(tmp_path, keep=3, reader_base="all-mpnet-base-v2"),
                                  cache_dir=int8_cache)
    assert model.second is None and model.answering is model
    assert "base all-mpnet-base-v2 is not installed" in caplog.text and "python -m qa.bases" in caplog.text
    monkeypatch.setenv("QA_BASE_MODELS", str(tmp_path / "bases"))  # named on purpose: an error, not a fallback
    with pytest.raises(SupportModelError, match="not installed"):
        SupportModel.load(tmp_path / "first", cache_dir=int8_cache)


@pytest.mark.parametrize("second_reader", ["reader", {"model": "../elsewhere"}, {"model": "reader", "keep": 0}])
def test_a_second_reader_setting_that_makes_no_sense_is_refused(tmp_path, second_reader, int8_cache):
    shutil.copy(MODEL_DIR / "adapter.safetensors", tmp_path / "adapter.safetensors")
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    (tmp_path / "settings.json").write_text(json.dumps(settings | {"second_reader": second_reader}), encoding="utf-8")
    with pytest.raises(SupportModelError, match="unreadable"):
        SupportModel.load(tmp_path, cache_dir=int8_cache)


def test_concurrent_scoring_gives_the_same_probabilities(support_model):
    from concurrent.futures import ThreadPoolExecutor

    small = [("When did the Oslo office open?", "The Oslo office opened in 2004.")]
    large = small * 12
    expected_small, expected_large = support_model.probabilities(small), support_model.probabilities(large)
    with ThreadPoolExecutor(6) as pool:
        runs = list(pool.map(support_model.probabilities, [small, large] * 6))
    for got, want in zip(runs, [expected_small, expected_large] * 6):
        assert got == pytest.approx(want, abs=1e-5)


def test_probabilities_do_not_depend_on_the_batch(support_model):
    pairs = [("When did the Oslo office open?", "The Oslo office opened in 2004."),
             ("Who runs Nordwind?", "The Tana river flows into the Barents Sea."),
             ("How long is the bridge?", "The Harbour Bridge is 340 metres long and carries a railway line "
              "and a road across the harbour between the old town and the northern suburbs.")] * 3
    together = support_model.probabilities(pairs)
    alone = [support_model.probabilities([pair])[0] for pair in pairs[:3]]
    assert together[:3] == pytest.approx(alone, abs=1e-4)
    assert support_model.probabilities([]).shape == (0,)


# --- verify ---------------------------------------------------------------------------------------
PASSAGES = [
    "The Oslo office opened in 2004. It employs forty engineers.",
    "Maria Lopez was appointed chief executive of Nordwind in March 2019.",
]


def test_verify_against_passages_marks_each_sentence(assistant):
    answer = "The Oslo office opened in 2004 [1]. The moon is made of green cheese [2]."
    result = assistant.verify(answer, passages=PASSAGES)
    good, bad = result.sentences
    assert good.supported and not bad.supported and not result.supported
    assert answer[good.start:good.end] == good.text and answer[bad.start:bad.end] == bad.text
    assert good.source == {"passage": 0, "start": 0, "end": 31, "quote": "The Oslo office opened in 2004."}
    assert good.probability > bad.probability


def test_verify_against_the_index_cites_the_span(assistant):
    answer = "405 people have left Chechnya to join the fighting in Syria."
    result = assistant.verify(answer, question="How many people have left Chechnya for Syria?")
    [sentence] = result.sentences
    assert sentence.supported and result.supported
    source = sentence.source
    assert "405 people" in source["quote"]
    assert assistant.cite(source["id"]).quote == source["quote"]


@pytest.mark.parametrize("answer, passages, message", [
    ("", None, "answer is empty"),
    (42, None, "answer must be text"),
    ("[1] [2]", None, "no sentence to check"),
    ("Fine.", "a passage", "passages must be a list"),
    ("Fine.", [], "passages is empty"),
    ("Fine.", ["x"] * 21, "the limit is 20"),
    ("x" * 20_001, None, "the limit is 20,000"),
    ("Fine.", ["x" * 30_000] * 4, "100,000 characters in all"),
    ("Fine.", ["x" * 40_001], "the limit is 40,000"),
])
def test_verify_refuses_bad_input_with_the_reason(assistant, answer, passages, message):
    with pytest.raises(BadInputError, match=message):
        assistant.verify(answer, passages=passages)


def test_claims_keep_their_offsets_in_the_answer():
    answer = "First claim here [1]. [2] Second one, with a marker. Third."
    claims = claims_of(answer)
    assert [c for _, _, c in claims] == ["First claim here.", "Second one, with a marker.", "Third."]
    assert [answer[s:e] for s, e, _ in claims] == ["First claim here [1].", "[2] Second one, with a marker.", "Third."]


def run_qa(index_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", "--index-dir", str(index_dir), *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_qa_verify_reads_json_on_stdin(sample_index_dir):
    request = {"answer": "The Oslo office opened in 2004. It rained gold.", "passages": PASSAGES}
    done = run_qa(sample_index_dir, "verify", "-", "--json", stdin=json.dumps(request))
    assert done.returncode == 1, done.stderr  # one sentence is not supported
    reply = json.loads(done.stdout)
    assert reply["supported"] is False
    assert [s["supported"] for s in reply["sentences"]] == [True, False]

    done = run_qa(sample_index_dir, "verify", "-", stdin=json.dumps({"answer": "The Oslo office opened in 2004.",
                                                                      "passages": PASSAGES}))
    assert done.returncode == 0 and "every sentence is supported" in done.stdout


@pytest.mark.parametrize("stdin, message", [
    ("not json", "not valid JSON"),
    ('["a list"]', "must be a JSON object"),
    ('{"answer": "x", "passage": []}', "unknown field 'passage'"),
    ('{}', "answer is missing"),
    ('{"answer": ""}', "answer is empty"),
])
def test_qa_verify_bad_requests_are_one_line(sample_index_dir, stdin, message):
    done = run_qa(sample_index_dir, "verify", "-", stdin=stdin)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_claim_features_read_what_the_evidence_says():
    evidence = ["The Oslo office opened in 2004.", "It employs forty people."]
    context = set(content_terms(" ".join(evidence)))
    said = grounding.claim_features("The Oslo office opened in 2004.", evidence, context, 0.9)
    assert said == {"probability": 0.9, "best": 1.0, "covered": 1.0, "numbers": 1.0, "novel": 0.0}
    changed = grounding.claim_features("The Oslo office opened in 2005 with a bakery.", evidence, context, 0.9)
    assert changed["numbers"] == 0.0 and changed["novel"] > 0 and changed["best"] < 1.0


def test_the_claim_rule_flags_a_changed_number_and_backs_the_sentence_itself(support_model):
    spans = [grounding.Span(0, "d", "", 0, 31, "The Oslo office opened in 2004.")]
    claims = ["The Oslo office opened in 2004.", "The Oslo office opened in 1987 after a merger with Statoil."]
    alike = np.ones((2, 1))
    backed, changed = grounding.judge(claims, spans, alike, support_model)
    assert backed.supported and not changed.supported
    assert changed.probability < support_model.settings.claim_threshold <= backed.probability

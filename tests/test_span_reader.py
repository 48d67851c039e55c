"""The span reader: it reads a stretch of a passage with the question, and the answer rule weighs
where it puts the answer beside the support model's probability."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from index.sentences import sentence_spans
from qa import extractive
from qa.errors import SupportModelError
from qa.span_reader import MODEL_DIR, SpanReader, best_span, log_shares
from qa.support import MODEL_DIR as SUPPORT_DIR
from qa.support import SupportModel

OSLO = "The Oslo office opened in 2004. It was the first office outside Sweden."


def test_the_best_span_keeps_its_end_after_its_start_and_within_the_longest():
    starts = np.array([0.0, 5.0, 0.0, 0.0])
    ends = np.array([9.0, 0.0, 0.0, 3.0])
    assert best_span(starts, ends, longest=4) == 9.0  # not 5 + 9: that end lies before the start
    assert best_span(np.array([0.0, 7.0, 0.0]), np.array([0.0, 0.0, 3.0]), longest=2) == 10.0
    assert best_span(np.array([0.0, 7.0, 0.0]), np.array([0.0, 0.0, 3.0]), longest=1) == 7.0
    assert best_span(np.zeros(0), np.zeros(0), longest=3) < -1000


def test_log_shares_are_a_distribution_in_logs():
    shares = log_shares(np.array([2.0, 0.0, -1.0]))
    assert np.exp(shares).sum() == pytest.approx(1.0) and np.argmax(shares) == 0


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> SpanReader:
    return SpanReader.load(cache_dir=tmp_path_factory.mktemp("reader-int8"))


def test_it_puts_the_answer_where_the_answer_is_not_where_the_question_s_words_are(reader):
    """The second sentence repeats the question's words; the name it asks for is in the first."""
    spans = sentence_spans(OSLO)
    scores = reader.sentence_scores("Which was the first office outside Sweden?", OSLO, spans)
    assert scores.shape == (2,) and np.argmax(scores) == 0
    scores = reader.sentence_scores("When did the Oslo office open?", OSLO, spans)
    assert np.argmax(scores) == 0


def test_a_passage_longer_than_one_window_is_read_in_windows(reader):
    filler = " ".join(f"Room {i} of the building is painted blue." for i in range(60))
    text = filler + " The Bergen office opened in 1999."
    windows = reader.windows("When did the Bergen office open?", text)
    assert len(windows) > 1 and all(len(w.ids) <= reader.settings.max_tokens for w in windows)
    spans = sentence_spans(text)
    scores = reader.sentence_scores("When did the Bergen office open?", text, spans)
    assert np.isfinite(scores).all() and scores.min() > -1000  # every sentence was read
    assert np.argmax(scores) == len(spans) - 1
    long_question = "When did the Bergen office open? " * 100  # cut to half a window
    windows = reader.windows(long_question, text)
    assert all(len(w.ids) <= reader.settings.max_tokens and w.sequence_ids.count(0) <= reader.settings.max_tokens // 2
               and w.sequence_ids.count(1) > 64 for w in windows)
    assert reader.sentence_scores(long_question, text, spans).min() > -1000


@pytest.mark.parametrize("question, text, spans", [
    ("", OSLO, [(0, 31)]), ("   ", OSLO, [(0, 31)]), ("When?", "   ", [(0, 3)]), ("When?", OSLO, []),
    ("When?", OSLO, [(200, 210)]),  # a span outside the text gets no token
])
def test_empty_or_odd_input_gives_a_score_for_each_span_and_no_error(reader, question, text, spans):
    scores = reader.sentence_scores(question, text, spans)
    assert scores.shape == (len(spans),)


def test_reader_settings_that_leave_no_room_for_the_passage_are_refused(tmp_path):
    from qa.span_reader import ReaderSettings

    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    for bad in ({"max_tokens": 100}, {"longest_answer": 0}):
        (tmp_path / "settings.json").write_text(json.dumps(settings | bad), encoding="utf-8")
        with pytest.raises(ValueError, match="max_tokens must leave"):
            ReaderSettings.read(tmp_path / "settings.json")


def test_int8_and_fp32_put_the_answer_in_the_same_sentence(reader):
    fp32 = SpanReader.load(precision="fp32")
    text = "The Oslo office opened in 2004. It has forty staff. Kari Nordmann leads it."
    spans = sentence_spans(text)
    for question in ("When did the Oslo office open?", "how many staff oslo", "Who leads the office?"):
        exact, quantised = fp32.sentence_scores(question, text, spans), reader.sentence_scores(question, text, spans)
        assert np.argmax(exact) == np.argmax(quantised), question
        assert np.abs(np.exp(log_shares(exact)) - np.exp(log_shares(quantised))).max() < 0.15, question


def test_the_shipped_support_model_reads_with_the_span_reader_and_its_rule_weighs_it(support_model):
    assert support_model.span_reader is not None and support_model.span_reader.precision == "int8"
    assert support_model.settings.answer_rule.weights["reader"] > 0
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    assert settings["trained"]["command"].startswith("python training/train_reader.py")
    assert sum(f.stat().st_size for f in MODEL_DIR.iterdir()) < 4_000_000


def test_a_sentence_is_scored_as_read_in_the_passage_it_was_chosen_from(support_model):
    """Two passages of one document overlap (chunks do); the sentence both hold is a candidate of
    the first, and keeps the score of the first's stretch in whatever order the shortlist comes."""
    from qa.results import Passage

    question = "How many staff does the Oslo office have?"
    text = ("The firm was founded in Bergen. It moved to Oslo in 1990. The Oslo office opened in 2004. "
            "It has forty staff. Kari Nordmann leads it. The firm also has a Paris office.")
    spans = sentence_spans(text)
    first = Passage("oslo.txt", 0, spans[3][1], "Offices", text[:spans[3][1]], 1.0)
    second = Passage("oslo.txt", spans[2][0], len(text), "Offices", text[spans[2][0]:], 0.5)
    texts = {"oslo.txt": text}
    found = extractive.signals(question, [first, second], texts)
    staff = next(c for c in found if c.text == "It has forty staff.")
    leader = next(c for c in found if c.text == "Kari Nordmann leads it.")
    assert staff.passage == first and leader.passage == second
    reader = support_model.span_reader
    own = reader.sentence_scores(question, text[spans[2][0]:spans[3][1]], [
        (0, spans[2][1] - spans[2][0]), (spans[3][0] - spans[2][0], spans[3][1] - spans[2][0])])[1]
    other = reader.sentence_scores(question, text[spans[3][0]:spans[4][1]], [(0, spans[3][1] - spans[3][0])])[0]
    assert abs(own - other) > 0.01  # the second passage's stretch also holds it, read without the one before
    for chosen in ([staff, leader], [leader, staff]):
        scores = dict(zip((c.text for c in chosen), extractive.reader_scores(reader, question, chosen, texts)))
        assert scores["It has forty staff."] == pytest.approx(float(own))


def test_of_a_passage_it_reads_from_the_sentence_before_the_first_chosen_to_the_last(support_model):
    from qa.results import Passage

    question = "How many staff does the Oslo office have?"
    text = ("The firm was founded in Bergen. It moved to Oslo in 1990. The Oslo office opened in 2004. "
            "It has forty staff. Kari Nordmann leads it. The firm also has a Paris office.")
    passage = Passage("oslo.txt", 0, len(text), "Offices", text, 1.0)
    found = extractive.signals(question, [passage], {"oslo.txt": text})
    chosen = [c for c in found if c.text in ("The Oslo office opened in 2004.", "It has forty staff.")]
    stretch = text[text.index("It moved"):text.index(" Kari")]
    direct = support_model.span_reader.sentence_scores(question, stretch, sentence_spans(stretch))
    assert extractive.reader_scores(support_model.span_reader, question, chosen, {"oslo.txt": text}) == \
        pytest.approx(list(direct[1:]))
    whole = support_model.span_reader.sentence_scores(question, text, sentence_spans(text))
    assert list(direct[1:]) != pytest.approx(list(whole[2:4]), abs=1e-6)  # it did not read the whole passage


def test_a_span_reader_that_is_missing_or_named_by_a_path_is_one_clear_error(tmp_path):
    model_dir = tmp_path / "support"
    shutil.copytree(SUPPORT_DIR, model_dir)
    settings = json.loads((model_dir / "settings.json").read_text(encoding="utf-8"))
    with pytest.raises(SupportModelError, match="the span reader is missing"):
        SupportModel.load(model_dir, cache_dir=tmp_path / "cache")
    (model_dir / "settings.json").write_text(json.dumps(settings | {"span_reader": "../reader"}), encoding="utf-8")
    with pytest.raises(SupportModelError, match="unreadable"):
        SupportModel.load(model_dir, cache_dir=tmp_path / "cache")
    shutil.copytree(MODEL_DIR, tmp_path / "reader")
    (tmp_path / "reader" / "adapter.safetensors").write_bytes(b"not a safetensors file")
    (model_dir / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(SupportModelError, match="span reader in reader/ is unreadable") as raised:
        SupportModel.load(model_dir, cache_dir=tmp_path / "cache")
    assert str(tmp_path) not in str(raised.value)


def test_an_answer_rule_that_weighs_a_reader_none_is_named_for_is_refused(tmp_path):
    from qa.support import SupportSettings

    settings = json.loads((SUPPORT_DIR / "settings.json").read_text(encoding="utf-8"))
    settings["answer_rule"]["weights"]["reader"] = 0.5
    (tmp_path / "settings.json").write_text(json.dumps(settings | {"span_reader": None}), encoding="utf-8")
    with pytest.raises(ValueError, match="weighs a span reader"):
        SupportSettings.read(tmp_path / "settings.json")

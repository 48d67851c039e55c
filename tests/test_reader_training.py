"""The span reader's training data: where each answer lies, in characters and in tokens."""

from __future__ import annotations

import pytest

from training.support_data import SquadQuestion
from training.train_reader import SpanExample, encode, span_examples

GAZA = "From 2000 to 2007 it killed 542 people. In 2007 it drove the PLO out of Gaza."
OSLO = "The Oslo office opened in 2004. It was the first office outside Sweden."


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from index.embedding import bundled_model_path

    return AutoTokenizer.from_pretrained(bundled_model_path(), local_files_only=True)


def test_an_answer_whose_text_occurs_twice_has_no_known_place_and_is_left_out():
    questions = [SquadQuestion("g", "Hamas", "When did Hamas drive the PLO out of Gaza?", GAZA, ("2007",), (13,)),
                 SquadQuestion("o", "Offices", "When did the Oslo office open?", OSLO, ("2004",), (26,)),
                 SquadQuestion("u", "Offices", "When did the Paris office open?", OSLO, (), ())]
    assert span_examples(questions) == [SpanExample("When did the Oslo office open?", OSLO, 26, 30)]
    keyword = span_examples(questions, keyword_share=1.0)
    assert keyword[0].question == keyword[0].question.lower() and (keyword[0].start, keyword[0].end) == (26, 30)


def test_the_answer_tokens_are_the_answer_and_one_cut_off_is_left_out(tokenizer):
    asked = "Which was the first office outside Sweden?"
    found = encode(tokenizer, [SpanExample(asked, OSLO, 4, 15)])
    assert len(found) == 1
    assert tokenizer.decode(found[0].ids[found[0].start:found[0].end + 1]) == "oslo office"
    assert set(found[0].type_ids[found[0].start:]) == {1}  # the answer is in the paragraph's segment

    long = "Filler words go here. " * 200 + "The answer is Bergen."
    at = long.index("Bergen")
    assert encode(tokenizer, [SpanExample("Where?", long, at, at + 6)]) == []
    assert len(encode(tokenizer, [SpanExample("Where?", long, at, at + 6)], max_tokens=2000)) == 1


def test_a_reader_run_stopped_and_gone_on_with_ends_where_an_unbroken_run_ends(tmp_path, tokenizer):
    """The real bundled encoder: a run killed after its first batch and started again ends with
    the weights of a run never stopped (the long run goes on over several sittings)."""
    import torch

    from index.embedding import bundled_model_path
    from qa.span_reader import build_network
    from training.train_reader import train
    from training.train_support import trained_seconds

    examples = encode(tokenizer, [SpanExample(q, OSLO, OSLO.index(a), OSLO.index(a) + len(a)) for q, a in [
        ("When did the Oslo office open?", "2004"), ("Which office opened in 2004?", "Oslo office"),
        ("Which country was the office not in?", "Sweden"), ("oslo office opened", "2004")]])

    def run(checkpoint, stop_at=0):
        network = build_network(bundled_model_path())
        torch.nn.init.zeros_(network.head.weight)  # else a random start: each run its own
        torch.nn.init.zeros_(network.head.bias)
        return train(examples, network, seed=3, checkpoint=checkpoint, batch_size=2, stop_at=stop_at)

    unbroken = run(tmp_path / "unbroken.pt")
    run(tmp_path / "broken.pt", stop_at=1)
    assert torch.load(tmp_path / "broken.pt", weights_only=False)["done"] == 1
    saved = torch.load(tmp_path / "broken.pt", weights_only=False)
    torch.save(saved | {"seconds": 1000.0}, tmp_path / "broken.pt")  # as if the first sitting had been long
    resumed = run(tmp_path / "broken.pt")
    assert torch.load(tmp_path / "broken.pt", weights_only=False)["done"] == 2
    assert trained_seconds(tmp_path / "broken.pt") > 1000.0  # the sittings' training times add up
    for name, weights in unbroken.items():
        assert torch.equal(resumed[name], weights), name

"""The span reader's training: where each answer lies, in characters and in tokens; a run stopped and
gone on with; a second sitting's start and questions; two readers averaged into one."""

from __future__ import annotations

import json

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


def test_a_second_sitting_starts_from_the_reader_it_is_given(tmp_path, tokenizer):
    """With a learning rate of zero, training from the shipped reader's state ends at that state."""
    import torch

    from index.embedding import bundled_model_path
    from qa.span_reader import MODEL_DIR, build_network
    from training.train_reader import started_from, train

    start = started_from(MODEL_DIR)
    examples = encode(tokenizer, [SpanExample("When did the Oslo office open?", OSLO, 26, 30)])
    ended = train(examples, build_network(bundled_model_path()), seed=3, checkpoint=tmp_path / "c.pt", batch_size=1,
                  lr=0.0, start=start)
    assert ended.keys() == start.keys()
    for name, weights in start.items():
        assert torch.equal(ended[name], weights), name


def test_a_second_sitting_keeps_the_record_of_the_sittings_before_it(tmp_path):
    import json

    from training.train_reader import sitting_of

    first = {"command": "python training/train_reader.py BENCH --out DIR", "questions": 3987,
             "went_on_from": {"command": "an earlier one"}}
    (tmp_path / "settings.json").write_text(json.dumps({"rank": 16, "trained": first}), encoding="utf-8")
    assert sitting_of(tmp_path) == first
    (tmp_path / "settings.json").write_text(json.dumps({"rank": 16}), encoding="utf-8")
    assert sitting_of(tmp_path) == {}


def test_a_second_sitting_does_not_start_from_a_reader_of_another_shape(tmp_path):
    from qa.span_reader import MODEL_DIR
    from training.train_reader import started_from

    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    (tmp_path / "settings.json").write_text(json.dumps(settings | {"rank": 32, "alpha": 64.0}), encoding="utf-8")
    (tmp_path / "adapter.safetensors").write_bytes((MODEL_DIR / "adapter.safetensors").read_bytes())
    with pytest.raises(SystemExit, match="not of the shape trained here"):
        started_from(tmp_path)


def test_two_readers_averaged_are_one_reader_with_the_mean_of_their_weights(tmp_path):
    """The shipped reader and a second one (its updates changed and read at half the scale, a
    stand-in for a later sitting), averaged by the script, load as any reader does, and their
    merged weights are the mean."""

    import numpy as np
    import torch
    from safetensors.torch import load_file, save_file

    from qa.span_reader import MODEL_DIR, ReaderSettings, SpanReader, merged_network
    from training import average_readers

    second = tmp_path / "second"
    second.mkdir()
    state = load_file(str(MODEL_DIR / "adapter.safetensors"))
    generator = torch.Generator().manual_seed(0)
    save_file({k: (v * -0.5 + 0.01 * torch.randn(v.shape, generator=generator)).contiguous() for k, v in state.items()},
              str(second / "adapter.safetensors"))
    shipped = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    (second / "settings.json").write_text(json.dumps(shipped | {"alpha": shipped["alpha"] / 2}), encoding="utf-8")
    out = tmp_path / "averaged"
    assert average_readers.main([str(MODEL_DIR), str(second), "--out", str(out)]) == 0

    settings = json.loads((out / "settings.json").read_text(encoding="utf-8"))
    assert settings["rank"] == 2 * shipped["rank"]
    assert settings["alpha"] / settings["rank"] == shipped["alpha"] / shipped["rank"]
    weights = [merged_network(folder, ReaderSettings.read(folder / "settings.json")).state_dict()
               for folder in (MODEL_DIR, second, out)]
    for name, mean in weights[2].items():
        if mean.is_floating_point():
            assert torch.allclose(mean, (weights[0][name] + weights[1][name]) / 2, atol=1e-5), name

    reader = SpanReader.load(out, precision="fp32")
    scores = reader.sentence_scores("When did the Oslo office open?", OSLO, [(0, 31), (32, len(OSLO))])
    assert np.all(np.isfinite(scores))


def test_readers_of_different_shapes_are_not_averaged(tmp_path):
    from qa.span_reader import MODEL_DIR
    from training import average_readers

    other = tmp_path / "other"
    other.mkdir()
    settings = json.loads((MODEL_DIR / "settings.json").read_text(encoding="utf-8"))
    (other / "settings.json").write_text(json.dumps(settings | {"max_tokens": 384}), encoding="utf-8")
    (other / "adapter.safetensors").write_bytes((MODEL_DIR / "adapter.safetensors").read_bytes())
    with pytest.raises(SystemExit, match="differ in more than their training"):
        average_readers.main([str(MODEL_DIR), str(other), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit, match="a folder of its own"):
        average_readers.main([str(MODEL_DIR), str(other), "--out", str(other)])


def test_the_unsampled_questions_are_the_ones_a_whole_run_leaves_out(tmp_path):
    import gzip

    from training.support_data import squad_train_questions
    from training.train_reader import unsampled_train_questions

    def article(title, count):
        return {"title": title, "paragraphs": [{"context": OSLO, "qas": [
            {"id": f"{title}{i}", "question": f"Question {i}?", "answers": [{"text": "2004", "answer_start": 26}]}
            for i in range(count)]}]}

    (tmp_path / "squad-v1.1-train").mkdir()
    with gzip.open(tmp_path / "squad-v1.1-train" / "train-v1.1.reconstructed.json.gz", "wt", encoding="utf-8") as f:
        json.dump({"data": [article("big", 250), article("small", 30)]}, f)
    sampled = {q.qid for q in squad_train_questions(tmp_path, 200, seed=13)}  # up to 101 of each article
    rest = unsampled_train_questions(tmp_path, seed=13, count=200)
    assert len(sampled) == 101 + 30
    assert {q.qid for q in rest}.isdisjoint(sampled)
    assert len({q.qid for q in rest}) == len(rest) == 280 - len(sampled)
    assert {q.article for q in rest} == {"train:big"}  # the small article gave all of its questions


def test_a_reader_on_a_base_without_token_types_trains_and_reads(tmp_path, tokenizer):
    """A tiny MPNet (the larger base's architecture, which takes no token types), saved as a base
    is installed: the span network trains on it, and reads a passage."""
    import torch
    from transformers import MPNetConfig, MPNetModel

    from qa.span_reader import build_network
    from training.train_reader import train

    torch.manual_seed(0)
    config = MPNetConfig(vocab_size=tokenizer.vocab_size + 8, hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=4, intermediate_size=64, max_position_embeddings=300)
    MPNetModel(config, add_pooling_layer=False).save_pretrained(tmp_path / "tiny-mpnet")
    network = build_network(str(tmp_path / "tiny-mpnet"))
    assert not network.typed
    examples = encode(tokenizer, [SpanExample("When did the Oslo office open?", OSLO, 26, 30),
                                  SpanExample("oslo office outside", OSLO, 58, 64)])
    head = network.head.weight.detach().clone()
    state = train(examples, network, seed=3, checkpoint=tmp_path / "c.pt", batch_size=2)
    assert any(name.startswith("encoder.") for name in state)  # low-rank updates of MPNet's layers
    assert not torch.equal(network.head.weight, head)
    with torch.inference_mode():
        starts, ends = network(**{k: torch.tensor([v]) for k, v in
                                  (("input_ids", examples[0].ids), ("attention_mask", [1] * len(examples[0].ids)),
                                   ("token_type_ids", examples[0].type_ids))})
    assert starts.shape == ends.shape == (1, len(examples[0].ids)) and torch.isfinite(starts).all()

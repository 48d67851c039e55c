"""The pieces of support-model training that decide what it learns: contrast questions, and the
batches and loss that rank a question's answering sentence first."""

import random
import sys

import pytest
import torch

from training.support_data import Pair, SquadQuestion, altered_questions, squad_pairs
from training.train_support import listwise_loss, question_batches, sample_questions

OSLO = "The Oslo office opened in 2004. It was the first office outside Sweden."
BERGEN = "The Bergen office opened in 2011, after the Zurich office closed."


def question(qid: str, text: str, context: str, answer: str) -> SquadQuestion:
    return SquadQuestion(qid, "Offices", text, context, (answer,), (context.index(answer),))


@pytest.fixture
def questions():
    return [
        question("q1", "When did the Oslo office open?", OSLO, "2004"),
        question("q2", "Which was the first office outside Sweden?", OSLO, "It"),
        question("q3", "When did the Bergen office open?", BERGEN, "2011"),
        SquadQuestion("q4", "Offices", "When did the Paris office open?", OSLO, (), ()),
    ]


def test_a_contrast_question_is_no_longer_answered_by_its_sentence(questions):
    made = dict(altered_questions(questions, seed=1))
    assert made, "some question must be altered"
    for altered, sentence in altered_questions(questions, seed=1):
        assert altered not in {q.question for q in questions}
        assert any(sentence in q.context for q in questions if q.answers)
    # "first" becomes "last"; a name or number the sentence holds becomes one it does not
    for altered, sentence in made.items():
        changed = set(altered.split()) - set(sentence.split())
        assert changed, altered


def test_an_opposite_or_a_missing_name_is_what_changes():
    q = question("q", "Which was the first office outside Sweden?", OSLO, "It")
    [(altered, _)] = altered_questions([q], seed=3)
    assert altered == "Which was the last office outside Sweden?"
    zurich = [question("z", "When did the Oslo office open?", OSLO, "2004"),
              question("y", "When did the Bergen office open?", BERGEN, "2011")]
    swapped = [a for a, _ in altered_questions(zurich, seed=0)]
    assert any("Bergen" in a or "Zurich" in a for a in swapped if "Oslo" not in a)


def test_the_kinds_of_alteration_can_be_chosen(questions):
    names_only = altered_questions(questions, seed=3, kinds=("name",))
    assert names_only and all(" last " not in a and " not " not in a for a, _ in names_only)
    assert not altered_questions(questions, seed=3, kinds=())


def test_unanswerable_questions_make_no_contrast(questions):
    assert all(a != "When did the Paris office open?" for a, _ in altered_questions(questions))


def pairs_of(questions: int, per: int) -> list[Pair]:
    return [Pair(f"q{i}", "s" * (j + 1), int(j == 0), "question", "a", f"q{i}")
            for i in range(questions) for j in range(per)]


def test_a_questions_pairs_share_a_batch():
    pairs = pairs_of(10, 4) + [Pair("claim", "evidence", 1, "claim", "s", "c1")]
    batches = question_batches(pairs, 16, random.Random(5))
    assert sorted(i for b in batches for i in b) == list(range(len(pairs)))
    for batch in batches:
        assert len(batch) <= 16
        for i in batch:
            assert all(j in batch for j, p in enumerate(pairs) if p.qid == pairs[i].qid)


def test_the_listwise_loss_falls_as_the_answer_rises_above_the_others():
    chosen = pairs_of(2, 4)
    flat = listwise_loss(torch.zeros(8), chosen)
    assert flat.item() == pytest.approx(torch.log(torch.tensor(4.0)).item())
    ranked = torch.tensor([3.0, 0, 0, 0] * 2)
    assert listwise_loss(ranked, chosen).item() < flat.item()
    wrong = torch.tensor([0, 3.0, 0, 0] * 2)
    assert listwise_loss(wrong, chosen).item() > flat.item()


def test_questions_without_one_answer_and_claims_add_no_listwise_loss():
    unanswerable = [Pair("q", "s", 0, "question", "a", "q"), Pair("q", "t", 0, "question", "a", "q")]
    claims = [Pair("c", "e", 1, "claim", "s", "c"), Pair("c", "f", 0, "claim", "s", "c")]
    assert listwise_loss(torch.zeros(4), unanswerable + claims) is None


def test_a_limited_sample_keeps_whole_questions():
    pairs = pairs_of(30, 4)
    kept = sample_questions(pairs, 40, random.Random(2))
    assert 40 <= len(kept) < 44
    counts = {}
    for pair in kept:
        counts[pair.qid] = counts.get(pair.qid, 0) + 1
    assert set(counts.values()) == {4}


def test_the_threshold_table_gives_what_the_product_would_have_answered():
    """`bench/eval_support.py --frontier` rebuilds, from one answer at threshold 0, the answer at
    any threshold; it must agree with `extractive.pick` itself."""
    import importlib.util
    from pathlib import Path

    from qa.extractive import ScoredSentence, best_support, pick

    path = Path(__file__).resolve().parent.parent / "bench" / "eval_support.py"
    spec = importlib.util.spec_from_file_location("eval_support", path)
    eval_support = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(eval_support)
    rng = random.Random(7)
    seconds = 0
    for _ in range(300):
        # the model's probability and the rule's differ; the shortlist comes ordered by the rule's;
        # a sentence that gives the kind of answer the first lacks adds to it (a second may join)
        scored = sorted((ScoredSentence("d", "", i, i + 1, f"sentence {i}.", rng.uniform(0.5, 1.0), rng.random(),
                                        {"kind": float(rng.random() < 0.5)}) for i in range(rng.randint(1, 4))),
                        key=lambda s: -s.rank_score)
        given = pick(scored, 0.0)
        seconds += len(given) > 1
        answer = {"support": best_support(scored), "cited": [{"quote": s.text, "score": s.support} for s in given]}
        for threshold in (0.1, 0.3, 0.5, 0.7, 0.9):
            expected = pick(scored, threshold)
            assert eval_support.at_threshold(answer, threshold) == (not expected, " ".join(s.text for s in expected))
    assert seconds > 30  # answers of two sentences are rebuilt too


def test_per_article_caps_a_squad_1_article_and_zero_keeps_every_question():
    many = [question(f"q{i}", f"When did office {i} open?", OSLO, "2004") for i in range(5)]
    asked = lambda pairs: {p.qid for p in pairs}  # noqa: E731
    assert len(asked(squad_pairs(many, per_article=2))) == 2
    assert len(asked(squad_pairs(many, per_article=0))) == 5
    # an article with unanswerable questions (SQuAD 2.0) is never capped
    with_unanswerable = many + [SquadQuestion("u", "Offices", "When did the Paris office open?", OSLO, (), ())]
    assert asked(squad_pairs(with_unanswerable, per_article=2)) == {f"q{i}" for i in range(5)} | {"u"}


def test_a_run_stopped_and_gone_on_with_ends_where_an_unbroken_run_ends(tmp_path):
    """The real bundled encoder, trained on a few pairs: stopped after a batch (as a killed run is,
    at its last checkpoint) and then gone on with, it ends with the weights of a run never stopped."""
    from transformers import AutoTokenizer

    from index.embedding import bundled_model_path
    from qa.support import build_network
    from training.train_support import targets_of, train, trained_seconds

    pairs = [Pair(q, s, label, "question", "Offices", q) for q, s, label in [
        ("When did the Oslo office open?", OSLO, 1), ("When did the Bergen office open?", BERGEN, 1),
        ("When did the Oslo office open?", BERGEN, 0), ("When did the Bergen office open?", OSLO, 0),
        ("Which office closed?", BERGEN, 1), ("Which office closed?", OSLO, 0)]]
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path(), local_files_only=True)

    def run(checkpoint, stop_at=0):
        network = build_network(bundled_model_path())
        torch.nn.init.zeros_(network.head.weight)  # else a random start: each run its own
        torch.nn.init.zeros_(network.head.bias)
        return train(pairs, network, tokenizer, epochs=1, seed=3, targets=targets_of(network), batch_size=2,
                     checkpoint=checkpoint, every=100, stop_at=stop_at)

    unbroken = run(tmp_path / "unbroken.pt")
    stopped = run(tmp_path / "broken.pt", stop_at=1)
    assert torch.load(tmp_path / "broken.pt", weights_only=False)["done"] == 1
    assert any(not torch.equal(stopped[k], unbroken[k]) for k in unbroken)
    assert trained_seconds(tmp_path / "broken.pt") > 0
    saved = torch.load(tmp_path / "broken.pt", weights_only=False)
    torch.save(saved | {"seconds": 1000.0}, tmp_path / "broken.pt")  # as if the first sitting had been long
    resumed = run(tmp_path / "broken.pt")
    assert torch.load(tmp_path / "broken.pt", weights_only=False)["done"] == 3
    assert trained_seconds(tmp_path / "broken.pt") > 1000.0  # the sittings' training times add up
    assert trained_seconds(tmp_path / "none.pt") is None
    for name, weights in unbroken.items():  # the same batches, schedule, optimiser and dropout masks
        assert torch.equal(resumed[name], weights), name


GAZA = "From 2000 to 2007 it killed 542 people. In 2007 it drove the PLO out of Gaza."


def test_an_answer_whose_text_is_in_two_sentences_is_no_positive_unless_another_answer_pins_it():
    """The rebuilt SQuAD files give an answer its text's first occurrence as offset, here the
    first sentence, while the second is the one that answers."""
    asked = "When did Hamas drive the PLO out of Gaza?"
    alone = SquadQuestion("g1", "Hamas", asked, GAZA, ("2007",), (GAZA.index("2007"),))
    pinned = SquadQuestion("g2", "Hamas", asked, GAZA, ("2007", "In 2007"), (GAZA.index("2007"), GAZA.index("In 2007")))
    assert not [p for p in squad_pairs([alone]) if p.label == 1]
    assert [p.second for p in squad_pairs([pinned]) if p.label == 1] == ["In 2007 it drove the PLO out of Gaza."]
    # a sentence too short to train on still holds the answer: the other one is not known to
    war = "The war ended in 1945. Ceasefire: 1944. In 1944 the front moved west toward the Rhine."
    short = SquadQuestion("w", "War", "When did the front move west?", war, ("1944",), (war.index("1944"),))
    assert not [p for p in squad_pairs([short]) if p.label == 1]


def test_the_held_out_gold_is_the_sentence_an_answer_pins(monkeypatch):
    """`bench/sentence_choice.py` scores the held-out SQuAD questions against the sentences known
    to hold their answer, not the first occurrence that gold.jsonl gives, and leaves out a
    question no answer pins."""
    import importlib.util
    from pathlib import Path

    from qa.eval.gold import Evidence, GoldQuestion

    path = Path(__file__).resolve().parent.parent / "bench" / "sentence_choice.py"
    spec = importlib.util.spec_from_file_location("sentence_choice", path)
    sentence_choice = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "sentence_choice", sentence_choice)  # its dataclasses look themselves up
    spec.loader.exec_module(sentence_choice)
    first = GAZA.index("2007")
    gold = GoldQuestion("g", "When did Hamas drive the PLO out of Gaza?", ["2007", "In 2007"],
                        [Evidence("Hamas#0", "2007", first, first + 4)])
    evidence = sentence_choice.pin(gold, GAZA).evidence
    assert [(e.quote, GAZA[e.start:e.end]) for e in evidence] == [("2007", "2007"), ("In 2007", "In 2007")]
    assert all(e.start > GAZA.index(".") for e in evidence)
    assert sentence_choice.pin(GoldQuestion("g", gold.question, ["2007"], gold.evidence), GAZA).evidence == []

    # Asked of another article: the own paragraph of a question about something else.
    asked = [GoldQuestion(f"{a}{i}", "?", ["x"], [Evidence(f"{a}#{i}", "x", 0, 1)]) for a in "ABC" for i in range(2)]
    strangers = sentence_choice.another_article(asked)
    assert strangers == sentence_choice.another_article(asked)  # seeded
    own = {q.evidence[0].doc_id for q in asked}
    assert all(p in own and p[0] != q.id[0] for q in asked for p in [strangers[q.id]])
    # Its own paragraph, with the one name asked about swapped for another article's.
    texts = {"Normans#0": "The Normans gave their name to Normandy. In 1066 William took England from Harold.",
             "Normans#1": "Their language was Norman French.",
             "Fresno#0": "Fresno lies in the San Joaquin Valley, near Harold's farm.",
             "Fresno#1": "The valley is dry."}
    normandy = GoldQuestion("n", "Who gave their name to Normandy?", ["The Normans"],
                            [Evidence("Normans#0", "x", 0, 1)])
    fresno = GoldQuestion("f", "Where does Fresno lie?", ["San Joaquin"], [Evidence("Fresno#0", "x", 0, 1)])
    two = GoldQuestion("t", "When did William take England?", ["1066"], [Evidence("Normans#0", "x", 0, 1)])
    swaps = sentence_choice.swapped_name([normandy, fresno, two], texts)
    assert set(swaps) == {"n", "f"}  # "William" and "England" are two names
    # Not "San" (short), "Valley" (written in lower case too) nor "Harold" (Normandy's paragraph has him).
    assert swaps["n"] == "Who gave their name to Joaquin?"
    assert swaps["f"] in {f"Where does {n} lie?" for n in ("Normans", "Normandy", "William", "England", "Norman",
                                                            "French")}


def _row(setting: str, style: str, probabilities: list[float], answerable: bool) -> dict:
    """A fitting row whose candidates differ only in the model's probability."""
    cheap = {"lexical": 0.5, "kind": 0.0, "phrase": 0.0, "rank": 1.0}
    return {"group": "squad-train", "article": "a", "setting": setting, "style": style, "answerable": answerable,
            "pool": [{"features": {"probability": p, **cheap}, "holds": False} for p in probabilities]}


def test_the_bar_is_the_lowest_that_declines_enough_questions_asked_of_the_wrong_paragraph(monkeypatch):
    """`fit_answer_rule.choose_threshold`: the rule's probability for its first sentence is the
    score; the bar must decline DECLINED_ELSEWHERE of the wrong-paragraph questions in each style,
    whatever it costs the answerable ones."""
    from qa.support import Rule
    from training import fit_answer_rule as fit

    monkeypatch.setattr(fit, "DECLINED_ELSEWHERE", 0.88)
    rule = Rule({"probability": 1.0}, 0.0)  # the rule's probability is the model's here
    assert fit.answer_score(_row("named", "question", [0.2, 0.6, 0.4], True), rule, 8) == pytest.approx(0.6)
    assert fit.answer_score(_row("named", "question", [], True), rule, 8) == 0.0
    scores = {"question": [0.045] * 90 + [0.5] * 10, "keyword": [0.095] * 85 + [0.295] * 5 + [0.5] * 10}
    rows = [_row("other paragraph", style, [p], False) for style, ps in scores.items() for p in ps]
    rows += [_row("named", "question", [0.2], True)] * 50  # answerable: never counted,
    rows += [_row("other paragraph", "keyword", [0.9], True)] * 50  # nor where the other paragraph answers too
    # the keyword style needs 0.30 to decline 90 of its 100; the own words, 0.05
    assert fit.choose_threshold(rows, rule, 8) == 0.30
    own_words = [r for r in rows if r["style"] == "question"]
    assert fit.choose_threshold(own_words, rule, 8) == 0.05
    with pytest.raises(ValueError, match="no threshold"):
        fit.choose_threshold([_row("other paragraph", "question", [0.995], False)], rule, 8)
    with pytest.raises(ValueError, match="another paragraph"):
        fit.choose_threshold([r for r in rows if r["setting"] == "named"], rule, 8)


def test_a_pool_read_by_two_span_readers_splits_into_the_pool_of_each(tmp_path):
    """`fit_answer_rule --other-reader`: one pass scores the shortlist with both readers; each
    reader's rows carry its score as the rule's reader feature, and each is cached under the
    digest of the model with that reader, so that the other, once shipped, finds its own pool."""
    import json

    from training import fit_answer_rule as fit

    both = {"probability": 0.5, fit.READER: 1.0, fit.OTHER_READER: 2.0}
    rows = [{"article": "a", "pool": [{"features": both, "holds": True},
                                      {"features": {"probability": 0.1}, "holds": False}]}]  # beyond the shortlist
    own, other = fit.split_readers(rows)
    assert own[0]["pool"][0]["features"] == {"probability": 0.5, fit.READER: 1.0}
    assert other[0]["pool"][0]["features"] == {"probability": 0.5, fit.READER: 2.0}
    assert own[0]["pool"][1]["features"] == other[0]["pool"][1]["features"] == {"probability": 0.1}
    assert rows[0]["pool"][0]["features"] == both and own[0]["article"] == "a"  # the rows read are left as they are

    for name, weights in (("support", b"support"), ("reader", b"shipped reader"), ("candidate", b"other reader")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter.safetensors").write_bytes(weights)
    (tmp_path / "support" / "settings.json").write_text(json.dumps({"span_reader": "reader"}), encoding="utf-8")
    shipped = fit.cache_file(tmp_path / "support", "pool")
    assert fit.cache_file(tmp_path / "support", "pool", tmp_path / "reader") == shipped
    with_other = fit.cache_file(tmp_path / "support", "pool", tmp_path / "candidate")
    assert with_other != shipped
    (tmp_path / "reader" / "adapter.safetensors").write_bytes(b"other reader")  # the candidate shipped in its place
    assert fit.cache_file(tmp_path / "support", "pool") == with_other

"""Sentence spans: exact offsets, and line breaks that end a sentence only where they should."""

import textwrap

from index.sentences import sentence_spans, wrap_width

PARAGRAPH = ("Sometime after that the policemen who blocked the crossroads in the city managed to stop "
             "the car with the gunmen, Ramzan Kadyrov, head of the republic, told reporters after the "
             "attack. On December 17, when police attempted to stop a car, gunmen knocked down a traffic "
             "policeman and opened fire at the police in an attempt to escape.")
SECOND = ("Seven of the attackers were killed the next day on the outskirts of Grozny, according to "
          "the national anti-terrorism committee, and two more were detained by the police there.")


def texts(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def folded(text: str) -> list[str]:
    return [" ".join(t.split()) for t in texts(text)]


def test_one_paragraph_per_line_breaks_at_each_line():
    text = "Grozny attack\n" + PARAGRAPH + "\n" + SECOND
    assert wrap_width(text) is None
    assert texts(text) == ["Grozny attack", *texts(PARAGRAPH), SECOND]


def test_hard_wrapped_text_keeps_its_sentences_whole_and_its_offsets_exact():
    wrapped = textwrap.fill(PARAGRAPH, 72) + "\n\n" + textwrap.fill(SECOND, 72)
    assert 60 <= wrap_width(wrapped) <= 72
    assert folded(wrapped) == texts(PARAGRAPH) + [SECOND]
    for start, end in sentence_spans(wrapped):
        assert wrapped[start:end] == wrapped[start:end].strip()
    # a window inside the text splits the same way
    start = wrapped.index("On December")
    assert [wrapped[s:e] for s, e in sentence_spans(wrapped, start)] == texts(wrapped)[1:]


def test_a_short_line_a_blank_line_or_a_list_item_still_ends_a_sentence():
    body = textwrap.fill(PARAGRAPH, 72)
    items = "- the first item of a list\n- the second item of the list"
    text = "Grozny attack\n" + body + "\n" + items + "\n\n" + body + "\n\n" + textwrap.fill(SECOND, 72)
    assert wrap_width(text)
    found = folded(text)
    assert found[0] == "Grozny attack"
    assert "- the first item of a list" in found and "- the second item of the list" in found
    assert found[-1] == SECOND


def test_a_record_of_fields_is_not_wrapped_text():
    record = "name: Bistro Lyon\ncity: Oslo\nrating: 4.5\nopening hours: 11 to 23 every day but Monday\nprice: $$"
    assert wrap_width(record) is None
    assert len(texts(record)) == 5
    # fields of much the same length, each line nearly as long as the longest
    attributes = "\n".join(f"attributes BusinessParking {kind}: {value}" for kind, value in [
        ("garage", False), ("street", True), ("validated", False), ("lot", False), ("valet", False)] * 3)
    assert wrap_width(attributes) is None
    assert len(texts(attributes)) == 15

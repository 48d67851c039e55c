"""Sentence spans: exact offsets, and line breaks that end a sentence only where they should."""

import textwrap

from index.sentences import join_subscripts, sentence_spans, wrap_width

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


def test_a_heading_a_blank_line_a_list_item_or_a_table_still_ends_a_sentence():
    body = textwrap.fill(PARAGRAPH, 72)
    # full lines (the next word would not fit) before each of them, so only what they are breaks
    items = ("The lamps that the harbour office ordered came in three kinds and sizes\n"
             "- brass lamps for the two stone piers of the northern harbour and its quay\n"
             "- iron lamps for the lighthouse on the island beyond the northern harbour\n"
             "1. a third kind for the office itself, which the keeper lit every evening")
    table = "The lamps and their numbers are in the table that the keeper kept below\n| brass | 40 |"
    link = "See the report\nhttps://example.com/reports/harbour/1931/lamps-ordered-from-the-south"
    headers = "Subject: the lamps ordered for the harbour office in the spring of 1931\nFrom: keeper@example.com"
    text = "\n\n".join([headers, "Grozny attack\n" + body, items, table, link, "## Lamps\n" + body,
                        textwrap.fill(SECOND, 72)])
    assert wrap_width(text)
    found = folded(text)
    assert found[:2] == headers.split("\n")
    assert found[2] == "Grozny attack" and found[3:5] == texts(PARAGRAPH)
    assert found[5] == "The lamps that the harbour office ordered came in three kinds and sizes"
    assert "- iron lamps for the lighthouse on the island beyond the northern harbour" in found
    assert "1. a third kind for the office itself, which the keeper lit every evening" in found
    assert "| brass | 40 |" in found and "## Lamps" in found and "See the report" in found
    assert found[-1] == SECOND


def test_a_word_that_nearly_fit_still_counts_as_wrapped():
    # wrapping that counts bytes breaks before curly quotes a little early
    lines = textwrap.wrap(PARAGRAPH + " " + SECOND, 72)
    early = lines[1].rsplit(" ", 1)
    lines[1:3] = [early[0], early[1] + " " + lines[2]]
    text = "\n".join(lines) + "\n\n" + textwrap.fill(SECOND, 72)
    assert folded(text) == texts(PARAGRAPH) + [SECOND, SECOND]


def test_logs_figures_urls_and_verse_are_not_wrapped_prose():
    log = "\n".join(f"2024-01-02 12:{m:02d}:07 INFO worker-{m % 4} processed batch {m * 17} in 9{m:02d} ms"
                    for m in range(40))
    rows = "\n".join(f"2024-01-{d:02d},Oslo,{d / 7:.1f},{d},north-west wind,cloudy with rain" for d in range(1, 29))
    urls = "\n".join(f"https://example.com/articles/2024/{1000 + 37 * i}/harbour-lamps-{i}" for i in range(10))
    verse = ("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
             "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date;\n"
             "Sometime too hot the eye of heaven shines,\nAnd often is his gold complexion dimm'd;")
    for text in (log, rows, urls, verse):
        assert wrap_width(text) is None
        assert len(texts(text)) == text.count("\n") + 1


def test_a_record_of_fields_is_not_wrapped_text():
    record = "name: Bistro Lyon\ncity: Oslo\nrating: 4.5\nopening hours: 11 to 23 every day but Monday\nprice: $$"
    assert wrap_width(record) is None
    assert len(texts(record)) == 5
    # fields of much the same length, each line nearly as long as the longest
    attributes = "\n".join(f"attributes BusinessParking {kind}: {value}" for kind, value in [
        ("garage", False), ("street", True), ("validated", False), ("lot", False), ("valet", False)] * 3)
    assert wrap_width(attributes) is None
    assert len(texts(attributes)) == 15
    # fields that hold prose, as long as each other
    reviews = ["my husband and I came here for the first time and we loved the tacos a lot",
               "the service was slow but the staff were friendly and the food was great",
               "we waited for half an hour for a table on a friday night with the kids"]
    listing = "\n".join(["name: Bistro Lyon", "city: Santa Barbara"] + [f"review text: {r}" for r in reviews] * 3)
    assert wrap_width(listing) is None


def test_short_last_lines_of_paragraphs_with_no_blank_line_between_them_are_still_wrapped_text():
    # as a PDF's text layer reads: each paragraph's last line short, the next paragraph on the next line
    from tests.pdf_files import SURVEY_LINES

    text = "\n".join(SURVEY_LINES)
    assert wrap_width(text)
    assert folded(text) == [
        "Volga River Survey",
        "In the summer of 1998 twenty hydrologists mapped the lower Volga from Samara to Astrakhan.",
        "The survey was led by Dr. Irina Petrova.",
        "The work was paid for by the Kazan River Fund, which gave two boats.",
        "The main channel had moved east by two hundred metres since 1961.",
        "The maps are kept in the library of the Kazan institute, which printed them in 2001.",
    ]
    for start, end in sentence_spans(text):
        assert text[start:end] == text[start:end].strip()


def test_an_abbreviation_before_an_initial_does_not_end_the_sentence():
    text = ("Moreover, the Doctor of Pharmacy (Pharm. D.) degree is now required. "
            "The board met in Oslo. J. Smith chaired it.")
    assert texts(text) == ["Moreover, the Doctor of Pharmacy (Pharm. D.) degree is now required.",
                           "The board met in Oslo.", "J. Smith chaired it."]


def test_no_before_a_number_does_not_end_the_sentence_a_plain_no_does():
    assert texts("BYU was ranked No. 3 in the survey. The answer was no. 3 people disagreed.") == \
        ["BYU was ranked No. 3 in the survey.", "The answer was no.", "3 people disagreed."]


def test_cf_viz_and_lit_before_what_it_translates_do_not_end_the_sentence():
    text = ("Ctenophora, lit. 'comb-bearers', is a phylum, cf. Cnidaria and Porifera. Its powers, "
            "viz. France and Britain, met. The room was lit.    Then we left.")
    assert texts(text) == [text[: text.index(" Its")], text[text.index("Its") : text.index(" The room")],
                           "The room was lit.", "Then we left."]


def test_a_transliteration_ends_no_sentence_inside_its_bracket_however_long():
    text = ("The Russian SFSR (Russian: Российская Советская Федеративная Социалистическая Республика, tr. "
            "Rossiyskaya Sovetskaya Federativnaya Sotsialisticheskaya Respublika (help·info)) was the largest "
            "republic. Its capital was Moscow.")
    assert texts(text) == [text[: text.index(" Its")], "Its capital was Moscow."]
    # A bracket that never closes, or a pair that opens after, is not one it stands in.
    assert texts("It was sad :( The fire was out, tr. Then we left the house. Later (in 1990) it burned.") == \
        ["It was sad :( The fire was out, tr.", "Then we left the house.", "Later (in 1990) it burned."]


def test_a_formula_cut_from_its_subscript_by_a_line_break_stays_in_its_sentence():
    # Text extraction may put a subscript on a line of its own, as SQuAD's Oxygen article has it.
    text = ("Global CO\n2 emissions rose by 5 percent. Bauxite holds Al\n2O\n3, and rust Fe\n2O\n3.\n"
            "Ozone (O\n3) absorbs UV light with the formula O\n2.\nNext line.")
    assert texts(text) == ["Global CO\n2 emissions rose by 5 percent.", "Bauxite holds Al\n2O\n3, and rust Fe\n2O\n3.",
                           "Ozone (O\n3) absorbs UV light with the formula O\n2.", "Next line."]
    assert join_subscripts(text) == ("Global CO2 emissions rose by 5 percent. Bauxite holds Al2O3, and rust Fe2O3.\n"
                                     "Ozone (O3) absorbs UV light with the formula O2.\nNext line.")
    # A line that ends with a word, a number or a heading's numeral is no formula.
    for lines in ("Ingredients\n2 eggs\n3 cups of flour", "Results\n2 samples failed.", "Chapter 2\n3 things",
                  "Wrong figures\n2nd edition", "Appendix A\n1 Overview", "World War II\n2 million died."):
        assert texts(lines) == lines.split("\n")
        assert join_subscripts(lines) == lines

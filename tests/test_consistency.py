"""The consistency checks, each on its own: numbers, names, polarity and qualifiers."""

from __future__ import annotations

import pytest

from qa.consistency import (
    Conflict,
    Context,
    anchor_sentence,
    antonym_conflicts,
    conflicts,
    figures,
    name_conflicts,
    negation_conflicts,
    number_conflicts,
    qualifier_conflicts,
)

OSLO = ["The Oslo office opened in 2004."]
CHECHNYA = [
    "“A total of 405 people, according to our data, have left Chechnya to join the fighting in Syria,” said the "
    "Russian Interior Ministry in June.",
    "“Among those, 104 have been killed and 44 came back, while the fate of the rest is unknown.",
    "About 3,000 Russians are believed to be in Syria fighting for ISIS.",
]
KADYROV = [
    "“We are not going to calm down until we catch them,” Ramzan Kadyrov, head of the republic, said.",
    "Last October, Kadyrov announced his desire to send Chechen troops to Syria, but only if Putin approved.",
    "Putin has continued publicly supporting Kadyrov, despite the violations known to occur in Chechnya.",
]


@pytest.mark.parametrize("text, values", [
    ("It has 1,200 staff and 3.5% of the market.", [1200, 3.5]),
    ("Forty-two engineers came, and three thousand visitors.", [42, 3000]),
    ("Sales were $2.5 billion in 2019.", [2.5e9, 2019]),
    ("about 40 percent", [40]),
])
def test_figures_read_digits_words_separators_decimals_and_scales(text, values):
    assert [f.value for f in figures(text)] == values


def test_a_year_is_told_from_a_count():
    assert [f.year for f in figures("In 2004 it had 2004 visitors and 2,004 more.")] == [True, True, False]


@pytest.mark.parametrize("claim, evidence", [
    ("500 people left Chechnya for Syria.", "405"),
    ("About 30,000 Russians are in Syria.", "3,000"),
    ("140 have been killed.", "104"),
    ("Fewer than 100 people left Chechnya.", "405"),
])
def test_a_changed_figure_is_a_number_conflict(claim, evidence):
    assert number_conflicts(claim, CHECHNYA[:1] if "Fewer" in claim else CHECHNYA) == [Conflict("number", claim.split()[0] if claim[0].isdigit()
                                                          else next(w for w in claim.split() if w[0].isdigit()),
                                                          evidence)]


@pytest.mark.parametrize("claim", [
    "405 people left Chechnya.", "More than 400 people left Chechnya.", "About 400 people left Chechnya.",
    "Four hundred and five people left.", "Nearly three thousand Russians are in Syria.",
    "At least 100 of them were killed.",
])
def test_a_figure_the_evidence_bears_out_is_no_conflict(claim):
    assert number_conflicts(claim, CHECHNYA) == []


def test_an_exact_figure_must_match_and_a_shared_hedge_asks_for_the_same_figure():
    assert number_conflicts("407 people left.", CHECHNYA)
    assert number_conflicts("Over 200 clubs.", ["Students run over 400 clubs."])
    assert not number_conflicts("Over 200 clubs.", ["Students run 400 clubs."])


def test_a_year_changed_is_a_date_conflict_and_near_years_are_close_only():
    assert number_conflicts("The Oslo office opened in 2005.", OSLO) == [Conflict("date", "2005", "2004")]
    assert number_conflicts("It opened in about 2003.", OSLO) == []
    assert number_conflicts("It opened in about 1990.", OSLO)


def test_a_figure_the_evidence_lacks_is_a_conflict_with_nothing_beside_it():
    assert number_conflicts("The office opened with 40 staff.", ["The office opened."]) == \
        [Conflict("number", "40", "")]


def test_a_swapped_or_absent_name_conflicts_and_one_written_in_part_does_not():
    assert conflicts("The Bergen office opened in 2004.", OSLO) == [Conflict("name", "Bergen", "Oslo")]
    anchor = anchor_sentence("Putin is the head of the Chechen republic.", KADYROV)
    assert "head of the republic" in anchor
    assert Conflict("name", "Putin", "Ramzan Kadyrov") in name_conflicts(
        "Putin is the head of the Chechen republic.", anchor, KADYROV)
    for claim in ("Kadyrov is the head of the republic.", "Ramzan Kadyrov is the head of the Chechen republic.",
                  "The video shows allegiance to al-Baghdadi.", "Putin’s spokesman spoke."):
        evidence = KADYROV + ["It shows the gunmen pledging allegiance to Abu Bakr al-Baghdadi, the leader of ISIS.",
                              "Vladimir Putin’s spokesman Dmitry Peskov refused to confirm it."]
        assert [c for c in conflicts(claim, evidence) if c.kind == "name"] == [], claim


def test_a_demonym_is_its_country_but_a_longer_name_is_another():
    assert name_conflicts("Chechen fighters left.", "Fighters left Chechnya.", ["Fighters left Chechnya."]) == []
    assert name_conflicts("The North Rhineland was dry.", "The North Sea was dry land near the Rhine.",
                          ["The North Sea was dry land near the Rhine."])


def test_an_added_or_dropped_negation_conflicts_in_the_clause_that_says_it():
    assert negation_conflicts("The Oslo office did not open in 2004.", OSLO[0]) == \
        [Conflict("negation", "not", "(affirms)")]
    assert negation_conflicts("The office opened.", "The office never opened.")
    assert negation_conflicts("Kadyrov is the head of the republic.", KADYROV[0]) == []
    assert negation_conflicts("It is not untrue that they came.", "It is not untrue that they came.") == []


def test_an_antonym_of_what_the_evidence_says_conflicts():
    assert antonym_conflicts("The Oslo office closed in 2004.", OSLO[0]) == [Conflict("antonym", "closed", "opened")]
    assert antonym_conflicts("Prices fell in May.", "Prices rose in May.") == [Conflict("antonym", "fell", "rose")]
    assert antonym_conflicts("The office opened and later closed.", "The office opened and later closed.") == []


def test_a_sweeping_word_the_evidence_lacks_is_a_qualifier_conflict():
    assert qualifier_conflicts("Only the Oslo office opened in 2004.", OSLO) == [Conflict("qualifier", "only", "")]
    assert qualifier_conflicts("It was the first office.", ["It was the first office abroad."]) == []


def test_a_true_claim_and_a_paraphrase_have_no_conflict():
    assert conflicts("The Oslo office opened in 2004.", OSLO) == []
    assert conflicts("In 2004, the office in Oslo was opened.", OSLO) == []
    assert conflicts("405 people have left Chechnya to fight in Syria.", CHECHNYA) == []


def test_a_question_about_another_name_or_figure_is_not_answered_by_the_sentence():
    from qa.consistency import question_conflicts

    oslo = Context.of(["Oslo notes", "The Oslo office opened in 2004. It has forty staff."])
    assert question_conflicts("When did the Oslo office open?", "The Oslo office opened in 2004.", oslo) == []
    assert question_conflicts("When did the Bergen office open?", "The Oslo office opened in 2004.", oslo) == \
        [Conflict("name", "Bergen", "")]
    assert question_conflicts("What happened to the office in 2005?", "The Oslo office opened in 2004.", oslo) == \
        [Conflict("date", "2005", "2004")]


def test_a_question_in_lower_case_is_read_for_the_names_it_writes():
    from qa.consistency import common_names, lower_case_names, question_conflicts

    oslo = Context.of(["Oslo notes", "The Oslo office opened in 2004. It has forty staff."])
    sentence = "The Oslo office opened in 2004."
    assert question_conflicts("when did the bergen office open", sentence, oslo) == [Conflict("name", "bergen", "")]
    assert question_conflicts("When did the bergen office open?", sentence, oslo) == [Conflict("name", "bergen", "")]
    assert question_conflicts("when did the oslo office open", sentence, oslo) == []  # the document's own name
    assert question_conflicts("when did the office open", sentence, oslo) == []  # no name at all
    assert question_conflicts("when did oslo and bergen open offices", sentence, oslo) == []  # one name it has
    assert question_conflicts("where in oslo did Bergen staff meet", sentence, oslo) == []  # as when capitalised
    assert question_conflicts("Bergen office opened when?", sentence, oslo) == [Conflict("name", "bergen", "")]
    assert lower_case_names("what is the capital of france", oslo.written_names) == ["france"]
    assert lower_case_names("France?") == ["france"]  # a question's first word is capitalised as any is
    assert lower_case_names("who founded zu\u0308rich", {"zürich"}) == ["zürich"]  # typed with a combining accent
    # The document's own names: those it writes capitalised inside a sentence, and never in lower case.
    men = Context.of(["news.txt", "Population grew. Then Kadyrov's men met staff. Staff numbers rose in Oslo."])
    assert men.written_names == {"kadyrov", "oslo"}
    assert lower_case_names("who is ramzan kadyrov", men.written_names) == ["kadyrov"]
    assert question_conflicts("did kadyrov visit france", "Then Kadyrov's men met staff.", men) == []
    assert question_conflicts("what is the population of bergen", "Population grew.", men) == \
        [Conflict("name", "bergen", "")]  # "Population" opens a sentence: no name
    # The shipped list: names that Wikipedia writes capitalised, not words it also writes in lower case.
    assert {"france", "syria", "tennessee", "obama"} <= common_names()
    assert not {"may", "river", "city", "president", "bill", "march"} & common_names()


def test_a_sentence_that_gives_what_is_asked_to_another_name_does_not_answer():
    """"Who is the president of Norway?" of a document that names Norway elsewhere: a sentence that
    gives the presidency to Sweden does not answer, in any way the question is put."""
    from qa.consistency import question_conflicts

    sentences = ["Anna Berg, Sweden’s President, opened the Oslo office.",
                 "Swedish President Anna Berg opened the Oslo office.",
                 "Ferries leave from Bergen, the capital of the Vestland county, each day.",
                 "Norwegian President Erik Dahl opened it in 2004.",
                 "The budget of March gave the Oslo office more staff.",
                 "The Supreme Court sits in Oslo.",
                 "The office calls its plan the Vrenk Ostal approach."]
    news = Context.of(["Nordic news", " ".join(sentences) + " Norway and Sweden signed the treaty."])
    sweden, swedish, vestland, dahl, march, court, approach = sentences
    for question in ("Who is the president of Norway?", "Who is Norway's president?", "norway president",
                     "who is the norway president", "Who is the President of Norway?"):
        assert [c.evidence for c in question_conflicts(question, sweden, news)] == ["Sweden"], question
        assert [c.evidence for c in question_conflicts(question, swedish, news)] == ["Swedish"], question
        assert question_conflicts(question, dahl, news) == [], question  # "Norwegian" is Norway's
    assert question_conflicts("Who is the president of France?", "French President Anna Berg spoke.", news) == []
    assert question_conflicts("What is the capital of Norway?", vestland, news) == \
        [Conflict("name", "Norway", "Vestland")]
    assert question_conflicts("What is the capital of Vestland?", vestland, news) == []
    # Not another holder: a month, a word the question itself gives, a name before a head in lower case
    # (a name of the approach, not its holder), and any holder in a sentence that names Norway.
    assert question_conflicts("What did Norway's budget give?", march, news) == []
    assert question_conflicts("Where does Norway's Supreme Court sit?", court, news) == []
    assert question_conflicts("What is Norway's approach called?", approach, news) == []
    assert question_conflicts("Who is the president of Norway?", "Sweden’s President visited Norway.", news) == []


def test_another_holder_is_read_with_initials_short_words_and_a_sentences_first_word():
    from qa.consistency import question_conflicts

    world = Context.of(["World news", "The United Nations met in Geneva. Leaders of the USA, Norway and "
                        "Vestmark spoke. Michelle Wu was the mayor of Boston. Washington grew."])
    # A name asked by its initials, or given by them, is named.
    assert question_conflicts("Who is the secretary general of the UN?",
                              "Antonio Guterres is Secretary-General of the United Nations.", world) == []
    assert question_conflicts("Who is the president of the United States?", "He met the US President.", world) == []
    assert question_conflicts("Who is the president of the USA?", "Joe Biden is President of the United States.",
                              world) == []
    # "was" is no form of "Washington".
    assert question_conflicts("Who is the mayor of Washington?", "Michelle Wu was the mayor of Boston.", world) == \
        [Conflict("name", "Washington", "Boston")]
    # A sentence's first word holds what is asked where the document writes it as a name elsewhere.
    assert question_conflicts("Who is the president of Norway?", "Vestmark’s President Anna Berg spoke.", world) == \
        [Conflict("name", "Norway", "Vestmark")]


def test_a_formula_whose_subscript_text_extraction_put_on_a_line_of_its_own_is_the_formula():
    from qa.consistency import question_conflicts

    sentence = "Global CO\n2 emissions rose by 5 percent in 2021."
    report = Context.of(["Carbon report", sentence])
    assert question_conflicts("How much did CO2 emissions rise in 2021?", sentence, report) == []
    assert question_conflicts("How much did NO2 emissions rise in 2021?", sentence, report) == \
        [Conflict("name", "NO2", "")]


def test_a_name_of_several_words_against_another_with_the_same_last_word():
    from qa.consistency import question_conflicts

    bridge = Context.of(["bridge.txt", "The Harbour Bridge is 340 metres long."])
    assert question_conflicts("How long is the Tower Bridge?", "The Harbour Bridge is 340 metres long.", bridge) \
        == [Conflict("name", "Tower Bridge", "Harbour Bridge")]
    assert question_conflicts("How long is the Harbour Bridge?", "The Harbour Bridge is 340 metres long.",
                              bridge) == []
    broncos = Context.of(["Super Bowl 50", "The Broncos defeated the Panthers 24-10."])
    assert question_conflicts("Who did the Denver Broncos defeat?", "The Broncos defeated the Panthers 24-10.",
                              broncos) == []


def test_a_name_asked_without_its_accents_or_by_its_initials_is_the_documents_name():
    from qa.consistency import question_conflicts

    treaty = Context.of(["law.txt", "The principle of legal certainty predates European Union law."])
    sentence = "The principle of legal certainty predates European Union law."
    assert question_conflicts("Which principle predates EU law?", sentence, treaty) == []
    assert question_conflicts("Which principle predates UN law?", sentence, treaty) == [Conflict("name", "UN", "")]
    ukraine = ["Eastern Ukraine saw troops in 2014."]
    assert name_conflicts("The EU sent troops in 2014.", ukraine[0], ukraine)  # a claim's names: no initials
    mongol = Context.of(["Temüjin", "Temüjin and Khasar killed their half-brother Begter."])
    assert question_conflicts("Who killed Temujin's half-brother?", "Temüjin and Khasar killed Begter.", mongol) == []
    assert name_conflicts("The office in Zurich opened in 2004.", "The Zürich office opened in 2004.",
                          ["The Zürich office opened in 2004."]) == []
    assert name_conflicts("The office in Bern opened in 2004.", "The Zürich office opened in 2004.",
                          ["The Zürich office opened in 2004."])

"""Reading the app in headless Chromium: declined answers, PDF text, the scrolled article, a narrow window."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import SAMPLE_CORPUS
from tests.live_server import sample_corpus_with_pdf
from tests.test_browser import QUESTION, ask, browser, visit, wait_for_answer  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

DECLINED = "What is the boiling point of liquid nitrogen in Kelvin?"
PDF_QUESTION = "How many engineers surveyed the old canal?"
# Each page a paragraph of short lines, as a PDF's text comes out: a line break at every line's end.
CANAL_PAGES = [
    ["The survey of the old canal was carried out by a", "team of twenty-two engineers from the river",
     "board over the summer of 1954."],
    ["The canal was closed to barges in 1961 and its", "locks were filled in ten years later."],
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    """The sample corpus and a PDF whose lines break inside its sentences."""
    with sample_corpus_with_pdf(SAMPLE_CORPUS, tmp_path_factory.mktemp("browser-reading"), embedder,
                                "canal.pdf", CANAL_PAGES) as live:
        yield live


def open_first_citation(page, count: int = 1):
    wait_for_answer(page, count).locator("a.qa-cite").first.click()
    expect(page.locator("#qa-article mark")).to_be_visible()


def test_a_declined_answer_closes_the_previous_article(browser, server):
    for page in visit(browser, server):
        ask(page, QUESTION)
        open_first_citation(page)
        ask(page, DECLINED)
        expect(wait_for_answer(page, 2)).to_have_class("qa-msg qa-abstain")
        article = page.locator("#qa-article")
        expect(article.locator("mark")).to_have_count(0)
        expect(article).not_to_contain_text("Chechen Leader")
        expect(article).to_contain_text("nothing to show")


def test_pdf_lines_read_as_paragraphs_while_the_citation_keeps_the_exact_text(browser, server):
    for page in visit(browser, server):
        ask(page, PDF_QUESTION)
        card = page.locator("#qa-sources .qa-source").first
        expect(card).to_contain_text("canal.pdf")
        reflowed = "carried out by a team of twenty-two engineers from the river board over"
        assert reflowed in card.locator(".qa-passage").inner_text()
        citation_id = card.locator("code.qa-id").inner_text()
        assert "by a\nteam" in server.assistant.cite(citation_id).quote  # the stored quote is untouched

        open_first_citation(page)
        shown = page.locator("#qa-article .qa-article-text").inner_text()
        assert reflowed in shown
        # The pages' paragraphs stay apart: a blank line between them, none inside them.
        first, second = (part.strip() for part in shown.split("\n\n"))
        assert first.endswith("summer of 1954.") and "\n" not in first
        assert second == "The canal was closed to barges in 1961 and its locks were filled in ten years later."


def test_the_scrolled_article_shows_whole_lines_above_the_quote(browser, server):
    for page in visit(browser, server):
        ask(page, QUESTION)
        open_first_citation(page)
        page.wait_for_timeout(300)  # the scroll runs on the next frame
        placement = page.evaluate("""() => {
            const box = document.querySelector('#qa-article .qa-article-text');
            const mark = box.querySelector('mark');
            const top = box.getBoundingClientRect().top;
            const line = parseFloat(getComputedStyle(box).lineHeight);
            // Every line box of the text: none may be cut by the top edge, under the header.
            const range = document.createRange();
            range.selectNodeContents(box);
            const cut = [...range.getClientRects()].filter(r => r.height > 0 && r.top < top - 1 && r.bottom > top + 1);
            return {scrolled: box.scrollTop, cut: cut.length, room: mark.getBoundingClientRect().top - top, line};
        }""")
        assert placement["scrolled"] > 0 and placement["cut"] == 0, placement
        assert placement["room"] >= placement["line"], placement  # a line or more of context above the quote


def test_the_app_works_420_pixels_wide(browser, server):
    for page in visit(browser, server):
        page.set_viewport_size({"width": 420, "height": 900})
        ask(page, QUESTION)
        wait_for_answer(page)
        box = page.locator("#qa-question textarea").bounding_box()
        button = page.locator("#qa-ask").bounding_box()
        assert box["width"] >= 300, box  # the box takes the width; the button goes under it
        assert button["y"] >= box["y"] + box["height"], (box, button)
        sizes = page.evaluate("""() => [...document.querySelectorAll('#qa-sources .qa-source, #qa-sources .qa-passage')]
            .map(e => ({scroll: e.scrollWidth, client: e.clientWidth, right: e.getBoundingClientRect().right}))""")
        assert sizes and all(s["scroll"] <= s["client"] + 1 and s["right"] <= 420 for s in sizes), sizes
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 420

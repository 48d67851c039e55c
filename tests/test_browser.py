"""The chat app in headless Chromium, against the real server, index and model."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from qa.config import Config
from qa.service import Assistant
from tests.conftest import SAMPLE_CORPUS
from tests.live_server import EVIL_DOC_ID, EVIL_QUESTION, LiveServer, ScriptedChat, corpus_with_evil_document, \
    sample_corpus_with_pdf

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # the Debian package; no browser download
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-quic", "--no-first-run", "--disable-sync",
]
QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
TIMEOUT_MS = 60_000  # two shared cores: the first answer also warms the model up


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    """Sample corpus plus a document full of markup, in an index this module may write to."""
    root = tmp_path_factory.mktemp("browser")
    corpus = corpus_with_evil_document(SAMPLE_CORPUS, root / "corpus")
    assistant = Assistant(Config(index_dir=root / "index", corpus_dir=corpus), embedder=embedder)
    assistant.ingest()
    with LiveServer(assistant) as live:
        yield live


@pytest.fixture(scope="module")
def llm_server(server, embedder):
    """The same index, answered by a scripted LLM that streams one supported and one made-up claim."""
    source = server.assistant.config
    assistant = Assistant(Config(index_dir=source.index_dir, corpus_dir=source.corpus_dir, mode="llm"),
                          embedder=embedder, chat=ScriptedChat())
    with LiveServer(assistant) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app(browser, server) -> Page:
    yield from visit(browser, server)


def visit(browser: Browser, server: LiveServer):
    """A fresh visitor on the app; any request that leaves 127.0.0.1 is blocked and fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    outside: list[str] = []

    def guard(route):
        host = route.request.url.split("/")[2] if "://" in route.request.url else ""
        if host.split(":")[0] in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url + "/")
    expect(page.locator("#qa-header")).to_contain_text("documents indexed")
    yield page
    context.close()
    assert outside == [], f"the app tried to reach the internet: {outside}"


def ask(page: Page, question: str) -> None:
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")


def last_answer(page: Page):
    return page.locator("#qa-chat [data-testid='bot']").last


def wait_for_answer(page: Page, count: int = 1):
    """The answer bubble once the final answer (not the streamed draft) is in it."""
    final = page.locator("#qa-chat .qa-answer, #qa-chat .qa-abstain, #qa-chat .qa-error")
    expect(final).to_have_count(count)
    return final.nth(count - 1)


# --- asking -------------------------------------------------------------------------------------------
def test_question_shows_the_answer_a_citation_and_the_highlighted_passage(app):
    # Record every state the answer bubble passes through, to see that it streams.
    app.evaluate("""() => {
        window.__states = new Set();
        new MutationObserver(() => {
            for (const kind of ['pending', 'partial', 'answer'])
                if (document.querySelector('#qa-chat .qa-' + kind)) window.__states.add(kind);
        }).observe(document.querySelector('#qa-chat'), {childList: true, subtree: true, characterData: true});
    }""")
    ask(app, QUESTION)
    answer = wait_for_answer(app)
    expect(answer).to_contain_text("405 people")
    link = answer.locator("a.qa-cite").first
    expect(link).to_have_text("[1]")
    assert sorted(app.evaluate("() => [...window.__states]")) == ["answer", "partial", "pending"]

    card = app.locator("#qa-sources .qa-source").first
    expect(card.locator(".qa-title")).to_have_text("Chechen Leader Claims Forces Have Allegedly ‘Infiltrated’ Islamic State")
    mark = card.locator(".qa-passage mark")
    expect(mark).to_contain_text("A total of 405 people")
    # The passage holds more than the quote: the quote is highlighted inside it.
    passage = card.locator(".qa-passage").inner_text()
    assert len(passage) > len(mark.inner_text()) and mark.inner_text() in passage


def test_clicking_a_citation_shows_the_article_scrolled_to_the_span(app, server):
    ask(app, QUESTION)
    answer = wait_for_answer(app)
    citation_id = answer.locator("a.qa-cite").first.get_attribute("href").split("#qa-cite=")[1]
    answer.locator("a.qa-cite").first.click()

    article = app.locator("#qa-article .qa-article")
    expect(article.locator("mark")).to_contain_text("A total of 405 people")
    assert app.url.rstrip("/") == server.url  # the link did not navigate away
    assert len(app.context.pages) == 1  # nor open a tab
    # The whole article is shown, not only the passage.
    shown = article.locator(".qa-article-text").inner_text()
    whole = (SAMPLE_CORPUS / "003_5086438d16222152.txt").read_text(encoding="utf-8")
    assert shown.split()[:5] == whole.split()[:5] and shown.split()[-5:] == whole.split()[-5:]
    assert article.get_attribute("data-citation-id") == unquote(citation_id)  # the article of that link
    # Scrolled: the mark sits inside the visible part of the article's box and of the window.
    expect(article.locator("mark")).to_be_in_viewport()
    placement = app.evaluate("""() => {
        const box = document.querySelector('#qa-article .qa-article-text');
        const mark = box.querySelector('mark');
        const b = box.getBoundingClientRect(), m = mark.getBoundingClientRect();
        return {scrolled: box.scrollTop, inside: m.top >= b.top - 1 && m.bottom <= b.bottom + 1};
    }""")
    assert placement["scrolled"] > 0 and placement["inside"], placement


def test_a_source_card_link_opens_the_article_too(app):
    ask(app, QUESTION)
    wait_for_answer(app)
    app.locator("#qa-sources a.qa-open").first.click()
    expect(app.locator("#qa-article mark")).to_contain_text("A total of 405 people")


def test_follow_up_question_keeps_the_history(app):
    ask(app, QUESTION)
    wait_for_answer(app, 1)
    ask(app, "and how many of them were killed?")
    second = wait_for_answer(app, 2)
    expect(second).to_have_class("qa-msg qa-answer")
    expect(app.locator("#qa-chat [data-testid='user']")).to_have_count(2)
    expect(second.locator("a.qa-cite").first).to_be_visible()


def test_clearing_the_chat_forgets_the_conversation(app):
    ask(app, QUESTION)
    wait_for_answer(app)
    app.locator("#qa-new").click()
    expect(app.locator("#qa-chat [data-testid='user']")).to_have_count(0)
    expect(app.locator("#qa-sources")).to_contain_text("appear here")
    ask(app, QUESTION)
    wait_for_answer(app)
    app.locator("#qa-chat button[aria-label='Clear']").click()
    expect(app.locator("#qa-chat [data-testid='user']")).to_have_count(0)
    expect(app.locator("#qa-sources")).to_contain_text("appear here")


def test_abstention_reads_as_an_answer_not_an_error(app):
    ask(app, "What is the boiling point of liquid nitrogen in Kelvin?")
    answer = wait_for_answer(app)
    expect(answer).to_have_class("qa-msg qa-abstain")
    expect(answer).to_contain_text("does not answer")
    expect(app.locator("#qa-chat .qa-error")).to_have_count(0)
    expect(app.locator("#qa-sources")).to_contain_text("nothing is cited")


def test_bad_input_gets_a_clear_message(app):
    ask(app, "why " * 1500)
    answer = wait_for_answer(app)
    expect(answer).to_have_class("qa-msg qa-error")
    expect(answer).to_contain_text("the limit is 4,000")


def test_llm_mode_without_an_endpoint_says_what_to_set(app):
    app.get_by_role("tab", name="Corpus").click()
    app.locator("#qa-mode").get_by_label("llm").check()
    app.get_by_role("tab", name="Chat").click()
    ask(app, QUESTION)
    expect(wait_for_answer(app)).to_contain_text("QA_LLM_BASE_URL")


def test_two_visitors_at_once_get_their_own_answers(browser, server, app):
    other = browser.new_context().new_page()
    other.set_default_timeout(TIMEOUT_MS)
    other.goto(server.url + "/")
    expect(other.locator("#qa-header")).to_contain_text("documents indexed")
    ask(app, QUESTION)
    ask(other, "How old were the attackers in the Chechnya attacks?")
    expect(wait_for_answer(other)).to_contain_text("aged between 11 and 16")
    expect(wait_for_answer(app)).to_contain_text("405 people")
    expect(other.locator("#qa-chat [data-testid='user']")).to_have_count(1)
    other.context.close()


def test_llm_answer_streams_in_and_marks_the_unsupported_sentence(browser, llm_server):
    for app in visit(browser, llm_server):
        app.evaluate("""() => {
            window.__drafts = [];
            new MutationObserver(() => {
                const draft = document.querySelector('#qa-chat .qa-partial');
                if (draft) window.__drafts.push(draft.innerText);
            }).observe(document.querySelector('#qa-chat'), {childList: true, subtree: true, characterData: true});
        }""")
        ask(app, QUESTION)
        answer = wait_for_answer(app)
        drafts = app.evaluate("() => window.__drafts")
        assert len(set(drafts)) >= 3, drafts  # the text grew in several steps
        expect(answer).to_contain_text("405 people")
        unsupported = answer.locator(".qa-unsupported")
        expect(unsupported).to_have_count(1)
        expect(unsupported).to_contain_text("penguins")
        expect(unsupported).to_contain_text("unsupported")
        expect(app.locator("#qa-sources .qa-source-unsupported .qa-verdict")).to_contain_text("does not support")


# --- markup in documents ------------------------------------------------------------------------------
def test_markup_in_a_document_shows_as_text_and_never_runs(app):
    ask(app, EVIL_QUESTION)
    answer = wait_for_answer(app)
    expect(answer).to_contain_text('<script>window.__pwned = "script"</script>')
    expect(app.locator("#qa-sources .qa-passage").first).to_contain_text("<img src=\"x\" onerror=")
    answer.locator("a.qa-cite").first.click()
    article = app.locator("#qa-article .qa-article-text")
    expect(article).to_contain_text("${window.__pwned = 'template'}")
    expect(article).to_contain_text("{{constructor.constructor(")
    expect(article).to_contain_text("<b>instead</b>")
    # Nothing of it became markup, and nothing ran.
    for area in ("#qa-chat", "#qa-sources", "#qa-article"):
        assert app.locator(f"{area} script, {area} img, {area} b, {area} a[href^='javascript']").count() == 0
    assert app.evaluate("() => typeof window.__pwned") == "undefined"


def test_citation_lookup_tab_highlights_the_passage(app, server):
    ask(app, QUESTION)
    citation = wait_for_answer(app).locator("a.qa-cite").first.get_attribute("title")
    assert citation  # the link carries the article's title
    found_id = app.locator("#qa-sources code.qa-id").first.inner_text()
    app.get_by_role("tab", name="Citation lookup").click()
    box = app.locator("#qa-lookup-id textarea, #qa-lookup-id input").first
    box.fill(found_id)
    app.locator("#qa-lookup").click()
    view = app.locator("#qa-lookup-view")
    expect(view.locator("mark")).to_contain_text("A total of 405 people")
    expect(view).to_contain_text("Chechen Leader Claims Forces")
    expect(view.locator("mark")).to_be_in_viewport()

    box.fill("../../etc/passwd:0-10")
    app.locator("#qa-lookup").click()
    expect(view).to_contain_text("no indexed document")
    box.fill(f"{EVIL_DOC_ID}:0-10")
    app.locator("#qa-lookup").click()
    expect(view.locator("mark")).to_have_text("Notes on t")
    assert app.evaluate("() => typeof window.__pwned") == "undefined"


# --- the corpus tab -----------------------------------------------------------------------------------
def test_corpus_tab_lists_documents_and_adds_uploads(app, tmp_path):
    app.get_by_role("tab", name="Corpus").click()
    table = app.locator("#qa-docs table.qa-docs")
    expect(table).to_contain_text("000_3cdf5aa040d08496.txt")
    expect(table).to_contain_text("2016-12-28")
    rows_before = table.locator("tbody tr").count()

    good = tmp_path / "quokka_census.md"
    good.write_text("# Quokka census\n\nThe 2023 census of Rottnest Island counted 12,400 quokkas, "
                    "up from 10,000 in 2019.\n", encoding="utf-8")
    empty = tmp_path / "blank.txt"
    empty.write_text("   \n", encoding="utf-8")
    app.locator("#qa-upload input[type=file]").set_input_files([str(good), str(empty)])
    for name in ("quokka_census.md", "blank.txt"):  # uploaded: the server holds them
        expect(app.locator(f"#qa-upload a[href$='/{name}']")).to_have_count(1)
    app.locator("#qa-add").click()

    log = app.locator("#qa-ingest-log")
    expect(log.locator(".qa-ingest-ok")).to_contain_text("quokka_census.md")
    expect(log.locator(".qa-ingest-ok")).to_contain_text("1 added")
    expect(log.locator(".qa-ingest-error")).to_contain_text("blank.txt")
    expect(log.locator(".qa-ingest-error")).to_contain_text("empty")
    expect(table.locator("tbody tr")).to_have_count(rows_before + 1)
    expect(table).to_contain_text("Quokka census")

    app.get_by_role("tab", name="Chat").click()
    ask(app, "How many quokkas did the census of Rottnest Island count?")
    answer = wait_for_answer(app)
    expect(answer).to_contain_text("12,400")
    # Uploads live in a namespace of their own: they never replace a corpus document of the same name.
    assert answer.locator("a.qa-cite").first.get_attribute("href").startswith("#qa-cite=uploads%2Fquokka_census.md%3A")


# --- filters, pages and removal ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def paged_server(tmp_path_factory, embedder):
    """The sample corpus and a PDF whose answer lies on its third page."""
    from tests.test_pages import PAGES

    with sample_corpus_with_pdf(SAMPLE_CORPUS, tmp_path_factory.mktemp("browser-pages"), embedder,
                                "harbour.pdf", PAGES) as live:
        yield live


def test_a_filter_keeps_the_answer_inside_it_and_a_pdf_source_shows_its_page(browser, paged_server):
    from tests.test_pages import QUESTION as PDF_QUESTION

    for page in visit(browser, paged_server):
        page.locator("#qa-filters").get_by_text("Search only some documents").click()
        page.locator("#qa-filter-title input, #qa-filter-title textarea").first.fill("Nalchik")
        ask(page, QUESTION)  # answered by another article, which the filter leaves out
        expect(wait_for_answer(page)).not_to_contain_text("405")
        page.locator("#qa-filter-title input, #qa-filter-title textarea").first.fill("harbour")
        ask(page, PDF_QUESTION)
        expect(wait_for_answer(page, 2)).to_contain_text("forty brass lamps")
        card = page.locator("#qa-sources .qa-source").first
        expect(card.locator(".qa-page")).to_have_text("p. 3")
        expect(card).to_contain_text("harbour.pdf")


def test_the_corpus_tab_removes_a_document(browser, tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("browser-remove")
    assistant = Assistant(Config(index_dir=root / "index", corpus_dir=SAMPLE_CORPUS), embedder=embedder)
    assistant.ingest()
    gone = "003_5086438d16222152.txt"
    with LiveServer(assistant) as live:
        for page in visit(browser, live):
            page.get_by_role("tab", name="Corpus").click()
            table = page.locator("#qa-docs table.qa-docs")
            expect(table).to_contain_text(gone)
            page.locator("#qa-remove-doc input").click()
            page.get_by_role("option", name=gone, exact=False).click()
            page.locator("#qa-remove").click()
            expect(page.locator("#qa-remove-log .qa-ingest-ok")).to_contain_text("removed from the index")
            expect(table).not_to_contain_text(gone)
            page.get_by_role("tab", name="Chat").click()
            ask(page, QUESTION)
            expect(wait_for_answer(page)).not_to_contain_text("405")
    assert gone not in [d["doc_id"] for d in assistant.documents()]

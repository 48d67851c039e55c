"""The Gradio chat app: a chat with cited answers, a citation lookup, and the corpus with uploads.

All HTML comes from qa.web.ui_html, which escapes document text; this module lays out the page and
wires the events to the same `Assistant` that the CLI and the HTTP API use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from index.ingest import IngestBusyError
from qa.web import redact, ui_html
from qa.citations import ResolvedCitation
from qa.config import MODES
from qa.errors import BadInputError, IndexStoreError, LLMError, QAError, ReadOnlyError
from qa.service import MAX_TOP_K, Assistant
from qa.uploads import Upload

log = logging.getLogger(__name__)

UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".jsonl"]
REVEAL_STEPS = 12  # an extractive answer is ready at once; show it in this many steps
REVEAL_PAUSE = 0.025

# Scrolls an article's text box to its <mark>: two whole lines above the quote, so that no line is
# cut in half under the article's header and the quote starts with some context; then the page
# itself scrolls the article into view if it is not.
REVEAL_MARK_JS = """
const revealMark = (root) => {
  const mark = root.querySelector('mark');
  if (!mark) return;
  const box = mark.closest('.qa-article-text');
  if (box) {
    const style = getComputedStyle(box);
    const line = parseFloat(style.lineHeight) || 20, pad = parseFloat(style.paddingTop) || 0;
    const offset = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop - pad;
    box.scrollTop = Math.max(0, pad + (Math.round(offset / line) - 2) * line);
    (box.closest('.qa-article') || box).scrollIntoView({block: 'nearest'});
  } else {
    mark.scrollIntoView({block: 'center'});
  }
};
"""

# Clicks on any citation link, in the chat or in the source cards, open the article beside the
# chat. One listener on the document, in the capture phase, so that it runs before the chat's own
# link handling (which would open a new tab). The viewer it fills is the latest one mounted.
OPEN_CITATION_JS = REVEAL_MARK_JS + """
window.__qaViewer = {element: element, props: props, server: server};
watch('value', () => revealMark(element));
if (!window.__qaCitationClicks) {
  window.__qaCitationClicks = true;
  document.addEventListener('click', async (event) => {
    const link = event.target instanceof Element ? event.target.closest('a.qa-cite') : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    let id = link.getAttribute('data-citation-id');
    const href = link.getAttribute('href') || '';
    if (!id && href.includes('#qa-cite=')) id = decodeURIComponent(href.split('#qa-cite=')[1]);
    if (!id) return;
    const viewer = window.__qaViewer;
    viewer.props.value = await viewer.server.open_citation(id);
    requestAnimationFrame(() => revealMark(viewer.element));
  }, true);
}
"""

SCROLL_TO_MARK_JS = REVEAL_MARK_JS + """
watch('value', () => revealMark(element));
"""


def build_ui(assistant: Assistant) -> gr.Blocks:
    """The three tabs over one assistant; per-visitor state lives in gr.State, not here."""
    config = assistant.config

    def open_citation(citation_id: str) -> str:
        return _article_or_error(assistant, citation_id)

    with gr.Blocks(title="Ask the corpus", analytics_enabled=False) as demo:
        header = gr.Markdown("## Ask the corpus", elem_id="qa-header")
        questions = gr.State([])  # this visitor's earlier questions, oldest first: the chat history

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            elem_id="qa-chat", show_label=False, height=560, latex_delimiters=[],
                            feedback_options=None, group_consecutive_messages=False,
                            # No copy buttons: they copy a message's HTML source, not its text.
                            # No share button: it posts to Hugging Face.
                            buttons=[],
                            placeholder="Ask about the documents in the corpus. Every claim in an answer "
                                        "is cited; click a citation to read it in its article.",
                        )
                        with gr.Row(elem_id="qa-ask-row"):
                            box = gr.Textbox(
                                show_label=False, placeholder="Ask a question…", elem_id="qa-question",
                                scale=6, max_lines=4, autofocus=True,
                            )
                            ask_button = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=1)
                        with gr.Accordion("Search only some documents", open=False, elem_id="qa-filters"):
                            only_docs = gr.Dropdown([], value=[], multiselect=True, label="Documents",
                                                    elem_id="qa-filter-docs", info="empty: every document")
                            with gr.Row():
                                only_title = gr.Textbox(label="Title contains", elem_id="qa-filter-title")
                                since = gr.Textbox(label="Dated from", placeholder="YYYY-MM-DD",
                                                   elem_id="qa-filter-since")
                                until = gr.Textbox(label="Dated until", placeholder="YYYY-MM-DD",
                                                   elem_id="qa-filter-until")
                        new_chat = gr.Button("New conversation", size="sm", elem_id="qa-new")
                    with gr.Column(scale=2):
                        sources = gr.HTML(ui_html.sources_html(None, {}), elem_id="qa-sources",
                                          max_height=420)
                        article = gr.HTML(
                            ui_html.article_placeholder(), elem_id="qa-article",
                            js_on_load=OPEN_CITATION_JS, server_functions=[open_citation],
                        )

            with gr.Tab("Citation lookup", id="lookup"):
                with gr.Row():
                    citation_box = gr.Textbox(
                        label="Citation id", placeholder="000_3cdf5aa040d08496.txt:738-905",
                        elem_id="qa-lookup-id", scale=6,
                    )
                    lookup_button = gr.Button("Look up", elem_id="qa-lookup", scale=1)
                lookup_view = gr.HTML("", elem_id="qa-lookup-view",
                                      js_on_load=SCROLL_TO_MARK_JS)

            with gr.Tab("Corpus", id="corpus"):
                documents = gr.HTML("", elem_id="qa-docs")
                with gr.Row():
                    with gr.Column(scale=3):
                        if config.read_only:
                            gr.Markdown("This server is read-only: adding files is turned off.",
                                        elem_id="qa-read-only")
                        else:
                            files = gr.File(label=_upload_label(config), file_count="multiple",
                                            file_types=UPLOAD_TYPES, elem_id="qa-upload")
                            add_button = gr.Button("Add to the index", elem_id="qa-add")
                            ingest_log = gr.HTML("", elem_id="qa-ingest-log")
                            with gr.Row():
                                to_remove = gr.Dropdown([], label="Remove a document from the index "
                                                        "(its file stays where it is)", elem_id="qa-remove-doc",
                                                        scale=4)
                                remove_button = gr.Button("Remove", elem_id="qa-remove", variant="stop", scale=1)
                            remove_log = gr.HTML("", elem_id="qa-remove-log")
                    with gr.Column(scale=2):
                        gr.Markdown("### Settings")
                        top_k = gr.Slider(1, MAX_TOP_K, value=config.top_k, step=1, label="Passages retrieved (top-k)",
                                          elem_id="qa-top-k")
                        mode = gr.Radio(list(MODES), value=config.mode, label="Answer mode", elem_id="qa-mode",
                                        info=_mode_info(assistant))

        def respond(question, chat, earlier, k, answer_mode, doc_ids, title, day_from, day_until):
            filters = {"doc_ids": doc_ids or [], "title": title, "since": day_from, "until": day_until}
            yield from _respond(assistant, question, chat, earlier, k, answer_mode, filters)

        def lookup(citation_id):
            return _article_or_error(assistant, citation_id)

        def add_files(paths, progress=gr.Progress()):
            yield from _add_files(assistant, paths, progress)

        def new_conversation():
            return [], [], ui_html.sources_html(None, {}), ui_html.article_placeholder()

        def remove(doc_id):
            message = _remove(assistant, doc_id)
            return (message, _documents_view(assistant), _header(assistant), _document_choices(assistant, None),
                    _document_choices(assistant, []))

        ask_inputs = [box, chatbot, questions, top_k, mode, only_docs, only_title, since, until]
        ask_outputs = [box, chatbot, questions, sources, article]
        box.submit(respond, ask_inputs, ask_outputs)
        ask_button.click(respond, ask_inputs, ask_outputs)
        new_chat.click(new_conversation, None, [chatbot, questions, sources, article])
        # The chat's own trash icon empties the messages; the history must go with them.
        chatbot.clear(new_conversation, None, [chatbot, questions, sources, article])
        citation_box.submit(lookup, citation_box, lookup_view)
        lookup_button.click(lookup, citation_box, lookup_view)
        if not config.read_only:
            # One upload at a time: the others wait in Gradio's queue, which shows their place.
            add_button.click(add_files, files, [ingest_log, documents, header], concurrency_limit=1).then(
                lambda: (_document_choices(assistant, None), _document_choices(assistant, [])), None,
                [to_remove, only_docs])
            remove_button.click(remove, to_remove, [remove_log, documents, header, to_remove, only_docs],
                                concurrency_limit=1)
        lists = [only_docs] if config.read_only else [only_docs, to_remove]
        demo.load(lambda: (_documents_view(assistant), _header(assistant),
                           *(_document_choices(assistant, [] if c is only_docs else None) for c in lists)),
                  None, [documents, header, *lists])

    # Each visitor's question runs on its own worker; the Assistant is safe to share.
    demo.queue(default_concurrency_limit=8)
    return demo


# --- chat -----------------------------------------------------------------------------------------
def _respond(assistant: Assistant, question: str, chat: list, questions: list[str], top_k, mode: str,
             filters: dict | None = None):
    """Stream one turn: the question, "Searching…", the answer as it is written, then its sources."""
    chat = list(chat or [])
    if not (question or "").strip():
        yield gr.update(), chat, questions, gr.update(), gr.update()
        return
    chat.append({"role": "user", "content": ui_html.question_html(question)})
    chat.append({"role": "assistant", "content": ui_html.pending_html("Searching the corpus…")})
    yield "", chat, questions, ui_html.sources_html(None, {}), gr.update()

    try:
        response = assistant.ask(question, list(questions), top_k=_as_int(top_k), mode=mode or None,
                                 filters=filters, stream=True)
        streamed = response.mode == "llm"  # an extractive answer comes whole: revealed below
        draft = ""
        for piece in response:
            if streamed:
                draft += piece
                chat[-1] = {"role": "assistant", "content": ui_html.partial_html(draft)}
                yield "", chat, questions, gr.update(), gr.update()
        answer = response.result()
    except (QAError, IndexStoreError) as exc:
        chat[-1] = {"role": "assistant", "content": ui_html.error_html(_public(exc))}
        yield "", chat, questions, ui_html.sources_html(None, {}), gr.update()
        return
    except Exception as exc:  # a bug, not the visitor's fault: say so briefly, log the rest
        log.exception("answering %r failed", question[:200])
        chat[-1] = {"role": "assistant", "content": ui_html.error_html(f"internal error ({type(exc).__name__})")}
        yield "", chat, questions, ui_html.sources_html(None, {}), gr.update()
        return

    if not streamed and not answer.abstained:
        for partial in _reveal(answer.answer):
            chat[-1] = {"role": "assistant", "content": ui_html.partial_html(partial)}
            yield "", chat, questions, gr.update(), gr.update()
            time.sleep(REVEAL_PAUSE)
    resolved = {c.n: _resolve(assistant, c.id) for c in answer.citations}
    chat[-1] = {"role": "assistant", "content": ui_html.answer_html(answer)}
    recent = [*questions, question][-assistant.config.max_history_turns:]  # all that the next turn reads
    # A declined answer has no article; the one an earlier answer opened would read as this one's.
    article = ui_html.article_declined() if answer.abstained else gr.update()
    yield "", chat, recent, ui_html.sources_html(answer, resolved), article


def _reveal(text: str) -> Iterator[str]:
    words = text.split(" ")
    step = max(1, len(words) // REVEAL_STEPS)
    for end in range(step, len(words), step):
        yield " ".join(words[:end])


def _resolve(assistant: Assistant, citation_id: str) -> ResolvedCitation | None:
    try:
        return assistant.cite(citation_id)
    except (QAError, IndexStoreError):  # e.g. the document was replaced a moment ago
        return None


def _public(exc: Exception) -> str:
    """The error as a visitor may read it: index and LLM failures without their paths and URLs."""
    if isinstance(exc, IndexStoreError):
        return redact.index_error(exc)
    if isinstance(exc, LLMError):
        return redact.llm_error(exc)
    return str(exc)


def _as_int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --- articles -------------------------------------------------------------------------------------
def _article_or_error(assistant: Assistant, citation_id: str) -> str:
    """The article of a citation with its span marked, or the reason it cannot be shown."""
    citation_id = (citation_id or "").strip()
    if not citation_id:
        return ui_html.lookup_error_html("paste a citation id such as 000_3cdf5aa040d08496.txt:738-905")
    try:
        found = assistant.cite(citation_id)
        document = assistant.document(found.doc_id)
    except (QAError, IndexStoreError) as exc:
        return ui_html.lookup_error_html(_public(exc))
    return ui_html.article_html(found, document["text"])


# --- corpus ---------------------------------------------------------------------------------------
def _documents_view(assistant: Assistant) -> str:
    try:
        return ui_html.documents_html(assistant.documents())
    except IndexStoreError as exc:
        return ui_html.lookup_error_html(_public(exc))


def _document_choices(assistant: Assistant, value):
    """The indexed documents as (title and id, id) choices for a dropdown."""
    try:
        documents = assistant.documents()
    except IndexStoreError:
        documents = []
    return gr.update(choices=[(f"{d['title']} ({d['doc_id']})", d["doc_id"]) for d in documents], value=value)


def _remove(assistant: Assistant, doc_id: str | None) -> str:
    if not doc_id:
        return ui_html.ingest_log_html([("", "error", "choose a document first")])
    try:
        assistant.remove_document(doc_id)
    except (QAError, IndexStoreError) as exc:
        return ui_html.ingest_log_html([(doc_id, "error", _public(exc))])
    return ui_html.ingest_log_html([(doc_id, "ok", "removed from the index")])


def _header(assistant: Assistant) -> str:
    logout = " · [Log out](/logout)" if assistant.config.api_key else ""
    try:
        count = len(assistant.reader.documents)
    except IndexStoreError:
        return f"## Ask the corpus\nNo index yet: add documents in the **Corpus** tab.{logout}"
    noun = "document" if count == 1 else "documents"
    return (f"## Ask the corpus\n{count} {noun} indexed. Every claim in an answer is cited; "
            f"click [n] to read it.{logout}")


def _mode_info(assistant: Assistant) -> str:
    llm = assistant.config.llm
    if llm is None:
        return "No LLM endpoint is configured (QA_LLM_BASE_URL), so answers are extractive."
    return f"An LLM endpoint is configured (model {llm.model}); auto uses it."  # its address is the server's business


def _upload_label(config) -> str:
    size = config.max_upload_bytes / (1024 * 1024)
    return (f"Add files (txt, md, html, docx, pdf, jsonl; up to {config.max_upload_files} at once, "
            f"{size:g} MB each)")


def _add_files(assistant: Assistant, paths: list[str] | None, progress: gr.Progress):
    """Index the uploaded files one at a time, so each gets its own outcome and the bar moves."""
    try:
        uploads = _uploaded(paths or [])
        outcomes = assistant.add_files(uploads, on_progress=lambda name, done, total: progress(
            (done, total), desc=f"Indexing {name}", unit="chunks"))
        lines = [(upload.name, "waiting", "waiting") for upload in uploads]
        for i, upload in enumerate(uploads):
            lines[i] = (upload.name, "working", "indexing…")
            yield ui_html.ingest_log_html(lines), gr.update(), gr.update()
            outcome = next(outcomes)  # the first may say that an upload through the API is writing
            lines[i] = (upload.name, "ok" if outcome.ok else "error", outcome.detail)
    except (BadInputError, ReadOnlyError, IngestBusyError) as exc:  # a limit, a name, a path, another write
        yield ui_html.ingest_log_html([("", "error", _public(exc))]), gr.update(), gr.update()
        return
    yield ui_html.ingest_log_html(lines), _documents_view(assistant), _header(assistant)


def _uploaded(paths: list) -> list[Upload]:
    """The files Gradio's upload route stored, each under `<upload folder>/<hash>/<name>`.

    A client can name any path in an event's input; only a resolved path inside the upload
    folder passes, and a refusal reads the same whether or not the path exists.
    """
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder()).resolve()
    uploads = []
    for item in paths:
        path = Path(item if isinstance(item, str) else getattr(item, "path", "") or "").resolve()
        if path.parent.parent != root or not path.is_file():
            raise BadInputError("only files sent through this page's upload can be added")
        uploads.append(Upload(path.name, path))
    return uploads

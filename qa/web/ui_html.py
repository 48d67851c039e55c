"""HTML for the chat app: answers with citation links, source cards, articles with the span marked.

Document text is data, never markup: every piece of it passes through `html.escape` here, so an
article holding `<script>` or `<img onerror=...>` shows those characters and runs nothing. The
only tags in the output are the ones written in this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape
from urllib.parse import quote

from qa.citations import ResolvedCitation
from qa.results import Answer, Citation, Passage

CITE_CLASS = "qa-cite"  # the click handler in qa.web.ui finds citation links by this class
CITE_HASH = "#qa-cite="  # the id also travels in the href, should a sanitizer drop data-*
SOURCE_CONTEXT_CHARS = 160  # of the passage, shown either side of a quote in a source card


def text(value: str) -> str:
    """Plain text as HTML: escaped, line breaks kept without leaving blank lines, which would end
    the HTML block that the chat's Markdown renderer leaves alone."""
    return escape(value).replace("\r\n", "\n").replace("\n", "<br>")


def reflow(value: str) -> str:
    """A PDF's text as paragraphs: each single line break, a line's end on the page, becomes a
    space; blank lines still part paragraphs. Character for character, so offsets into it hold."""
    return _LINE_BREAK.sub(lambda run: run[0] if run[0].count("\n") > 1 else re.sub(r"[\r\n]", " ", run[0]), value)


_LINE_BREAK = re.compile(r"\s*\n\s*")


def _for_display(doc_id: str) -> Callable[[str], str]:
    """How a document's text is shown: a PDF's reflowed (display only; quotes keep the exact text)."""
    return reflow if doc_id.lower().endswith(".pdf") else str


def cite_link(n: int, citation_id: str, title: str = "", supported: bool = True) -> str:
    cls = CITE_CLASS if supported else f"{CITE_CLASS} qa-cite-unsupported"
    return (
        f'<a class="{cls}" href="{CITE_HASH}{quote(citation_id, safe="")}" '
        f'data-citation-id="{escape(citation_id)}" title="{escape(title)}">[{n}]</a>'
    )


def message(body: str, kind: str) -> str:
    """One chat bubble's content; a <div> opens an HTML block, so Markdown leaves it as is."""
    return f'<div class="qa-msg qa-{kind}">{body}</div>'


def question_html(question: str) -> str:
    return message(text(question), "question")


def pending_html(status: str) -> str:
    return message(f'<span class="qa-status">{escape(status)}</span>', "pending")


def partial_html(answer_text: str) -> str:
    """An answer still being written: plain text and a cursor; links come with the final answer."""
    return message(text(answer_text) + '<span class="qa-cursor">▍</span>', "partial")


def error_html(error: str) -> str:
    return message(f'<strong>Could not answer:</strong> {text(error)}', "error")


def _conflict_text(conflict) -> str:
    """"the source says 2004, not 2005": what contradicts an unsupported sentence, for a reader."""
    if conflict.kind in ("negation", "antonym") or not conflict.evidence:
        what = {"negation": "the source says the opposite", "antonym": f"the source says {conflict.evidence!r}"}
        return what.get(conflict.kind, f"the source does not say {conflict.claim!r}")
    return f"the source says {conflict.evidence}, not {conflict.claim}"


def answer_html(answer: Answer) -> str:
    """The final answer: each sentence with its citation links; unsupported sentences marked."""
    if answer.abstained:
        return message(
            f'<span class="qa-abstain-label">Not in the corpus</span> {text(answer.answer)}', "abstain"
        )
    by_n = {c.n: c for c in answer.citations}
    if not answer.sentences:  # nothing finer than the text: link its markers where they stand
        return message(_link_markers(answer.answer, by_n), "answer")
    parts = []
    for sentence in answer.sentences:
        links = "".join(
            cite_link(n, by_n[n].id, by_n[n].title, by_n[n].supported) for n in sentence.citations if n in by_n
        )
        if sentence.supported:
            parts.append(f"{text(sentence.text)} {links}".rstrip())
        else:
            why = "; ".join(_conflict_text(c) for c in sentence.conflicts)
            parts.append(
                '<span class="qa-unsupported" title="No retrieved passage supports this sentence">'
                f'{text(sentence.text)} <span class="qa-unsupported-label">⚠ unsupported</span></span> {links}'
                + (f' <span class="qa-conflict">({text(why)})</span>' if why else "")
            )
    return message(" ".join(parts), "answer")


def _link_markers(answer_text: str, by_n: dict[int, Citation]) -> str:
    out, last = [], 0
    for match in re.finditer(r"\[(\d{1,3})\]", answer_text):
        citation = by_n.get(int(match[1]))
        if citation is None:
            continue
        out.append(text(answer_text[last : match.start()]))
        out.append(cite_link(citation.n, citation.id, citation.title, citation.supported))
        last = match.end()
    out.append(text(answer_text[last:]))
    return "".join(out)


def _marked(before: str, quote_text: str, after: str) -> str:
    return f"{text(before)}<mark>{text(quote_text)}</mark>{text(after)}"


def _tail(before: str, limit: int = SOURCE_CONTEXT_CHARS) -> str:
    """The end of the text before a quote, cut at a word, so the quote shows without scrolling."""
    if len(before) <= limit:
        return before
    cut = before[-limit:]
    return "…" + cut[cut.find(" ") + 1 :] if " " in cut else "…" + cut


def _head(after: str, limit: int = SOURCE_CONTEXT_CHARS) -> str:
    if len(after) <= limit:
        return after
    cut = after[:limit]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


def _title_line(title: str, date: str | None, doc_id: str, page: int | None = None) -> str:
    when = f' <span class="qa-date">{escape(date) if date else "undated"}</span>'
    where = f' <span class="qa-page">p. {page}</span>' if page else ""
    return (f'<span class="qa-title">{escape(title or doc_id)}</span>{when}{where}'
            f' <span class="qa-docid">{escape(doc_id)}</span>')


def source_card(citation: Citation, passages: Sequence[Passage], resolved: ResolvedCitation | None) -> str:
    """A cited sentence highlighted inside the passage it came from, under its article's title."""
    holder = next((p for p in passages if p.doc_id == citation.doc_id
                   and p.start <= citation.start and citation.end <= p.end), None)
    shown = _for_display(citation.doc_id)
    if holder is not None:
        cut = citation.start - holder.start, citation.end - holder.start
        passage = shown(holder.text)
        body = _marked(_tail(passage[: cut[0]]), shown(citation.quote), _head(passage[cut[1] :]))
    elif resolved is not None:  # the citation was re-pointed outside the passages: show its context
        body = _marked(shown(resolved.context_before), shown(resolved.quote), shown(resolved.context_after))
    else:
        body = _marked("", shown(citation.quote), "")
    verdict = "" if citation.supported else (
        '<div class="qa-verdict">⚠ This passage does not support the sentence that cites it.</div>')
    date = resolved.date if resolved is not None else None
    cls = "qa-source" if citation.supported else "qa-source qa-source-unsupported"
    return (
        f'<div class="{cls}" id="qa-source-{citation.n}">'
        f'<div class="qa-source-head">{cite_link(citation.n, citation.id, citation.title, citation.supported)} '
        f"{_title_line(citation.title, date, citation.doc_id, citation.page)}</div>"
        f"{verdict}<div class=\"qa-passage\">{body}</div>"
        f'<div class="qa-source-foot"><a class="{CITE_CLASS} qa-open" href="{CITE_HASH}{quote(citation.id, safe="")}" '
        f'data-citation-id="{escape(citation.id)}">Open the article at this passage</a>'
        f' <code class="qa-id">{escape(citation.id)}</code></div></div>'
    )


def sources_html(answer: Answer | None, resolved: dict[int, ResolvedCitation | None]) -> str:
    if answer is None:
        return _panel("Sources", '<p class="qa-empty">The passages behind an answer appear here.</p>')
    if answer.abstained or not answer.citations:
        return _panel("Sources", '<p class="qa-empty">No passage in the corpus answers this question, '
                                 "so nothing is cited.</p>")
    cards = "".join(source_card(c, answer.passages, resolved.get(c.n)) for c in answer.citations)
    return _panel("Sources", cards)


def article_html(found: ResolvedCitation, document_text: str) -> str:
    """The whole article with the cited span marked; the page scrolls the <mark> into view."""
    start, end = found.start, found.end
    document_text = _for_display(found.doc_id)(document_text)
    body = _marked(document_text[:start], document_text[start:end], document_text[end:])
    return _panel("Article", (
        f'<div class="qa-article" data-citation-id="{escape(found.id)}">'
        f'<div class="qa-article-head">{_title_line(found.title, found.date, found.doc_id, found.page)}'
        f'<div class="qa-span">characters {start:,}–{end:,} of {found.document_length:,} · '
        f"<code>{escape(found.id)}</code></div></div>"
        f'<div class="qa-article-text">{body}</div></div>'
    ))


def article_placeholder() -> str:
    return _panel("Article", '<p class="qa-empty">Click a citation such as [1] to read the whole '
                             "article at the cited passage.</p>")


def article_declined() -> str:
    """The Article panel after a declined answer: the article of an earlier answer would mislead."""
    return _panel("Article", '<p class="qa-empty">The corpus does not answer this question, so there is '
                             "nothing to show here.</p>")


def lookup_error_html(error: str) -> str:
    return f'<div class="qa-lookup-error"><strong>Not found:</strong> {text(error)}</div>'


def documents_html(documents: list[dict], limit: int = 500) -> str:
    if not documents:
        return '<p class="qa-empty">No documents are indexed yet. Add some below.</p>'
    # A browser table of every document of a large corpus would freeze the tab; /api/documents has them all.
    more = (f'<p class="qa-empty">Showing the first {limit:,} of {len(documents):,} documents; '
            "GET /api/documents lists them all.</p>") if len(documents) > limit else ""
    rows = "".join(
        f"<tr><td><code>{escape(d['doc_id'])}</code></td><td>{escape(d.get('title') or '')}</td>"
        f"<td>{escape(d.get('date') or '–')}</td><td class=\"qa-num\">{d.get('characters', 0):,}</td>"
        f"<td class=\"qa-num\">{d.get('chunks', 0):,}</td></tr>"
        for d in documents[:limit]
    )
    return more + (
        f'<table class="qa-docs"><thead><tr><th>Document</th><th>Title</th><th>Date</th>'
        f'<th>Characters</th><th>Chunks</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def ingest_log_html(lines: list[tuple[str, str, str]]) -> str:
    """Per-file outcome of an upload: (file name, state, detail); state is ok, error or working."""
    if not lines:
        return ""
    icon = {"ok": "✓", "error": "✗", "working": "…", "waiting": "·"}
    items = "".join(
        f'<li class="qa-ingest-{state}"><span class="qa-ingest-icon">{icon.get(state, "")}</span> '
        f"<code>{escape(name)}</code> {text(detail)}</li>"
        for name, state, detail in lines
    )
    return f'<ul class="qa-ingest-log">{items}</ul>'


def login_page(error: str | None = None) -> str:
    """The page a visitor sees first on a server with a key: one field, the key. Self-contained
    (no scripts, no fonts) so that nothing of the app loads before the login."""
    problem = f'<p class="error">{escape(error)}</p>' if error else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Log in · Ask the corpus</title>'
        "<style>body{font-family:system-ui,sans-serif;display:flex;justify-content:center;margin-top:12vh;"
        "color:#1f2937}form{width:22rem;padding:1.5rem;border:1px solid #d1d5db;border-radius:10px}"
        "h1{font-size:1.3rem;margin:0 0 .5rem}p{color:#4b5563;font-size:.92rem}"
        "input{width:100%;box-sizing:border-box;padding:.5rem;margin:.5rem 0 1rem;font-size:1rem}"
        "button{padding:.5rem 1.2rem;font-size:1rem;cursor:pointer}.error{color:#b91c1c}</style></head><body>"
        '<form method="post" action="/login"><h1>Ask the corpus</h1>'
        "<p>This server needs its key. Ask whoever runs it.</p>"
        f'{problem}<label for="key">Key</label>'
        '<input id="key" name="key" type="password" autocomplete="current-password" autofocus required>'
        '<button type="submit">Log in</button></form></body></html>'
    )


def _panel(title: str, body: str) -> str:
    return f'<div class="qa-panel"><h3>{escape(title)}</h3>{body}</div>'


CSS = """
.qa-msg { line-height: 1.5; }
.qa-status { color: var(--body-text-color-subdued); font-style: italic; }
.qa-cursor { animation: qa-blink 1s step-start infinite; }
@keyframes qa-blink { 50% { opacity: 0; } }
a.qa-cite { font-weight: 600; text-decoration: none; color: var(--color-accent); cursor: pointer;
            padding: 0 1px; }
a.qa-cite:hover { text-decoration: underline; }
a.qa-cite-unsupported { color: #b45309; }
.qa-unsupported { text-decoration: underline wavy #d97706; text-underline-offset: 3px;
                  background: rgba(251, 191, 36, 0.15); }
.qa-unsupported-label { font-size: 0.8em; color: #b45309; font-weight: 600; white-space: nowrap; }
.qa-conflict { font-size: 0.85em; color: #92400e; }
.qa-abstain { color: var(--body-text-color); }
.qa-abstain-label { display: inline-block; font-size: 0.75em; font-weight: 600; padding: 1px 6px;
                    border-radius: 8px; background: rgba(100, 116, 139, 0.18); margin-right: 4px; }
.qa-error { color: #b91c1c; }
.qa-panel h3 { margin: 0 0 8px 0; font-size: 1em; }
.qa-empty { color: var(--body-text-color-subdued); font-style: italic; }
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
             margin-bottom: 8px; }
.qa-source-unsupported { border-color: #d97706; }
.qa-source-head { margin-bottom: 4px; }
.qa-title { font-weight: 600; }
.qa-date { color: var(--body-text-color-subdued); font-size: 0.85em; margin-left: 4px; }
.qa-page { font-size: 0.85em; margin-left: 4px; font-weight: 600; }
.qa-docid { color: var(--body-text-color-subdued); font-size: 0.75em; }
.qa-source-foot .qa-id { color: var(--body-text-color-subdued); }
.qa-verdict { color: #b45309; font-size: 0.85em; margin-bottom: 4px; }
.qa-passage { font-size: 0.9em; white-space: pre-wrap; }
.qa-source-foot { font-size: 0.8em; margin-top: 4px; }
mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.qa-article { border: 1px solid var(--border-color-primary); border-radius: 8px; }
.qa-article-head { padding: 8px 10px 6px; border-bottom: 1px solid var(--border-color-primary); }
.qa-span code, code.qa-id { font-size: inherit; color: inherit; background: none; padding: 0; }
.qa-span { font-size: 0.8em; color: var(--body-text-color-subdued); }
.qa-article-text { white-space: pre-wrap; font-size: 0.92em; line-height: 1.55; padding: 6px 10px;
                    max-height: 320px; overflow-y: auto; }
.qa-source, .qa-article { overflow-wrap: anywhere; min-width: 0; }
.qa-lookup-error { color: #b91c1c; }
@media (max-width: 640px) {  /* a phone: the Ask button under the question box, at full width */
  #qa-ask-row { flex-direction: column; gap: 8px; }
  #qa-ask-row > * { width: 100%; min-width: 0 !important; flex: none !important; }
}
table.qa-docs { width: 100%; border-collapse: collapse; font-size: 0.9em; border: none; }
table.qa-docs th, table.qa-docs td { text-align: left; padding: 4px 8px; border: none;
                                     border-bottom: 1px solid var(--border-color-primary); }
table.qa-docs code { font-size: 0.95em; }
table.qa-docs td.qa-num { text-align: right; font-variant-numeric: tabular-nums; }
ul.qa-ingest-log { list-style: none; padding-left: 0; }
.qa-ingest-error { color: #b91c1c; }
.qa-ingest-icon { display: inline-block; width: 1.2em; }
"""

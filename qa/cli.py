"""The `qa` command: a thin layer over qa.Assistant and index.ingest."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path

from index.errors import CorpusError

from qa.config import MODES, Config
from qa.text import counted

EXIT_BAD_INPUT = 2
FILTER_OPTIONS = {"doc_ids": "--doc", "title": "--title", "since": "--since", "until": "--until"}
SNIPPET_CHARS = 300  # of a passage that `qa search` shows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Ask questions of a document corpus; every claim cited.")
    parser.add_argument("--index-dir", type=Path, help="where the index lives (QA_INDEX_DIR, default .qa_index)")
    parser.add_argument("--corpus-dir", type=Path, help="the default corpus (QA_CORPUS_DIR, default docs_corpus)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("ingest", help="index files, folders or JSONL corpora (incremental)")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus dir)")
    p.add_argument("--rebuild", action="store_true", help="forget the existing index first")
    p.add_argument("--json", action="store_true", help="print a JSON summary")

    p = commands.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", help="the question, or - to read it from stdin")
    p.add_argument("--history", action="append", default=[], metavar="QUESTION",
                   help="an earlier question of the conversation (repeat, oldest first)")
    p.add_argument("--top-k", type=int)
    p.add_argument("--mode", choices=MODES)
    _filter_options(p)
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("search", help="retrieval only: ranked passages")
    p.add_argument("query")
    p.add_argument("--top-k", type=int)
    _filter_options(p)
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("cite", help="resolve a citation id to its passage and context")
    p.add_argument("citation_id")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("verify", help="check any answer sentence by sentence against passages or the index")
    p.add_argument("request", help='a JSON file, or - for stdin: {"answer": ..., "question"?: ..., "passages"?: [...]}')
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("remove", help="take documents out of the index (their files stay)")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")

    p = commands.add_parser("docs", help="list indexed documents")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("eval", help="score a gold set, or a BEIR set with --beir")
    p.add_argument("gold", nargs="?", type=Path, help="gold questions, JSONL")
    p.add_argument("--beir", type=Path, metavar="DIR", help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/")
    p.add_argument("--limit", type=int, help="score only the first N questions")
    p.add_argument("--report", type=Path, metavar="DIR", help="write JSON, Markdown and plots here")
    p.add_argument("--top-k", type=int)
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--json", action="store_true")

    commands.add_parser("mcp", help="serve the tools and documents to an MCP client on stdin/stdout",
                        description="An MCP server on stdio, for a desktop client's config: tools search, ask, "
                                    "cite, verify and documents; each document a resource. qa serve also serves "
                                    "it over HTTP under /mcp.")

    p = commands.add_parser("serve", help="serve the chat app and the HTTP API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--insecure", action="store_true",
                   help="serve a non-loopback address without a key (QA_API_KEY): anyone who reaches it may use it")
    return parser


def _filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--doc", action="append", default=[], metavar="DOC_ID", help="only this document (repeatable)")
    p.add_argument("--title", help="only documents whose title holds this text (any case)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only documents dated on or after this day")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only documents dated on or before this day")


def _filters(args):
    """The filter options as `Filters`; a bad one is an error that names the option."""
    from qa.filters import Filters

    options = {"doc_ids": args.doc, "title": args.title, "since": args.since, "until": args.until}
    return Filters.parse(options, names=FILTER_OPTIONS)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The process runs offline: no command may reach a model hub (a hub name in QA_EMBED_MODEL
    # works for a user who sets HF_HUB_OFFLINE=0).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet_libraries()
    try:
        config = Config.from_env()
        config = config.with_(index_dir=args.index_dir, corpus_dir=args.corpus_dir)
        return COMMANDS[args.command](args, config)
    except CorpusError as exc:
        from qa.errors import NotFoundError

        message = " ".join(str(exc).split())  # one line, even when a library's message has several
        if isinstance(exc, NotFoundError) and exc.doc_ids:
            message += "; 'qa docs' lists them"
        print(f"qa: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `qa ask ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _quiet_libraries() -> None:
    """Libraries' own notes stay out of the user's way (the server's too: it starts here)."""
    # sentence-transformers warns before it fails on a model it cannot find; our error says it all.
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    root = logging.getLogger()
    if not root.handlers:
        # Warnings and errors on stderr, as Python prints them when nothing is set up. Set up here,
        # for a library that logs through `logging.warning()` sets up a handler for every level
        # otherwise.
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)
    # onnxruntime's quantiser, making the int8 models on first use, warns through the root logger
    # itself ("Please consider to run pre-processing before quantization"). A filter on the root
    # logger sees only such direct calls, not the records named loggers (ours too) pass up to it.
    root.addFilter(_errors_only)


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def _assistant(config: Config):
    from qa.service import Assistant

    return Assistant(config)


def _emit(data, as_json: bool, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


def cmd_ingest(args, config: Config) -> int:
    from qa.errors import BadInputError

    missing = [str(p) for p in (args.paths or [config.corpus_dir]) if not Path(p).exists()]
    if missing:  # a typo in a path is bad input, not a file to skip
        raise BadInputError(f"no such file or folder: {', '.join(missing)}")
    report = _assistant(config).ingest(args.paths or None, rebuild=args.rebuild, progress=sys.stderr.isatty())
    for error in report.errors:
        print(f"qa: skipped {error}", file=sys.stderr)
    summary = (  # what this run did, then what the index holds now
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged, {len(report.errors)} skipped in {report.seconds:.1f}s; "
        f"the index holds {counted(report.documents, 'document')}, {counted(report.chunks, 'chunk')}"
    )
    _emit(report.to_dict(), args.json, summary)
    return 1 if report.errors else 0


def cmd_ask(args, config: Config) -> int:
    if args.question == "-":
        args.question = sys.stdin.read().strip()
    answer = _assistant(config).ask(args.question, args.history, top_k=args.top_k, mode=args.mode,
                                    filters=_filters(args)).result()
    lines = [answer.answer, ""]
    for c in answer.citations:
        mark = "" if c.supported else "  (does not support the claim)"
        page = f", p. {c.page}" if c.page else ""
        lines.append(f"[{c.n}] {c.title}{page} — {c.id}{mark}")
    _emit(answer.to_dict(), args.json, "\n".join(lines).rstrip())
    return 0


def cmd_search(args, config: Config) -> int:
    results = _assistant(config).search(args.query, args.top_k, filters=_filters(args))
    text = "\n\n".join(f"{i}. {p.title} — {p.id} (score {p.score:.3f})\n{_snippet(p.text)}"
                       for i, p in enumerate(results, start=1)) or "no passages found"
    _emit({"query": args.query, "results": [p.to_dict() for p in results]}, args.json, text)
    return 0


def _snippet(text: str, limit: int = SNIPPET_CHARS, indent: str = "   ") -> str:
    """The start of a passage, cut at a word boundary (with an ellipsis), every line indented and
    no blank line, so that a blank line is always the space between two results."""
    if len(text) > limit:
        cut = text[:limit]
        if not text[limit].isspace():  # the cut falls inside a word: leave that word out
            cut = re.sub(r"\S+$", "", cut) or cut
        text = cut.rstrip() + "…"
    return "\n".join(indent + line.strip() for line in text.splitlines() if line.strip())


def cmd_cite(args, config: Config) -> int:
    found = _assistant(config).cite(args.citation_id)
    text = (f"{found.title}" + (f" ({found.date})" if found.date else "") + f"\n{found.id}"
            + (f", p. {found.page}" if found.page else "") + "\n\n"
            f"…{found.context_before}>>>{found.quote}<<<{found.context_after}…")
    _emit(found.to_dict(), args.json, text)
    return 0


def cmd_verify(args, config: Config) -> int:
    from qa.errors import BadInputError

    try:
        raw = sys.stdin.read() if args.request == "-" else Path(args.request).read_text(encoding="utf-8")
        request = json.loads(raw)
    except UnicodeDecodeError:
        raise BadInputError(f"{args.request} is not UTF-8 text") from None
    except OSError as exc:
        raise BadInputError(f"cannot read {args.request}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInputError(f"the request is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(request, dict):
        raise BadInputError('the request must be a JSON object with "answer" and optionally "question" '
                            'and "passages"')
    if unknown := sorted(set(request) - {"answer", "question", "passages"}):
        raise BadInputError(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: the "
                            'request takes "answer" and optionally "question" and "passages"')
    result = _assistant(config).verify(request.get("answer"), request.get("question"), request.get("passages"))
    lines = []
    for s in result.sentences:
        mark = "supported" if s.supported else "NOT supported"
        source = s.source or {}
        where = source.get("id") or (f"passage {source['passage']}:{source['start']}-{source['end']}" if source else "-")
        lines.append(f"{mark} ({s.probability:.2f}) {s.text}\n    {where}: {source.get('quote', '')[:200]}")
        lines.extend(f"    conflict, {c['kind']}: {c['claim']!r} against {c['evidence']!r}" if c["evidence"]
                     else f"    conflict, {c['kind']}: {c['claim']!r}, which the evidence does not say"
                     for c in s.conflicts)
    lines.append("every sentence is supported" if result.supported else "some sentences are not supported")
    _emit(result.to_dict(), args.json, "\n".join(lines))
    return 0 if result.supported else 1


def cmd_remove(args, config: Config) -> int:
    assistant = _assistant(config)
    for doc_id in args.doc_ids:
        assistant.remove_document(doc_id)
        print(f"removed {doc_id}")
    return 0


def cmd_docs(args, config: Config) -> int:
    docs = _assistant(config).documents()
    text = "\n".join(f"{d['doc_id']}\t{d['date'] or '-'}\t{counted(d['chunks'], 'chunk')}\t{d['title']}"
                     for d in docs)
    _emit({"documents": docs}, args.json, text or "no documents indexed")
    return 0


def cmd_eval(args, config: Config) -> int:
    from qa.eval.command import run

    return run(args, config)


def cmd_mcp(args, config: Config) -> int:
    from qa.web.mcp_server import run_stdio

    assistant = _assistant(config)
    if not assistant.index_exists():
        assistant.reader  # raises "no index ...": said now, in the client's log, rather than by every tool
    run_stdio(assistant)
    return 0


def cmd_serve(args, config: Config) -> int:
    from qa.web.server import serve

    serve(config.with_(host=args.host, port=args.port, insecure=args.insecure or None))
    return 0


COMMANDS = {
    "ingest": cmd_ingest, "ask": cmd_ask, "search": cmd_search, "cite": cmd_cite,
    "docs": cmd_docs, "eval": cmd_eval, "serve": cmd_serve, "verify": cmd_verify, "remove": cmd_remove,
    "mcp": cmd_mcp,
}

if __name__ == "__main__":
    sys.exit(main())

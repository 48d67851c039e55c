"""The one Python API that the CLI, the HTTP API and the chat app all call."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from index import IndexNotFoundError, IndexReader, IngestOptions, IngestReport, ingest, open_index, remove
from index.documents import page_at
from index.embedding import Embedder, load_embedder
from index.ingest import IngestBusyError
from index.sentences import join_subscripts

from qa import extractive, followup, gate, grounding, spelling
from qa import verify as verification
from qa.citations import ResolvedCitation, resolve
from qa.config import MODES, Config
from qa.errors import INDEX_BUSY, BadInputError, NotFoundError, ReadOnlyError, StoppingError
from qa.filters import Filters
from qa.llm import (
    ANSWER_SYSTEM_PROMPT,
    ANSWER_USER_PROMPT,
    CONDENSE_PROMPT,
    ChatModel,
    OpenAICompatibleChat,
    number_sources,
)
from qa.response import Response
from qa.results import Answer, AnswerSentence, Citation, Passage
from qa.retrieve import HybridRetriever
from qa.support import SupportModel
from qa.text import clean_question
from qa.uploads import FOLDER, NAMESPACE, Progress, Upload, UploadOutcome, add_upload, check_uploads
from qa.verify import Verification

ABSTAIN_TEXT = "The corpus does not answer this question."
_ABSTAIN_MARKERS = ("does not answer this question", "do not contain the answer", "cannot answer")
MAX_TOP_K = 50
VERIFY_TOP_K = 3  # passages searched per sentence of an answer to verify
QUESTIONS_FIRST_MAX_WAIT = 1.0  # seconds an upload's ingest waits, between parts, for questions to finish


class Assistant:
    """Everything a front end needs, over one index.

    Reading: `ask` (a `Response` that streams or reads whole), `search`, `cite`, `verify`,
    `documents`, `document`. Writing: `ingest`, `add_files` (uploads), `remove_document`. At
    most `concurrent_answers(config)` questions are answered at once, by all front ends together;
    the others wait their turn. An instance is safe to share between threads.
    """

    def __init__(
        self,
        config: Config,
        embedder: Embedder | None = None,
        chat: ChatModel | None = None,
        support: SupportModel | None = None,
    ):
        self.config = config
        self._embedder = embedder
        self._support = support
        self._chat = chat if chat is not None else (OpenAICompatibleChat(config.llm) if config.llm else None)
        self._reader: IndexReader | None = None
        self._common = spelling.common_words()  # read and indexed once, here: a missing list fails at start
        self._lock = threading.Lock()
        self._questions = _QuestionsInFlight(concurrent_answers(config))
        # One upload or removal at a time; another is told at once that the index is busy, for a
        # request left waiting behind a long upload looks to its client like a server that hangs.
        self._writing = threading.Lock()
        self._stopping = threading.Event()

    # --- the parts, made on first use ----------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.config.embed_model, self.config.embed_precision)
            return self._embedder

    @property
    def support_model(self) -> SupportModel:
        with self._lock:
            if self._support is None:
                self._support = SupportModel.shipped(self.config.support_precision)
            return self._support

    @property
    def abstain_below(self) -> float:
        """The probability of answering below which an extractive answer declines."""
        if self.config.abstain_below is not None:
            return self.config.abstain_below
        return self.support_model.answering.settings.answer_threshold

    def abstain_below_for(self, filters: Filters | None) -> float:
        """`abstain_below` for a question asked with these filters. Asked of named documents
        (`doc_ids`), where the asker expects the answer, the bar is the support model's
        `named_threshold` (chosen in `training/fit_answer_rule.py`); QA_ABSTAIN_BELOW sets both."""
        named = self.support_model.answering.settings.named_threshold
        if self.config.abstain_below is None and filters is not None and filters.doc_ids and named is not None:
            return named
        return self.abstain_below

    @property
    def reader(self) -> IndexReader:
        if self._reader is None and not self.index_exists():
            raise IndexNotFoundError(
                f"no index in {self.config.index_dir}; build one with 'qa ingest' first"
            )
        embedder = self.embedder
        with self._lock:
            if self._reader is None or not self._reader.is_current():  # another process ingested
                self._reader = open_index(self.config.index_settings(), embedder)
            return self._reader

    @property
    def has_llm(self) -> bool:
        """Whether an LLM endpoint is configured, so that "llm" and "auto" modes use it."""
        return self._chat is not None

    def retriever(self, method: str = "hybrid") -> HybridRetriever:
        return HybridRetriever(self.reader, self.config.candidates, method)

    # --- writing --------------------------------------------------------------------------------
    def ingest(self, paths: list[Path] | None = None, rebuild: bool = False, progress: bool = False,
               options: IngestOptions | None = None) -> IngestReport:
        report = ingest(paths or [self.config.corpus_dir], self.config.index_settings(),
                        embedder=self.embedder, rebuild=rebuild, progress=progress, options=options)
        with self._lock:
            self._reader = None  # the next request opens the new snapshot
        return report

    def remove_document(self, doc_id: str) -> None:
        """Take one document out of the index; answers stop citing it at once.

        Its file is left alone: a later ingest of the folder that holds it indexes it again.
        """
        if self.config.read_only:
            raise ReadOnlyError("this server is read-only: removing documents is turned off")
        with self._one_writer():
            if not isinstance(doc_id, str) or doc_id not in self.reader.documents:
                raise NotFoundError.documents([doc_id])
            remove([doc_id], self.config.index_settings())
            with self._lock:
                self._reader = None  # the next request opens the snapshot without it

    def add_files(self, files: Sequence[Upload], on_progress: Progress | None = None) -> Iterator[UploadOutcome]:
        """Index uploaded files, one at a time, each whole or not at all; yields each file's outcome.

        The request is checked against the limits at once, before anything is indexed
        (BadInputError), and refused while another upload or a removal is under way
        (IngestBusyError). Questions asked meanwhile go first: the ingest embeds in small parts and
        waits between them while any question is being answered.
        """
        check_uploads(files, self.config)
        if self._writing.locked():  # said at once; the lock itself is taken when the outcomes are read
            raise IngestBusyError(INDEX_BUSY)
        return self._add_checked(list(files), on_progress)

    def _add_checked(self, files: list[Upload], on_progress: Progress | None) -> Iterator[UploadOutcome]:
        folder = self.config.index_dir / FOLDER
        with self._one_writer():  # for the whole request, so that no other write lands between its files
            for upload in files:
                def index_it(path: Path, name: str = upload.name) -> IngestReport:
                    progress = (lambda done, total: on_progress(name, done, total)) if on_progress else None
                    options = IngestOptions(namespace=NAMESPACE, all_or_nothing=True, on_progress=progress,
                                            pause=self._between_parts)
                    return self.ingest([path], options=options)

                yield add_upload(upload, folder, index_it)

    def stop_writing(self) -> None:
        """Make an upload being indexed stop before its next part, so that a server shutting down
        need not wait for it; as after a kill, the index is left consistent."""
        self._stopping.set()

    @contextmanager
    def _one_writer(self) -> Iterator[None]:
        if not self._writing.acquire(blocking=False):
            raise IngestBusyError(INDEX_BUSY)
        try:
            yield
        finally:
            self._writing.release()

    def _between_parts(self) -> None:
        """Runs before each part of an upload's embedding: questions go first, a shutdown ends it."""
        if self._stopping.is_set():
            raise StoppingError("the server is stopping; upload the file again once it is back")
        self._questions.wait_until_none()

    def index_exists(self) -> bool:
        from index.catalog import FILENAME

        return (self.config.index_dir / FILENAME).is_file()

    # --- reading --------------------------------------------------------------------------------
    def search(self, query: str, top_k: int | None = None, filters: Filters | dict | None = None) -> list[Passage]:
        """The best passages for `query`, of the documents `filters` allows (`qa.filters`); a
        document the filters name that the index does not hold is a NotFoundError."""
        query = self._check_question(query, "query")
        top_k = self._check_top_k(top_k)
        filters = self._check_filters(filters)
        with self._questions.one():
            return self.retriever().search(query, top_k, filters=filters)

    def ask(
        self,
        question: str,
        history: list[str] | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        filters: Filters | dict | None = None,
        stream: bool = False,
    ) -> Response:
        """Answer with citations from the documents `filters` allows.

        The request is checked at once (BadInputError; NotFoundError for a document the filters
        name that the index does not hold). With `stream`, the answer is written as
        the response is iterated (an LLM's draft piece by piece) or read; without, it is finished
        before this returns.
        """
        question = self._check_question(question)
        history = self._check_history(history)
        mode = self._resolve_mode(mode)
        top_k = self._check_top_k(top_k)
        filters = self._check_filters(filters)
        response = Response(mode, self._answer(question, history, mode, top_k, filters, stream))
        if not stream:
            response.result()
        return response

    def _answer(self, question: str, history: list[str], mode: str, top_k: int, filters: Filters | None,
                stream: bool) -> Generator[str | Answer, None, None]:
        """The answer's text as it is written, then the finished Answer."""
        with self._questions.one():
            began = time.perf_counter()
            query = self._standalone(question, history, mode)
            knows = self.reader.knows
            asks_nothing = gate.not_a_question(question, knows, first_turn=not history)
            passages = [] if asks_nothing else self._retrieve(query, top_k, filters)
            read = (t for p in passages for t in (p.title, p.text))  # a passage may not name what it is about
            # a courtesy is not corrected: "thnaks" searches nothing, as "thanks" does
            fixes = {} if asks_nothing else spelling.corrections(f"{query} {question}", read, knows, self._common)
            spelt = spelling.corrected(query, fixes)
            if spelt != query:  # a misspelt word, searched again as the passages spell it
                query, passages = spelt, self._retrieve(spelt, top_k, filters)
            retrieved = time.perf_counter()
            if asks_nothing or not passages or gate.off_topic(query, knows):
                # what was searched is still shown beside a decline; a greeting searched nothing
                answer = Answer(question, gate.REPLY if asks_nothing else ABSTAIN_TEXT, True, mode,
                                passages=passages, support=0.0)
                yield answer.answer
            elif mode == "llm":
                answer = yield from self._generate(question, passages, stream)
            else:
                answer = self._extract(question, spelling.corrected(question, fixes), query, passages, filters)
                yield answer.answer
            answer.query = query
            done = time.perf_counter()
            answer.timings_ms = {
                "retrieve": round((retrieved - began) * 1000, 1),
                "answer": round((done - retrieved) * 1000, 1),
                "total": round((done - began) * 1000, 1),
            }
        yield answer

    def verify(self, answer: str, question: str | None = None, passages: list[str] | None = None) -> Verification:
        """Check each sentence of any answer against `passages`, or against the index when none
        are given (each sentence, and the question if any, is searched for its evidence)."""
        verification.check_request(answer, question, passages)
        found = verification.claims_of(answer)
        with self._questions.one():
            if passages is not None:
                spans = verification.passage_spans(passages)
            else:
                queries = [claim for _, _, claim in found]
                if question and clean_question(question):
                    queries.append(self._check_question(question))
                retriever = self.retriever()
                retrieved = {p.id: p for query in queries for p in retriever.search(query, VERIFY_TOP_K)}
                reader = self.reader
                texts = {p.doc_id: reader.text(p.doc_id) for p in retrieved.values()}
                spans = grounding.source_spans(list(retrieved.values()), texts)
            return verification.verify(answer, found, spans, self.embedder.embed, self.support_model)

    def cite(self, citation_id: str) -> ResolvedCitation:
        if not isinstance(citation_id, str):
            raise BadInputError("a citation id is a string such as 000_3cdf5aa040d08496.txt:738-905")
        return resolve(self.reader, citation_id)

    def documents(self) -> list[dict]:
        reader = self.reader
        return [
            {"doc_id": d.doc_id, "title": d.title, "date": d.date,
             "characters": len(reader.text(d.doc_id) or ""), "chunks": len(reader.chunks_of(d.doc_id))}
            for d in sorted(reader.documents.values(), key=lambda d: d.doc_id)
        ]

    def document(self, doc_id: str) -> dict:
        reader = self.reader
        if doc_id not in reader.documents:
            raise NotFoundError.documents([doc_id])
        d = reader.documents[doc_id]
        return {"doc_id": d.doc_id, "title": d.title, "date": d.date, "text": reader.text(doc_id),
                "chunks": [{"id": c.id, "start": c.start, "end": c.end} for c in reader.chunks_of(doc_id)]}

    # --- the steps --------------------------------------------------------------------------------
    def _check_question(self, question, what: str = "question") -> str:
        if not isinstance(question, str):
            raise BadInputError(f"the {what} must be text")
        if len(question) > self.config.max_question_chars:
            raise BadInputError(
                f"the {what} is {len(question):,} characters long; the limit is "
                f"{self.config.max_question_chars:,}"
            )
        question = clean_question(question)
        if not question:
            raise BadInputError(f"the {what} is empty")
        return question

    def _check_filters(self, filters: Filters | dict | None) -> Filters | None:
        """The filters parsed; a document they name that the index does not hold is a
        NotFoundError, not a search that finds nothing."""
        filters = Filters.parse(filters)
        if filters and filters.doc_ids:
            held = self.reader.documents
            if missing := [doc_id for doc_id in filters.doc_ids if doc_id not in held]:
                raise NotFoundError.documents(missing)
        return filters

    def _check_history(self, history) -> list[str]:
        """The earlier questions, each held to the question's limit; only the latest few are read."""
        if history is None:
            return []
        if isinstance(history, str) or not isinstance(history, (list, tuple)):
            raise BadInputError("the history must be a list of earlier questions")
        limit = self.config.max_question_chars
        for turn in history:
            if isinstance(turn, str) and len(turn) > limit:
                raise BadInputError(f"a turn of the history is {len(turn):,} characters long; the limit is {limit:,}")
        recent = [turn for turn in history if isinstance(turn, str)][-self.config.max_history_turns:]
        return [clean_question(turn) for turn in recent]

    def _check_top_k(self, top_k) -> int:
        top_k = self.config.top_k if top_k is None else top_k
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise BadInputError(f"top_k must be a whole number from 1 to {MAX_TOP_K}")
        return top_k

    def _resolve_mode(self, mode: str | None) -> str:
        mode = mode or self.config.mode
        if mode not in MODES:
            raise BadInputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "llm" and self._chat is None:
            raise BadInputError("LLM mode needs an endpoint: set QA_LLM_BASE_URL (and QA_LLM_MODEL)")
        if mode == "auto":
            return "llm" if self._chat is not None else "extractive"
        return mode

    def _retrieve(self, query: str, top_k: int, filters: Filters | None) -> list[Passage]:
        return self.retriever().search(query, top_k, self.embedder.embed([query])[0], filters)

    def _standalone(self, question: str, history: list[str], mode: str) -> str:
        if not history or not followup.needs_context(question):
            return question
        if mode == "llm" and self._chat is not None:
            turns = "\n".join(f"Earlier question: {turn}" for turn in history[-4:])
            rewritten = self._chat.complete("", CONDENSE_PROMPT.format(turns=turns, question=question))
            rewritten = clean_question(rewritten)
            if rewritten and len(rewritten) <= self.config.max_question_chars:
                return rewritten
        return followup.condense(question, history)

    def _extract(self, question: str, asked: str, query: str, passages: list[Passage],
                 filters: Filters | None) -> Answer:
        """The answer quoted from the passages: `query` is what was searched, `asked` the turn as it
        is read (its misspelt words corrected), `question` the turn as it was asked."""
        reader = self.reader
        model = self.support_model
        threshold = self.abstain_below_for(filters)
        texts = {p.doc_id: reader.text(p.doc_id) for p in passages}
        scored = extractive.score_sentences(query, passages, texts, model, asked=asked)
        kind = extractive.required_kind(asked)
        chosen = extractive.pick(scored, threshold, kind=kind, texts=texts, question=asked)
        support = round(extractive.best_support(scored, kind), 4)
        if not chosen:
            return Answer(question, ABSTAIN_TEXT, True, "extractive", passages=passages, support=support)
        citations = [
            Citation(s.doc_id, s.start, s.end, n=n, title=s.title, quote=s.text, supported=True,
                     score=round(s.support, 4), page=self._page(s.doc_id, s.start))
            for n, s in enumerate(chosen, start=1)
        ]
        # A quote of hard-wrapped text holds its line breaks; the answer reads it as one line, and
        # a formula cut from its subscript ("CO\n2") as written.
        sentences = [AnswerSentence(" ".join(join_subscripts(c.quote).split()), (c.n,), True) for c in citations]
        text = " ".join(f"{s.text} [{c.n}]" for s, c in zip(sentences, citations))
        return Answer(question, text, False, "extractive", citations, passages, sentences, support=support)

    def _generate(self, question: str, passages: list[Passage], stream: bool) -> Generator[str, None, Answer]:
        """The model's draft as it writes it, then the answer checked and cited."""
        system = ANSWER_SYSTEM_PROMPT.format(abstain=ABSTAIN_TEXT)
        user = ANSWER_USER_PROMPT.format(sources=number_sources(passages), question=question)
        if stream:
            raw = ""
            for delta in self._chat.stream(system, user):
                raw += delta
                yield delta
        else:
            raw = self._chat.complete(system, user)
            yield raw
        if not raw.strip() or any(m in raw.lower() for m in _ABSTAIN_MARKERS) or not passages:
            return Answer(question, ABSTAIN_TEXT, True, "llm", passages=passages)
        reader = self.reader
        texts = {p.doc_id: reader.text(p.doc_id) for p in passages}
        text, sentences, citations = grounding.ground(raw, passages, texts, self.embedder.embed, self.support_model)
        citations = [replace(c, page=self._page(c.doc_id, c.start)) for c in citations]
        return Answer(question, text, False, "llm", citations, passages, sentences)

    def _page(self, doc_id: str, start: int) -> int | None:
        """The PDF page a span starts on; None for other documents."""
        doc = self.reader.documents.get(doc_id)
        return page_at(doc.pages, start) if doc else None


def concurrent_answers(config: Config) -> int:
    """How many questions one Assistant answers at once; the rest wait for a turn.

    Extractive answering is CPU work (embedding, scoring): more of it in flight than there are
    cores adds no throughput, only memory and a longer tail. An LLM answer mostly waits on the
    endpoint, so with one configured more questions may be in flight.
    """
    cores = max(2, os.cpu_count() or 2)
    return cores * 4 if config.llm else cores


class _QuestionsInFlight:
    """Lets `limit` questions be answered at once, and counts them, so that a long write can let
    them go first."""

    def __init__(self, limit: int):
        self._turns = threading.BoundedSemaphore(limit)
        self._count = 0
        self._changed = threading.Condition()

    @contextmanager
    def one(self) -> Iterator[None]:
        with self._turns:
            with self._changed:
                self._count += 1
            try:
                yield
            finally:
                with self._changed:
                    self._count -= 1
                    self._changed.notify_all()

    def wait_until_none(self, at_most: float = QUESTIONS_FIRST_MAX_WAIT) -> None:
        """Block while questions are in flight, but no longer than `at_most`, so writes still advance."""
        with self._changed:
            self._changed.wait_for(lambda: self._count == 0, timeout=at_most)

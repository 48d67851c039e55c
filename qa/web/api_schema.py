"""The shapes of the HTTP API's requests and replies, as its OpenAPI schema publishes them.

Every reply a route can give is listed with its route (`responses`), errors included, so that a
client generated from /api/openapi.json knows them all.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Text that the server refuses when empty, with a 400 that says so (as for text of blanks only):
# the schema says it too, but pydantic does not check it, for its 422 would say less.
NonEmptyText = Annotated[str, Field(json_schema_extra={"minLength": 1})]


class FilterSpec(BaseModel):
    """Which documents to search (`qa.filters`): all fields optional, combined with AND."""

    model_config = ConfigDict(strict=True, extra="forbid")

    doc_ids: list[str] = []
    title: str | None = None  # a part of the title, any case
    since: str | None = None  # YYYY-MM-DD, inclusive; leaves out undated documents
    until: str | None = None  # YYYY-MM-DD, inclusive


class AskRequest(BaseModel):
    # strict: a number is not a question and "5" is not a top_k; extra keys are typos worth telling
    model_config = ConfigDict(strict=True, extra="forbid")

    question: NonEmptyText
    history: list[str] = []
    top_k: int | None = None
    mode: str | None = None
    filters: FilterSpec | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    query: NonEmptyText
    top_k: int | None = None
    filters: FilterSpec | None = None


class VerifyRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    answer: NonEmptyText
    question: str | None = None
    passages: list[str] | None = None  # without them, each sentence's evidence is searched in the index


class IndexSource(BaseModel):
    """The span of the index closest to the claim among those the model read."""

    id: str
    doc_id: str
    title: str
    start: int
    end: int
    quote: str


class PassageSource(BaseModel):
    """The span of an inline passage (`passage` is its index) closest to the claim."""

    passage: int
    start: int
    end: int
    quote: str


class ConflictReply(BaseModel):
    kind: str  # number, date, name, negation, antonym or qualifier
    claim: str  # what the sentence says
    evidence: str  # what the evidence says instead; empty when it says nothing of the kind


class VerifiedSentence(BaseModel):
    text: str
    start: int
    end: int
    supported: bool
    probability: float
    source: IndexSource | PassageSource | None
    conflicts: list[ConflictReply] = []  # what in the evidence contradicts the sentence




class VerifyReply(BaseModel):
    supported: bool
    sentences: list[VerifiedSentence]


class ErrorReply(BaseModel):
    error: str


class Health(BaseModel):
    status: str
    documents: int
    mode: str


class HealthUnavailable(BaseModel):
    status: str
    error: str


class PassageReply(BaseModel):
    id: str
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    score: float


class CitationReply(BaseModel):
    n: int
    id: str
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    supported: bool
    score: float
    page: int | None = None  # the PDF page the quote starts on


class SentenceReply(BaseModel):
    text: str
    citations: list[int]
    supported: bool
    conflicts: list[ConflictReply] = []


class AskReply(BaseModel):
    question: str
    answer: str
    abstained: bool
    mode: str
    citations: list[CitationReply]
    passages: list[PassageReply]
    sentences: list[SentenceReply]
    query: str
    support: float | None
    timings_ms: dict[str, float]


class SearchReply(BaseModel):
    query: str
    results: list[PassageReply]


class ResolvedCitationReply(BaseModel):
    id: str
    doc_id: str
    title: str
    date: str | None
    start: int
    end: int
    quote: str
    context_before: str
    context_after: str
    context_start: int
    context_end: int
    document_length: int
    page: int | None = None  # the PDF page the quote starts on


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    date: str | None
    characters: int
    chunks: int


class RemovedReply(BaseModel):
    removed: str  # the doc id taken out of the index


class FileOutcome(BaseModel):
    name: str  # the file's name as sent
    ok: bool  # indexed; when false, nothing of the file is
    detail: str  # "1 added", or why nothing was indexed


class AddedReply(BaseModel):
    files: list[FileOutcome]  # in the order sent; documents get ids under uploads/


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class ChunkSpan(BaseModel):
    id: str
    start: int
    end: int


class DocumentReply(BaseModel):
    doc_id: str
    title: str
    date: str | None
    text: str
    chunks: list[ChunkSpan]


def errors(*statuses: int) -> dict[int | str, dict]:
    """The error replies of a route, for its `responses`."""
    what = {
        400: "the request is wrong: an empty question, a malformed id, top_k out of range",
        401: "the server has a key and the request did not carry it",
        403: "the server is read-only",
        404: "no such citation or document",
        409: "another upload or removal is writing to the index; retry when it ends",
        413: "the request body is too large",
        422: "the request does not have the expected shape",
        502: "the LLM endpoint failed",
        503: "the index or the support model is missing or cannot be read",
    }
    return {status: {"model": ErrorReply, "description": what[status]} for status in statuses}

"""The project's errors: each is meant for the user, and all share one root.

    CorpusError                      anything the user can act on; front ends catch this one
    ├── IndexStoreError              the index cannot be used as it is (index.settings)
    │   ├── IndexNotFoundError       no index yet: run `qa ingest`
    │   ├── IndexMismatchError       built with another embedding model: `qa ingest --rebuild`
    │   ├── CorruptIndexError        unreadable catalog or vector store
    │   ├── IngestBusyError          another ingest is writing (index.ingest)
    │   └── EmbeddingModelError      the embedding model cannot be loaded (index.embedding)
    ├── QAError                      the read side (qa.errors)
    │   ├── BadInputError            the request is wrong
    │   ├── NotFoundError            no such citation or document
    │   ├── ReadOnlyError            a change asked of a read-only server
    │   ├── LLMError                 the LLM endpoint failed
    │   ├── SupportModelError        the support model is missing or unreadable
    │   └── StoppingError            the server is shutting down; an upload under way stops
    └── ConfigError                  a QA_* setting is wrong (qa.config)

A file that cannot be indexed is not an error that stops anything: `index.LoadError` records it in
the ingest report, and the rest is indexed.
"""


class CorpusError(Exception):
    """The root of every error the project raises for a user to act on."""

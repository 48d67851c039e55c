"""The write side: load documents, chunk them with exact offsets, embed, and store them.

`ingest` brings an index up to date with a set of paths, `remove` takes documents out; `open_index` gives the read side a
consistent snapshot of what is indexed.
"""

from index.documents import Chunk, Document, LoadError
from index.ingest import IngestOptions, IngestReport, ingest, remove
from index.reader import IndexReader, open_index
from index.settings import IndexMismatchError, IndexNotFoundError, IndexSettings

__all__ = [
    "Chunk",
    "Document",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexReader",
    "IndexSettings",
    "IngestOptions",
    "IngestReport",
    "LoadError",
    "ingest",
    "open_index",
    "remove",
]

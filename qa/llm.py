"""The LLM seam: any OpenAI-compatible chat endpoint, through llama-index's OpenAILike client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from qa.config import LLMSettings
from qa.errors import LLMError
from qa.results import Passage

ANSWER_SYSTEM_PROMPT = (
    "You answer questions about a document collection using only the numbered sources given. "
    "Write a short answer. End every sentence with the number of the source that supports it, "
    "like [1] or [2][3]. Do not use outside knowledge. If the sources do not contain the answer, "
    "reply with exactly: {abstain}"
)
ANSWER_USER_PROMPT = "Sources:\n{sources}\n\nQuestion: {question}\nAnswer:"
SOURCE_TEMPLATE = "Source [{n}] ({title}):\n{text}"
CONDENSE_PROMPT = (
    "Rewrite the last question of this conversation as one standalone question that can be "
    "understood without the earlier turns. Reply with the question only.\n\n{turns}\n"
    "Last question: {question}\nStandalone question:"
)


class ChatModel(Protocol):
    def complete(self, system: str, user: str) -> str: ...

    def stream(self, system: str, user: str) -> Iterator[str]: ...


def number_sources(passages: list[Passage]) -> str:
    """Relabel retrieved chunks as numbered sources, the way the model is asked to cite them."""
    return "\n\n".join(
        SOURCE_TEMPLATE.format(n=i, title=p.title, text=p.text) for i, p in enumerate(passages, start=1)
    )


class OpenAICompatibleChat:
    def __init__(self, settings: LLMSettings):
        from llama_index.llms.openai_like import OpenAILike

        self._llm = OpenAILike(
            model=settings.model,
            api_base=settings.base_url,
            api_key=settings.api_key,
            is_chat_model=True,
            timeout=settings.timeout,
            max_retries=1,
            temperature=0.0,
        )
        self.settings = settings

    @staticmethod
    def _messages(system: str, user: str):
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]

    def complete(self, system: str, user: str) -> str:
        try:
            response = self._llm.chat(self._messages(system, user))
        except Exception as exc:  # the client raises transport, HTTP and parsing errors alike
            raise LLMError(f"the LLM at {self.settings.base_url} failed: {exc}") from None
        return (response.message.content or "").strip()

    def stream(self, system: str, user: str) -> Iterator[str]:
        try:
            for part in self._llm.stream_chat(self._messages(system, user)):
                if part.delta:
                    yield part.delta
        except Exception as exc:
            raise LLMError(f"the LLM at {self.settings.base_url} failed: {exc}") from None

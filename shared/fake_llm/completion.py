"""What the fake upstream answers: the request checked the way OpenAI checks it, a deterministic
answer derived from the last user message, and the usage counts. Pure functions, so a test can
compute the expected text without a server."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Words, not real tokens: a token is one of these (with a leading space after the first). A few
# make a relay prove it handles JSON escaping (quotes, a newline), non-ASCII and a character
# outside the Basic Multilingual Plane (a surrogate pair in escaped JSON).
VOCABULARY: tuple[str, ...] = (
    "The",
    "project",
    "has",
    "open",
    "tasks",
    "about",
    "the",
    "release,",
    "café",
    "naïve",
    "—",
    'say "ship it"',
    "review",
    "labels",
    "first;",
    "then",
    "close",
    "done.\n",
    "日本語",
    "🙂",
    "deadline",
    "owner",
    "comments",
    "next.",
)

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MAX_TOKENS_LIMIT = 100_000


class InvalidRequest(ValueError):
    """A request OpenAI would answer with 400 invalid_request_error; `param` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Completion:
    """One request's planned answer: the tokens in order and the usage counts."""

    model: str
    stream: bool
    include_usage: bool
    tokens: tuple[str, ...]
    prompt_tokens: int
    finish_reason: str  # "stop", or "length" when the request's max_tokens cut the answer

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def usage(self) -> dict[str, int]:
        completion_tokens = len(self.tokens)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
        }


def message_text(message: Mapping[str, Any]) -> str:
    """A message's text: a string content, or the text parts of a list content."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part["text"] for part in content if part.get("type") == "text")
    return ""


def answer_tokens(messages: Sequence[Mapping[str, Any]], count: int) -> list[str]:
    """`count` tokens cycled through VOCABULARY from a point fixed by the last user message."""
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    digest = hashlib.sha256(message_text(last_user).encode()).digest()
    start = int.from_bytes(digest[:8], "big") % len(VOCABULARY)
    words = (VOCABULARY[(start + i) % len(VOCABULARY)] for i in range(count))
    return [word if i == 0 else f" {word}" for i, word in enumerate(words)]


def answer_text(messages: Sequence[Mapping[str, Any]], count: int) -> str:
    return "".join(answer_tokens(messages, count))


def prompt_token_count(messages: Sequence[Mapping[str, Any]]) -> int:
    """Whitespace-separated words of every message: deterministic, and grows with the prompt."""
    return sum(len(message_text(m).split()) for m in messages)


def plan(body: Any, configured_tokens: int) -> Completion:
    """The answer to a request body, or InvalidRequest naming the field."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("you must provide a model parameter", "model")
    messages = _messages(body.get("messages"))
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean.", "stream")
    include_usage = _include_usage(body.get("stream_options"), stream)
    count, finish_reason = configured_tokens, "stop"
    limit = _max_tokens(body)
    if limit is not None and limit < configured_tokens:
        count, finish_reason = limit, "length"
    return Completion(
        model=model,
        stream=stream,
        include_usage=include_usage,
        tokens=tuple(answer_tokens(messages, count)),
        prompt_tokens=prompt_token_count(messages),
        finish_reason=finish_reason,
    )


def _messages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest("'messages' must be a non-empty array.", "messages")
    for i, message in enumerate(value):
        param = f"messages.[{i}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"{param} must be an object.", param)
        if message.get("role") not in ROLES:
            raise InvalidRequest(f"{param}.role must be one of {sorted(ROLES)}.", f"{param}.role")
        content = message.get("content")
        if content is None and message["role"] == "assistant":
            continue  # an assistant turn that only called tools
        if isinstance(content, list):
            parts_ok = all(
                isinstance(part, dict)
                and (part.get("type") != "text" or isinstance(part.get("text"), str))
                for part in content
            )
            if parts_ok:
                continue
        elif isinstance(content, str):
            continue
        raise InvalidRequest(
            f"{param}.content must be a string or an array of content parts.", f"{param}.content"
        )
    return value


def _include_usage(options: Any, stream: bool) -> bool:
    if options is None:
        return False
    if not stream:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    if not isinstance(options, dict):
        raise InvalidRequest("'stream_options' must be an object.", "stream_options")
    include_usage = options.get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise InvalidRequest(
            "'stream_options.include_usage' must be a boolean.", "stream_options.include_usage"
        )
    return include_usage


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequest(f"'{name}' must be a positive integer.", name)
        return min(value, MAX_TOKENS_LIMIT)
    return None

"""A deterministic, OpenAI-compatible fake of the assistant's upstream (SPEC section 8, issue 17),
for tests, demos and benchmarks: `POST /v1/chat/completions`, streamed or not, with configurable
token count and delay, failure modes (error, hang, stall) and a record of every request,
including whether its client went away before the end.

In a test::

    with FakeLLM(tokens=5) as fake:        # a free port, a background thread
        ... LLM_BASE_URL=fake.base_url ...
        fake.behaviour = Behaviour.stall(after=3)
        record = fake.wait_for(lambda r: r.cancelled, timeout=1)

Standalone: `quartet fake-llm --port 8100 --token-delay-ms 20 --tokens 20`.
"""

from shared.fake_llm.behaviour import Behaviour, Mode, Outcome, RequestRecord
from shared.fake_llm.completion import (
    VOCABULARY,
    answer_text,
    answer_tokens,
    prompt_token_count,
)
from shared.fake_llm.server import FakeLLM, serve

__all__ = [
    "VOCABULARY",
    "Behaviour",
    "FakeLLM",
    "Mode",
    "Outcome",
    "RequestRecord",
    "answer_text",
    "answer_tokens",
    "prompt_token_count",
    "serve",
]

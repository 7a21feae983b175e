"""shared.assistant (issue 17) without any implementation: the async and the sync relay against
the real fake upstream (shared.fake_llm, in-process, real sockets), the same cases for both —
tokens, done, the 502/503/504 decisions before anything is sent, the stall's error frame, the
upstream closed when the consumer stops — and the prompt's statement on a real database.

Not parametrized over the implementations (no test asks for `server`); the runtimes are the
parameter here."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql as pgsql
from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import create_async_engine

from shared.assistant import (
    NOT_CONFIGURED,
    OPEN_TASKS,
    OPEN_TASKS_SQL,
    UPSTREAM_FAILED,
    UPSTREAM_TIMEOUT,
    AssistantError,
    AssistantEvent,
    AsyncAssistant,
    NotConfigured,
    SyncAssistant,
    UpstreamError,
    UpstreamTimeout,
    messages,
)
from shared.assistant.prompt import DESCRIPTION_CHARS, MAX_TASKS, task_line
from shared.assistant.upstream import Upstream
from shared.database import sqlalchemy_url
from shared.fake_llm import Behaviour, FakeLLM, answer_tokens, prompt_token_count
from shared.migrate import migrate
from shared.processes import free_port
from shared.settings import Settings, SettingsError, load_settings
from support.loop import LoopThread
from support.servers import ServerPool

API_KEY = "sk-assistant-test-7c2e91b4"
TIMEOUT = 0.6  # LLM_TIMEOUT_SECONDS of these tests: the 504 paths take this long
CANCEL_SEEN_WITHIN_SECONDS = 1.0  # the bound
QUESTION = 'What is left before the "release"? ☕'
MESSAGES = messages([("Ship it", "todo", "high", None, "Zoë", "")], QUESTION)


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def fake(running_fake: FakeLLM) -> FakeLLM:
    """The module's fake, reset: 6 tokens 5 ms apart, behaving, no records."""
    running_fake.tokens = 6
    running_fake.token_delay_ms = 5
    running_fake.behaviour = Behaviour.ok()
    running_fake.clear_records()
    return running_fake


def settings_for(base_url: str | None, **changes: Any) -> Settings:
    return dataclasses.replace(
        load_settings(),
        llm_base_url=base_url,
        llm_model="quartet-test-model",
        llm_api_key=API_KEY,
        llm_timeout_seconds=TIMEOUT,
        **changes,
    )


# ------------------------------------------------------------------ the two runtimes, one shape


class SyncRuntime:
    """SyncAssistant, driven as a WSGI server drives a response: iterate, then close()."""

    name = "sync"

    def __init__(self, settings: Settings) -> None:
        self.assistant = SyncAssistant.from_settings(settings)

    def open(self, msgs: Sequence[dict[str, Any]] = MESSAGES) -> Any:
        return self.assistant.open_stream(msgs)

    def take(self, relay: Any, count: int | None = None) -> list[AssistantEvent]:
        """Every event, or the first `count` and then the generator closed (client gone)."""
        events = relay.events()
        taken: list[AssistantEvent] = []
        try:
            for event in events:
                taken.append(event)
                if len(taken) == count:
                    break
        finally:
            events.close()
        return taken

    def frames(self, relay: Any) -> list[str]:
        return list(relay.frames())

    def answer(self, msgs: Sequence[dict[str, Any]] = MESSAGES) -> dict[str, Any]:
        return self.assistant.answer(msgs)

    def close(self) -> None:
        self.assistant.close()


class AsyncRuntime:
    """AsyncAssistant on an event loop of its own, driven as an ASGI server drives a body."""

    name = "async"

    def __init__(self, settings: Settings) -> None:
        self.loop = LoopThread()
        self.assistant = AsyncAssistant.from_settings(settings)

    def open(self, msgs: Sequence[dict[str, Any]] = MESSAGES) -> Any:
        return self.loop.run(self.assistant.open_stream(msgs))

    def take(self, relay: Any, count: int | None = None) -> list[AssistantEvent]:
        async def take() -> list[AssistantEvent]:
            events = relay.events()
            taken: list[AssistantEvent] = []
            try:
                async for event in events:
                    taken.append(event)
                    if len(taken) == count:
                        break
            finally:
                await events.aclose()
            return taken

        return self.loop.run(take())

    def frames(self, relay: Any) -> list[str]:
        async def frames() -> list[str]:
            return [frame async for frame in relay.frames()]

        return self.loop.run(frames())

    def answer(self, msgs: Sequence[dict[str, Any]] = MESSAGES) -> dict[str, Any]:
        return self.loop.run(self.assistant.answer(msgs))

    def close(self) -> None:
        self.loop.run(self.assistant.aclose())
        self.loop.stop()


RUNTIMES = {"sync": SyncRuntime, "async": AsyncRuntime}


@pytest.fixture(params=list(RUNTIMES))
def make_runtime(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    made: list[Any] = []

    def make(settings: Settings) -> Any:
        runtime = RUNTIMES[request.param](settings)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def runtime(make_runtime: Callable[..., Any], fake: FakeLLM) -> Any:
    return make_runtime(settings_for(fake.base_url))


def data(event: AssistantEvent) -> Any:
    return json.loads(event.data)


def expected_events(msgs: Sequence[dict[str, Any]], tokens: int, model: str) -> list[tuple]:
    """What the fake's output must become: a token event per token, then done with its usage."""
    usage = {"prompt_tokens": prompt_token_count(msgs), "completion_tokens": tokens}
    return [("token", {"text": t}) for t in answer_tokens(msgs, tokens)] + [
        ("done", {"model": model, "usage": usage})
    ]


def as_pairs(events: list[AssistantEvent]) -> list[tuple]:
    return [(e.event, data(e)) for e in events]


def assert_problem(problem: dict[str, Any], status: int, title: str, detail: str) -> None:
    assert problem == {"type": "about:blank", "title": title, "status": status, "detail": detail}


# ------------------------------------------------------------------ streaming


def test_tokens_are_the_fakes_answer_then_done_with_usage(runtime: Any, fake: FakeLLM) -> None:
    events = runtime.take(runtime.open())
    assert as_pairs(events) == expected_events(MESSAGES, 6, "quartet-test-model")
    assert "".join(data(e)["text"] for e in events[:-1]) == fake.last.answer
    assert fake.wait_for(lambda r: r.completed).tokens_sent == 6


def test_the_request_asks_for_a_stream_with_usage_and_carries_the_key(
    runtime: Any, fake: FakeLLM
) -> None:
    runtime.take(runtime.open())
    record = fake.last
    assert record.path == "/v1/chat/completions"
    assert record.has_api_key
    assert record.body == {
        "model": "quartet-test-model",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_frames_are_sse_text_with_one_line_of_json(runtime: Any, fake: FakeLLM) -> None:
    fake.tokens = 24  # the whole vocabulary: quotes, a newline, accents, an emoji
    frames = runtime.frames(runtime.open())
    expected = expected_events(MESSAGES, 24, "quartet-test-model")
    assert len(frames) == len(expected) == 25
    for frame, (event, payload) in zip(frames, expected, strict=True):
        name_line, data_line, blank, end = frame.split("\n")
        assert (name_line, blank, end) == (f"event: {event}", "", "")
        assert data_line.startswith("data: ")
        assert json.loads(data_line.removeprefix("data: ")) == payload
    assert "🙂" in "".join(frames)  # UTF-8, not \u escapes


def test_empty_deltas_are_not_relayed(runtime: Any, fake: FakeLLM) -> None:
    """The fake's first chunk is the role with content "": it decides the status but sends no
    token; with no tokens at all the stream is `done` alone."""
    fake.tokens = 0
    events = runtime.take(runtime.open())
    assert as_pairs(events) == expected_events(MESSAGES, 0, "quartet-test-model")


@pytest.mark.parametrize("status", [500, 503, 429, 401, 404])
def test_upstream_error_is_upstream_error_before_anything(
    runtime: Any, fake: FakeLLM, status: int
) -> None:
    fake.behaviour = Behaviour.error(status=status)
    with pytest.raises(UpstreamError) as raised:
        runtime.open()
    assert raised.value.status == 502
    assert_problem(raised.value.problem(), 502, "Bad Gateway", UPSTREAM_FAILED)
    assert raised.value.headers == {}
    assert str(status) in raised.value.reason  # for the log: the status, never the body


def test_unreachable_upstream_is_upstream_error(make_runtime: Callable[..., Any]) -> None:
    runtime = make_runtime(settings_for(f"http://127.0.0.1:{free_port()}/v1"))
    with pytest.raises(UpstreamError):
        runtime.open()
    with pytest.raises(UpstreamError):
        runtime.answer()


def test_hang_is_upstream_timeout_after_the_timeout(runtime: Any, fake: FakeLLM) -> None:
    fake.behaviour = Behaviour.hang()
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as raised:
        runtime.open()
    assert TIMEOUT * 0.9 <= time.monotonic() - started < TIMEOUT + 5
    assert_problem(raised.value.problem(), 504, "Gateway Timeout", UPSTREAM_TIMEOUT)
    # The relay gave up on the request: the upstream sees it go.
    fake.wait_for(lambda r: r.cancelled, timeout=CANCEL_SEEN_WITHIN_SECONDS)


@pytest.mark.parametrize("after", [0, 3])
def test_stall_after_k_tokens_is_k_tokens_then_an_error_frame(
    runtime: Any, fake: FakeLLM, after: int
) -> None:
    fake.behaviour = Behaviour.stall(after=after)
    relay = runtime.open()  # the headers and the role chunk came: the status is 200
    started = time.monotonic()
    events = runtime.take(relay)
    tokens = answer_tokens(MESSAGES, 6)[:after]
    assert as_pairs(events[:-1]) == [("token", {"text": t}) for t in tokens]
    assert events[-1].event == "error"
    assert_problem(data(events[-1]), 504, "Gateway Timeout", UPSTREAM_TIMEOUT)
    assert time.monotonic() - started >= TIMEOUT * 0.9
    fake.wait_for(lambda r: r.cancelled, timeout=CANCEL_SEEN_WITHIN_SECONDS)


@pytest.mark.parametrize("taken", [1, 3])
def test_consumer_stopping_closes_the_upstream_request(
    runtime: Any, fake: FakeLLM, taken: int
) -> None:
    fake.tokens, fake.token_delay_ms = 200, 20
    relay = runtime.open()
    events = runtime.take(relay, count=taken)  # then the generator is closed, as a server does
    closed_at = time.monotonic()
    assert [e.event for e in events] == ["token"] * taken
    record = fake.wait_for(lambda r: r.cancelled, timeout=CANCEL_SEEN_WITHIN_SECONDS)
    assert record.cancelled_at is not None
    assert record.cancelled_at - closed_at < CANCEL_SEEN_WITHIN_SECONDS
    assert record.tokens_sent < 200


def test_cancelled_task_closes_the_upstream_request(fake: FakeLLM) -> None:
    """An ASGI server cancels the task that iterates the body when the client goes away; the
    task is then waiting for the upstream's next event, inside the relay (asyncio only)."""
    runtime = AsyncRuntime(settings_for(fake.base_url))
    fake.tokens, fake.token_delay_ms = 200, 50
    relay = runtime.open()
    got_two = asyncio.Event()
    received: list[str] = []

    async def consume() -> None:
        async for frame in relay.frames():
            received.append(frame)
            if len(received) == 2:
                got_two.set()

    async def run() -> float:
        task = asyncio.create_task(consume())
        await asyncio.wait_for(got_two.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    try:
        cancelled_at = runtime.loop.run(run())
        record = fake.wait_for(lambda r: r.cancelled, timeout=CANCEL_SEEN_WITHIN_SECONDS)
    finally:
        runtime.close()
    assert record.cancelled_at - cancelled_at < CANCEL_SEEN_WITHIN_SECONDS


def test_the_key_is_sent_but_never_in_errors_or_logs(
    runtime: Any, fake: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.behaviour = Behaviour.error(status=401)
    failures: list[AssistantError] = []
    with pytest.raises(UpstreamError) as raised:
        runtime.open()
    failures.append(raised.value)
    fake.behaviour = Behaviour.hang(times=1)
    with pytest.raises(UpstreamTimeout) as timed_out:
        runtime.answer()
    failures.append(timed_out.value)
    fake.behaviour = Behaviour.stall(after=1)
    stalled = runtime.take(runtime.open())
    assert all(r.has_api_key for r in fake.records)
    texts = [caplog.text, repr(runtime.assistant.upstream), stalled[-1].data]
    for failure in failures:
        texts += [str(failure), repr(failure), failure.reason, json.dumps(failure.problem())]
    for text in texts:
        assert API_KEY not in text
        assert "server had an error" not in text  # nor the upstream's body


def test_credentials_in_the_url_are_not_in_the_url_or_the_logs(
    make_runtime: Callable[..., Any], fake: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    host_port = fake.base_url.removeprefix("http://")
    settings = dataclasses.replace(
        settings_for(f"http://quartet:url-secret-9d3f@{host_port}"), llm_api_key=None
    )
    runtime = make_runtime(settings)
    assert "url-secret" not in runtime.assistant.upstream.url
    assert runtime.answer()["answer"] == fake.last.answer
    assert not fake.last.has_api_key  # Basic credentials, not a bearer key
    assert "url-secret" not in caplog.text


def test_not_configured_before_any_call(make_runtime: Callable[..., Any], fake: FakeLLM) -> None:
    runtime = make_runtime(settings_for(None))
    assert not runtime.assistant.configured
    for call in (runtime.assistant.ensure_configured, runtime.open, runtime.answer):
        with pytest.raises(NotConfigured) as raised:
            call()
        assert raised.value.status == 503
        assert_problem(raised.value.problem(), 503, "Service Unavailable", NOT_CONFIGURED)
        assert raised.value.headers == {}  # the contract: no Retry-After
    assert fake.records == []


# ------------------------------------------------------------------ stream: false


def test_answer_is_the_whole_answer(runtime: Any, fake: FakeLLM) -> None:
    answer = runtime.answer()
    record = fake.last
    assert record.body == {"model": "quartet-test-model", "messages": MESSAGES, "stream": False}
    assert answer == {
        "answer": "".join(answer_tokens(MESSAGES, 6)),
        "model": "quartet-test-model",
        "usage": {"prompt_tokens": prompt_token_count(MESSAGES), "completion_tokens": 6},
    }


def test_answer_failures(runtime: Any, fake: FakeLLM) -> None:
    fake.behaviour = Behaviour.error(times=1)
    with pytest.raises(UpstreamError):
        runtime.answer()
    fake.behaviour = Behaviour.hang(times=1)
    with pytest.raises(UpstreamTimeout):
        runtime.answer()
    fake.behaviour = Behaviour.stall(times=1)  # the headers, then no body
    with pytest.raises(UpstreamTimeout):
        runtime.answer()


def test_answer_slower_than_the_timeout_is_upstream_timeout(runtime: Any, fake: FakeLLM) -> None:
    """The fake takes tokens × delay to answer: 0.9 s, past the 0.6 s timeout."""
    fake.tokens, fake.token_delay_ms = 6, 150
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        runtime.answer()
    assert time.monotonic() - started < TIMEOUT + 5


# ------------------------------------------------------------------ upstreams that are not OpenAI


def mock_runtime(runtime_name: str, handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    """A runtime whose client answers with `handler` (shapes the fake does not produce)."""
    settings = settings_for("http://upstream.invalid/v1")
    runtime = RUNTIMES[runtime_name](settings)
    if runtime_name == "sync":
        runtime.assistant._client = httpx.Client(transport=httpx.MockTransport(handler))
        runtime.assistant._pid = os.getpid()
    else:
        runtime.assistant._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return runtime


def sse(*events: str) -> httpx.Response:
    body = "".join(f"data: {e}\n\n" for e in events).encode()
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


CHUNK = json.dumps({"model": "m", "choices": [{"index": 0, "delta": {"content": "hi"}}]})
FINISH = json.dumps({"model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})


@pytest.mark.parametrize(
    "response",
    [
        lambda: httpx.Response(200, json={"choices": []}),  # JSON where SSE was asked for
        lambda: sse("not json"),
        lambda: sse('{"error": {"message": "overloaded"}}'),
        lambda: sse(),  # no event at all
    ],
    ids=["json-not-sse", "event-not-json", "error-event", "empty-stream"],
)
@pytest.mark.parametrize("runtime_name", list(RUNTIMES))
def test_an_upstream_not_speaking_openai_sse_is_a_502_status(
    runtime_name: str, response: Callable[[], httpx.Response]
) -> None:
    runtime = mock_runtime(runtime_name, lambda request: response())
    try:
        with pytest.raises(UpstreamError):
            runtime.open()
    finally:
        runtime.close()


@pytest.mark.parametrize(
    ("events", "last"),
    [
        ((CHUNK, "not json"), "error"),
        ((CHUNK, '{"error": {"message": "x"}}'), "error"),
        ((CHUNK,), "error"),  # the body ended without a finish reason or [DONE]
        ((CHUNK, FINISH), "done"),  # a finish reason, then the end: done (no [DONE] needed)
    ],
    ids=["bad-chunk", "error-chunk", "cut-short", "finish-without-done-marker"],
)
@pytest.mark.parametrize("runtime_name", list(RUNTIMES))
def test_mid_stream_failures_end_with_a_502_error_frame(
    runtime_name: str, events: tuple[str, ...], last: str
) -> None:
    runtime = mock_runtime(runtime_name, lambda request: sse(*events))
    try:
        relayed = runtime.take(runtime.open())
    finally:
        runtime.close()
    assert as_pairs(relayed[:-1]) == [("token", {"text": "hi"})]
    assert relayed[-1].event == last
    if last == "error":
        assert_problem(data(relayed[-1]), 502, "Bad Gateway", UPSTREAM_FAILED)
    else:
        assert data(relayed[-1]) == {
            "model": "m",
            "usage": {"prompt_tokens": 0, "completion_tokens": 0},
        }


def test_upstream_settings() -> None:
    upstream = Upstream.from_settings(settings_for("http://h:1/v1/"))
    assert upstream is not None
    assert upstream.url == "http://h:1/v1/chat/completions"
    assert upstream.timeout == TIMEOUT
    assert upstream.headers == {"Authorization": f"Bearer {API_KEY}"}
    assert API_KEY not in repr(upstream)
    keyless = Upstream.from_settings(
        dataclasses.replace(settings_for("http://h/v1"), llm_api_key=None)
    )
    assert keyless is not None and "Authorization" not in keyless.headers
    assert Upstream.from_settings(settings_for(None)) is None


# ------------------------------------------------------------------ the prompt


def test_task_line() -> None:
    long = "word " * 100
    line = task_line(("Fix\nthe  build", "in_progress", "urgent", date(2026, 12, 24), "Zoë", long))
    assert "\n" not in line
    assert line.startswith(
        "- Fix the build | status: in_progress | priority: urgent | due: 2026-12-24 | "
        "assignee: Zoë | word word"
    )
    assert line.endswith("…")
    assert len(line.split(" | ")[-1]) <= DESCRIPTION_CHARS + 1
    plain = task_line(("T", "todo", "low", None, None, ""))
    assert plain == "- T | status: todo | priority: low | due: none | assignee: unassigned"


def test_messages_are_a_system_and_a_user_message() -> None:
    msgs = messages([], "  What now?  ")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[1]["content"] == "  What now?  "  # as asked
    assert msgs[0]["content"].endswith("Open tasks:\n(none)")


@pytest.fixture(scope="module")
def prompt_db(_server_pool: ServerPool) -> dict[str, Any]:
    """A project with 55 open tasks (one assigned, one with a long description) and 5 done
    ones, updated in a known order; and a second project's task that must never appear."""
    url = _server_pool.cluster().create_database("quartet_assistant")
    migrate(url)
    with psycopg.connect(url) as conn:

        def user(name: str) -> uuid.UUID:
            return conn.execute(
                "INSERT INTO users (email, display_name, password_hash) VALUES (%s, %s, 'x')"
                " RETURNING id",
                (f"a-{uuid.uuid4().hex[:10]}@example.com", name),
            ).fetchone()[0]

        owner, assignee = user("Owner"), user("Zoë Assignee")
        project, other = (
            conn.execute(
                "INSERT INTO projects (name, created_by) VALUES (%s, %s) RETURNING id",
                (name, owner),
            ).fetchone()[0]
            for name in ("assistant", "other")
        )
        for i in range(60):
            conn.execute(
                "INSERT INTO tasks (project_id, title, description, status, priority, due_date,"
                " assignee_id, created_by, updated_at)"
                " VALUES (%s, %s, %s, %s, 'high', %s, %s, %s, now() - make_interval(mins => %s))",
                (
                    project,
                    f"task {i:02d}",
                    "d" * 500 if i == 1 else f"about {i}",
                    "done" if i % 12 == 0 else "todo",
                    date(2026, 12, 1) if i == 2 else None,
                    assignee if i == 3 else None,
                    owner,
                    i,  # task 00 most recent
                ),
            )
        conn.execute(
            "INSERT INTO tasks (project_id, title, created_by) VALUES (%s, 'elsewhere', %s)",
            (other, owner),
        )
    expected = [f"task {i:02d}" for i in range(60) if i % 12 != 0][:MAX_TASKS]
    return {"url": url, "project": project, "expected_titles": expected}


def check_rows(rows: Sequence[Sequence[Any]], expected_titles: list[str]) -> None:
    assert [row[0] for row in rows] == expected_titles
    by_title = {row[0]: row for row in rows}
    assert len(by_title["task 01"][5]) == DESCRIPTION_CHARS + 1  # one more, to say it was cut
    assert by_title["task 02"][3] == date(2026, 12, 1)
    assert by_title["task 03"][4] == "Zoë Assignee"
    lines = messages(rows, "q")[0]["content"].split("Open tasks:\n")[1].split("\n")
    assert len(lines) == MAX_TASKS
    assert lines[0].endswith(f"| {'d' * DESCRIPTION_CHARS}…")


def test_open_tasks_statement_psycopg(prompt_db: dict[str, Any]) -> None:
    engine = create_engine(sqlalchemy_url(prompt_db["url"], "psycopg"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(OPEN_TASKS, {"project_id": prompt_db["project"]}).all()
    finally:
        engine.dispose()
    check_rows(rows, prompt_db["expected_titles"])


def test_open_tasks_statement_asyncpg(prompt_db: dict[str, Any]) -> None:
    async def read() -> list[Any]:
        engine = create_async_engine(sqlalchemy_url(prompt_db["url"], "asyncpg"))
        try:
            async with engine.connect() as conn:
                result = await conn.execute(OPEN_TASKS, {"project_id": prompt_db["project"]})
                return list(result.all())
        finally:
            await engine.dispose()

    check_rows(asyncio.run(read()), prompt_db["expected_titles"])


def test_the_prompt_reads_only_its_fifty_tasks_at_scale(prompt_db: dict[str, Any]) -> None:
    """A project of 20,000 tasks (half done): each spelling of the statement reads the 50 rows it
    returns from an index in its order — not every open task of the project, sorted (a large
    project would pay that on every question). Under a custom plan (psycopg, Django) and a
    generic one (asyncpg's prepared statements, which PostgreSQL may plan once for any
    parameters)."""
    spellings = {
        "OPEN_TASKS_SQL": OPEN_TASKS_SQL.replace("%s", "$1"),
        "OPEN_TASKS (asyncpg)": str(OPEN_TASKS.compile(dialect=asyncpg_dialect())),
    }
    with psycopg.connect(prompt_db["url"], autocommit=True) as conn:
        owner = conn.execute(
            "SELECT created_by FROM projects WHERE id = %s", [prompt_db["project"]]
        ).fetchone()[0]
        big = conn.execute(
            "INSERT INTO projects (name, created_by) VALUES ('big', %s) RETURNING id", [owner]
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO tasks (project_id, title, status, created_by, updated_at)"
            " SELECT %s, 'task ' || i, CASE WHEN i %% 2 = 0 THEN 'done' ELSE 'todo' END, %s,"
            "        now() - make_interval(secs => i)"
            " FROM generate_series(1, 20000) AS i",
            [big, owner],
        )
        conn.execute("ANALYZE tasks")
        for name, sql in spellings.items():
            assert "$2" not in sql, f"{name}: one parameter, the project"
            for mode in ("force_custom_plan", "force_generic_plan"):
                conn.execute(f"SET plan_cache_mode = {mode}")
                conn.execute(f"PREPARE prompt (uuid) AS {sql}")
                try:
                    explain = pgsql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE prompt({})")
                    plan = conn.execute(explain.format(str(big))).fetchone()[0][0]["Plan"]
                finally:
                    conn.execute("DEALLOCATE prompt")
                scans = list(_scans(plan, "tasks"))
                read = sum(_rows_read(node) for node in scans)
                assert scans and read <= MAX_TASKS, (
                    f"{name}, {mode}: {read} task rows read for {MAX_TASKS}: {scans}"
                )
            conn.execute("RESET plan_cache_mode")


def _scans(node: dict[str, Any], relation: str) -> Iterator[dict[str, Any]]:
    if node.get("Relation Name") == relation:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child, relation)


def _rows_read(node: dict[str, Any]) -> int:
    per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
    return round(per_loop * node.get("Actual Loops", 0))


def test_open_tasks_sql_for_a_cursor(prompt_db: dict[str, Any]) -> None:
    """Django's cursor is psycopg's underneath: the same `%s` and the same rows."""
    with psycopg.connect(prompt_db["url"]) as conn:
        rows = conn.execute(OPEN_TASKS_SQL, [str(prompt_db["project"])]).fetchall()
    check_rows(rows, prompt_db["expected_titles"])


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    "url",
    ["127.0.0.1:8100/v1", "ftp://h/v1", "http:///v1", "localhost", "http//h/v1"],
)
def test_llm_base_url_must_be_an_http_url(url: str) -> None:
    settings = settings_for(url + "?key=url-secret-77")
    with pytest.raises(SettingsError, match="LLM_BASE_URL") as raised:
        settings.check()
    assert "url-secret" not in str(raised.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8100/v1", "https://api.example.com/v1", "http://u:p@[::1]:81/"]
)
def test_llm_base_url_accepted(url: str) -> None:
    settings_for(url).check()

"""askAssistant (contract 1.2, issue 17): the project assistant, black-box, on every
implementation, against the fake upstream (shared.fake_llm) the test controls.

Servers. The session's server has no LLM_BASE_URL (the suite scrubs the LLM_* settings), so it
is the one the 503 case asks. Every other case asks a second server of the same implementation,
started once per module on the same database (so the session's accounts and tokens work on it)
with LLM_BASE_URL of an in-process FakeLLM, LLM_TIMEOUT_SECONDS=2, an API key and a model name
of the suite's. A test switches the fake's behaviour (ok, error, hang, stall after k) and its
token count and delay; the fixture puts them back.

Expected values. The fake's answer is a function of the question alone (the last user message):
`answer_tokens([{"role": "user", "content": question}], n)`. So the expected event sequence —
one `token` per token, then `done` with the model and the usage — is computed here, the same for
every implementation: two implementations pass only with the same sequence. The prompt's token
count depends on the prompt the server built: it is taken from what the fake received.

Disconnects. An asyncio server hears a client go away at once. A WSGI server (gunicorn: Flask,
DRF) hears it only when a write to the client fails: the first write after the client closed its
socket usually succeeds (the kernel takes it; the peer answers with a reset), the next one
fails; the server then closes the relay's generator, which closes the upstream request. So under
WSGI the upstream sees the cancellation about two token intervals after the client left. The
issue asks for 1 s in all four; the disconnect test streams a token every 100 ms, so every
implementation must make it within the 1 s bound (an async one at once, a WSGI one within
~0.2 s plus scheduling). An upstream that stalls sends nothing to write: a WSGI server then hears
the disconnect only when the stall ends (after LLM_TIMEOUT_SECONDS, writing the error frame) —
the contract says so, and no test asks for more.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from httpx_sse import EventSource, ServerSentEvent

from shared.fake_llm import Behaviour, FakeLLM, answer_tokens, prompt_token_count
from support.client import ContractClient
from support.contract import Contract
from support.factories import Account
from support.paths import project_url
from support.problems import assert_errors, assert_problem, assert_unauthorized
from support.servers import Server, ServerProcess, start_server

LLM_TIMEOUT_SECONDS = 2.0
API_KEY = "sk-suite-assistant-5b1e07c9d2"
MODEL = "quartet-suite-model"
TOKENS = 8
CANCEL_SEEN_WITHIN_SECONDS = 1.0  # the bound, in all four
DISCONNECT_TOKEN_DELAY_MS = 100  # see the module docstring
QUESTION = 'Which tasks are "overdue", and who has them? — café ☕'
EVENT_STREAM = "text/event-stream"
TOKEN_SCHEMA = "/components/schemas/AssistantToken"
DONE_SCHEMA = "/components/schemas/AssistantDone"
PROBLEM_SCHEMA = "/components/schemas/Problem"


def assistant_url(project: dict[str, Any] | str) -> str:
    return f"{project_url(project)}/assistant"


# ------------------------------------------------------------------ the fake and its server


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def llm_server(server: Server, llm: FakeLLM) -> Iterator[ServerProcess]:
    """The implementation under test, configured with the module's fake upstream."""
    if server.is_remote or server.database_url is None:
        pytest.skip("needs a server the suite starts with the fake upstream (not --base-url)")
    process = start_server(
        server.impl,
        server.database_url,
        env={
            "LLM_BASE_URL": llm.base_url,
            "LLM_TIMEOUT_SECONDS": str(LLM_TIMEOUT_SECONDS),
            "LLM_API_KEY": API_KEY,
            "LLM_MODEL": MODEL,
            # httpx logs every request at INFO: the log test below reads what it wrote.
            "LOG_LEVEL": "info",
        },
    )
    yield process
    process.stop()


@pytest.fixture
def fake(llm: FakeLLM) -> Iterator[FakeLLM]:
    """The module's fake, reset: TOKENS tokens 5 ms apart, behaving, no records."""
    llm.tokens, llm.token_delay_ms, llm.behaviour = TOKENS, 5, Behaviour.ok()
    llm.clear_records()
    yield llm
    llm.behaviour = Behaviour.ok()


@pytest.fixture
def on_llm_server(
    llm_server: ServerProcess, contract: Contract
) -> Iterator[Callable[[Account], ContractClient]]:
    """`on_llm_server(account)`: a contract-checking client of the fake-backed server."""
    clients: list[ContractClient] = []

    def client(account: Account) -> ContractClient:
        made = ContractClient(llm_server.base_url, contract=contract, token=account.token)
        clients.append(made)
        return made

    yield client
    for made in clients:
        made.close()


class Asker(NamedTuple):
    client: ContractClient  # the owner's, on the fake-backed server
    project: dict[str, Any]
    owner: Account  # owner.client: on the session's server (the same database)


@pytest.fixture
def asker(
    make_user: Callable[..., Account],
    make_project: Callable[..., dict[str, Any]],
    on_llm_server: Callable[[Account], ContractClient],
) -> Asker:
    """A project's owner, their client on the fake-backed server, and the project."""
    owner = make_user()
    return Asker(on_llm_server(owner), make_project(owner), owner)


@pytest.fixture
def stranger(
    make_user: Callable[..., Account], on_llm_server: Callable[[Account], ContractClient]
) -> ContractClient:
    """A user of no project, on the fake-backed server."""
    return on_llm_server(make_user())


# ------------------------------------------------------------------ reading the answers


def events_of(response: httpx.Response) -> list[ServerSentEvent]:
    """The events of a whole event-stream body, parsed by httpx-sse (comments dropped)."""
    body = httpx.Response(200, headers={"content-type": EVENT_STREAM}, content=response.content)
    return list(EventSource(body).iter_sse())


def assert_stream_response(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text[:500]
    content_type = response.headers["content-type"].replace(" ", "").lower()
    assert content_type == "text/event-stream;charset=utf-8"
    assert response.headers.get("cache-control") == "no-store"
    assert response.headers.get("x-accel-buffering") == "no"
    assert "content-encoding" not in response.headers


def assert_plain_events(response: httpx.Response) -> None:
    """No `id` lines, no comments (no heartbeats): only `event` and `data` fields."""
    for line in response.text.splitlines():
        assert line == "" or line.startswith(("event:", "data:")), f"unexpected line {line!r}"


def expected_events(question: str, tokens: int, prompt_tokens: int) -> list[tuple[str, Any]]:
    """What every implementation must send for the fake's answer to `question`."""
    pieces = answer_tokens([{"role": "user", "content": question}], tokens)
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": tokens}
    return [("token", {"text": piece}) for piece in pieces] + [
        ("done", {"model": MODEL, "usage": usage})
    ]


def as_pairs(events: list[ServerSentEvent], contract: Contract) -> list[tuple[str, Any]]:
    """(event, data) pairs, each data held to its schema in the contract."""
    schemas = {"token": TOKEN_SCHEMA, "done": DONE_SCHEMA, "error": PROBLEM_SCHEMA}
    pairs = []
    for event in events:
        assert event.event in schemas, f"unexpected event {event.event!r}"
        assert "\n" not in event.data, "data is one line of JSON"
        data = json.loads(event.data)
        assert contract.schema_errors(schemas[event.event], data) == [], (event.event, data)
        pairs.append((event.event, data))
    return pairs


def prompt_tokens_of(fake: FakeLLM) -> int:
    return prompt_token_count(fake.last.body["messages"])


def ask(client: ContractClient, project: dict[str, Any], **body: Any) -> httpx.Response:
    body.setdefault("question", QUESTION)
    return client.post(assistant_url(project), json=body)


# ------------------------------------------------------------------ streaming


@pytest.mark.parametrize("stream_field", [{}, {"stream": True}], ids=["default", "explicit"])
def test_stream_relays_the_upstreams_tokens_in_order_then_done(
    asker: Asker,
    fake: FakeLLM,
    contract: Contract,
    stream_field: dict[str, bool],
) -> None:
    client, project, owner = asker
    response = ask(client, project, **stream_field)
    assert_stream_response(response)
    assert_plain_events(response)
    pairs = as_pairs(events_of(response), contract)
    assert pairs == expected_events(QUESTION, TOKENS, prompt_tokens_of(fake))
    assert "".join(data["text"] for _, data in pairs[:-1]) == fake.last.answer
    record = fake.last
    assert record.stream and record.completed and record.has_api_key
    assert record.body["stream_options"] == {"include_usage": True}


def test_event_sequence_is_a_function_of_the_upstreams_output(
    asker: Asker, fake: FakeLLM, contract: Contract
) -> None:
    """The fake's whole vocabulary — quotes, a newline, accents, an emoji — in one answer: the
    sequence every implementation sends is this one, so the four are identical."""
    client, project, owner = asker
    fake.tokens = 24
    question = "Summarise the release, please."
    response = ask(client, project, question=question)
    assert_stream_response(response)
    pairs = as_pairs(events_of(response), contract)
    assert pairs == expected_events(question, 24, prompt_tokens_of(fake))
    assert "\n" in "".join(data["text"] for _, data in pairs[:-1])


def test_accept_is_ignored(asker: Asker, fake: FakeLLM) -> None:
    client, project, owner = asker
    for accept in ("application/json", "text/html", "*/*"):
        response = client.post(
            assistant_url(project), json={"question": QUESTION}, headers={"Accept": accept}
        )
        assert_stream_response(response)
    streamed_false = client.post(
        assistant_url(project),
        json={"question": QUESTION, "stream": False},
        headers={"Accept": EVENT_STREAM},
    )
    assert streamed_false.status_code == 200
    assert streamed_false.headers["content-type"].startswith("application/json")


def test_the_prompt_is_the_projects_open_tasks_and_the_question(
    asker: Asker,
    fake: FakeLLM,
    make_task: Callable[..., dict[str, Any]],
    make_user: Callable[..., Account],
    add_member: Callable[..., dict[str, Any]],
) -> None:
    client, project, owner = asker
    assignee = make_user(display_name="Zoë Assignee")
    add_member(project, owner, assignee, "editor")
    long_description = "x" * 150 + "CUT-HERE" + "y" * 300
    make_task(project, owner, title="Open with a due date", due_date="2027-01-15")
    make_task(project, owner, title="Assigned one", assignee_id=assignee.id)
    make_task(project, owner, title="Long one", description=long_description)
    make_task(project, owner, title="Finished one", status="done")
    response = ask(client, project, stream=False, question="  What is next?  ")
    assert response.status_code == 200, response.text
    messages = fake.last.body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == "  What is next?  "
    system = messages[0]["content"]
    assert "Finished one" not in system  # open tasks only

    def line_of(title: str) -> str:
        lines = [line for line in system.splitlines() if title in line]
        assert len(lines) == 1, f"{title!r}: one line per task, got {lines}"
        assert "todo" in lines[0] and "medium" in lines[0]  # status and priority
        return lines[0]

    assert "2027-01-15" in line_of("Open with a due date")
    assert "Zoë Assignee" in line_of("Assigned one")
    cut = line_of("Long one")
    assert "x" * 150 + "CUT-HERE" in cut  # the first 200 characters of the description...
    assert "y" * 60 not in cut  # ...and no more


def test_at_most_fifty_open_tasks_most_recently_updated_first(
    asker: Asker,
    fake: FakeLLM,
    make_task: Callable[..., dict[str, Any]],
) -> None:
    client, project, owner = asker
    titles = [f"Bounded task {i:02d}" for i in range(52)]
    for title in titles:  # created in this order: the last is the most recently updated
        make_task(project, owner, title=title)
    response = ask(client, project, stream=False)
    assert response.status_code == 200, response.text
    system = fake.last.body["messages"][0]["content"]
    present = [t for t in titles if t in system]
    assert present == titles[2:]  # the 50 newest
    positions = [system.index(t) for t in reversed(titles[2:])]
    assert positions == sorted(positions)  # newest first


# ------------------------------------------------------------------ stream: false


def test_stream_false_is_the_whole_answer(asker: Asker, fake: FakeLLM) -> None:
    client, project, owner = asker
    response = ask(client, project, stream=False)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "answer": "".join(answer_tokens([{"role": "user", "content": QUESTION}], TOKENS)),
        "model": MODEL,
        "usage": {"prompt_tokens": prompt_tokens_of(fake), "completion_tokens": TOKENS},
    }
    record = fake.last
    assert not record.stream and record.has_api_key and record.body["model"] == MODEL


def test_question_of_2000_characters_is_accepted(asker: Asker, fake: FakeLLM) -> None:
    client, project, owner = asker
    question = "é" * 2000
    response = ask(client, project, stream=False, question=question)
    assert response.status_code == 200, response.text
    assert fake.last.body["messages"][-1]["content"] == question


# ------------------------------------------------------------------ upstream failures


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("status", [500, 401, 429])
def test_upstream_error_is_502_before_anything(
    asker: Asker, fake: FakeLLM, stream: bool, status: int
) -> None:
    client, project, owner = asker
    fake.behaviour = Behaviour.error(status=status)
    response = ask(client, project, stream=stream)
    assert_problem(response, 502)
    assert API_KEY not in response.text
    assert "server had an error" not in response.text  # the upstream's body is not echoed
    assert fake.last.has_api_key


@pytest.mark.parametrize("stream", [True, False])
def test_upstream_hanging_is_504_after_the_timeout(
    asker: Asker, fake: FakeLLM, stream: bool
) -> None:
    client, project, owner = asker
    fake.behaviour = Behaviour.hang()
    started = time.monotonic()
    response = ask(client, project, stream=stream)
    assert_problem(response, 504)
    assert time.monotonic() - started >= LLM_TIMEOUT_SECONDS * 0.9
    # The server gave up on the upstream request (it did not leave it hanging).
    fake.wait_for(lambda r: r.cancelled, timeout=CANCEL_SEEN_WITHIN_SECONDS)


def test_whole_answer_slower_than_the_timeout_is_504(asker: Asker, fake: FakeLLM) -> None:
    """stream: false waits for the whole answer: 8 tokens × 400 ms = 3.2 s, past the 2 s."""
    client, project, owner = asker
    fake.token_delay_ms = 400
    assert_problem(ask(client, project, stream=False), 504)


def test_not_configured_is_503_without_retry_after(
    server: Server,
    api: ContractClient,
    make_user: Callable[..., Account],
    make_project: Callable[..., dict[str, Any]],
    llm: FakeLLM,
) -> None:
    """The session's server has no LLM_BASE_URL."""
    if server.is_remote:
        pytest.skip("the remote server's LLM configuration is unknown")
    owner = make_user()
    project = make_project(owner)
    llm.clear_records()
    for stream in (True, False):
        response = owner.client.post(
            assistant_url(project), json={"question": QUESTION, "stream": stream}
        )
        assert_problem(response, 503)
        assert "retry-after" not in response.headers
    assert llm.records == []


@pytest.mark.parametrize("after", [0, 3])
def test_stall_after_k_tokens_is_k_tokens_then_an_error_event(
    asker: Asker, fake: FakeLLM, contract: Contract, after: int
) -> None:
    client, project, owner = asker
    fake.behaviour = Behaviour.stall(after=after)
    started = time.monotonic()
    response = ask(client, project)
    assert_stream_response(response)  # the upstream's first event came: 200 for good
    assert time.monotonic() - started >= LLM_TIMEOUT_SECONDS * 0.9
    pairs = as_pairs(events_of(response), contract)
    tokens = expected_events(QUESTION, TOKENS, 0)[:after]
    assert pairs[:-1] == tokens
    event, problem = pairs[-1]
    assert event == "error"
    assert (problem["type"], problem["title"], problem["status"]) == (
        "about:blank",
        "Gateway Timeout",
        504,
    )
    assert API_KEY not in response.text
    fake.wait_for(lambda r: r.cancelled, timeout=CANCEL_SEEN_WITHIN_SECONDS)


def test_the_key_and_the_upstream_body_are_never_logged(
    asker: Asker, fake: FakeLLM, llm_server: ServerProcess
) -> None:
    """After a failure before the first byte, one after it and a success, the server's log
    (at INFO, where httpx logs each request) holds neither the key nor the upstream's body."""
    client, project, _ = asker
    fake.behaviour = Behaviour.error(status=401, times=1)
    assert_problem(ask(client, project), 502)
    fake.behaviour = Behaviour.stall(after=1, times=1)
    assert events_of(ask(client, project))[-1].event == "error"
    assert ask(client, project, stream=False).status_code == 200
    log = llm_server.log_path.read_text(errors="replace")
    assert API_KEY not in log
    assert "server had an error" not in log


# ------------------------------------------------------------------ the client going away


def test_client_disconnect_mid_stream_ends_the_upstream_request(
    asker: Asker, fake: FakeLLM
) -> None:
    """See the module docstring for why a token every 100 ms lets WSGI servers make 1 s."""
    client, project, owner = asker
    fake.tokens, fake.token_delay_ms = 200, DISCONNECT_TOKEN_DELAY_MS
    request = client.build_request("POST", assistant_url(project), json={"question": QUESTION})
    response = client.send(request, stream=True)
    try:
        assert_stream_response(response)
        events = EventSource(response).iter_sse()
        first_two = [next(events), next(events)]
        assert [e.event for e in first_two] == ["token", "token"]
    finally:
        response.close()  # the connection is not reusable mid-body: httpx closes its socket
    left_at = time.monotonic()
    record = fake.wait_for(lambda r: r.cancelled, timeout=CANCEL_SEEN_WITHIN_SECONDS + 1)
    assert record.cancelled_at is not None
    assert record.cancelled_at - left_at < CANCEL_SEEN_WITHIN_SECONDS, (
        f"the upstream saw the cancellation {record.cancelled_at - left_at:.2f} s after the "
        "client left"
    )
    assert record.tokens_sent < 200


# ------------------------------------------------------------------ who may ask, and how


def test_non_member_and_unknown_project_get_404(
    asker: Asker, fake: FakeLLM, stranger: ContractClient
) -> None:
    _, project, _ = asker
    for stream in (True, False):
        assert_problem(ask(stranger, project, stream=stream), 404)
        unknown = stranger.post(
            assistant_url("00000000-0000-4000-8000-000000000000"),
            json={"question": QUESTION, "stream": stream},
        )
        assert_problem(unknown, 404)
    assert fake.records == []


def test_viewer_may_ask(
    asker: Asker,
    fake: FakeLLM,
    make_user: Callable[..., Account],
    add_member: Callable[..., dict[str, Any]],
    on_llm_server: Callable[[Account], ContractClient],
) -> None:
    _, project, owner = asker
    viewer = make_user()
    add_member(project, owner, viewer, "viewer")
    response = ask(on_llm_server(viewer), project, stream=False)
    assert response.status_code == 200, response.text


def test_unauthenticated_is_401(
    asker: Asker,
    fake: FakeLLM,
    llm_server: ServerProcess,
    contract: Contract,
) -> None:
    _, project, _ = asker
    with ContractClient(llm_server.base_url, contract=contract) as anonymous:
        assert_unauthorized(anonymous.post(assistant_url(project), json={"question": "q"}))
    with ContractClient(llm_server.base_url, contract=contract, token="not-a-token") as forged:
        assert_unauthorized(forged.post(assistant_url(project), json={"question": "q"}))
    assert fake.records == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"question": ""}, [(("body", "question"), "string_too_short")]),
        ({"question": "q" * 2001}, [(("body", "question"), "string_too_long")]),
        ({"question": 42}, [(("body", "question"), "invalid_type")]),
        ({"question": "q", "stream": "yes"}, [(("body", "stream"), "invalid_type")]),
        ({"question": "q", "stream": 1}, [(("body", "stream"), "invalid_type")]),
        ({"question": "q", "stream": None}, [(("body", "stream"), "invalid_type")]),
        ({"question": "q", "model": "gpt-5"}, [(("body", "model"), "extra_forbidden")]),
        ({}, [(("body", "question"), "missing")]),
        (
            {"question": "", "stream": "no", "temperature": 2},
            [
                (("body", "question"), "string_too_short"),
                (("body", "stream"), "invalid_type"),
                (("body", "temperature"), "extra_forbidden"),
            ],
        ),
        ({"question": "a\u0000b"}, [(("body", "question"), "invalid_characters")]),
    ],
    ids=[
        "empty",
        "too-long",
        "question-not-string",
        "stream-string",
        "stream-number",
        "stream-null",
        "unknown-field",
        "missing-question",
        "every-violation",
        "nul",
    ],
)
def test_invalid_question_is_422_and_calls_nothing(
    asker: Asker,
    fake: FakeLLM,
    body: dict[str, Any],
    errors: list[tuple[tuple[str, ...], str]],
) -> None:
    client, project, owner = asker
    assert_errors(client.post(assistant_url(project), json=body), *errors)
    assert fake.records == []


def test_validation_comes_before_membership(
    asker: Asker, fake: FakeLLM, stranger: ContractClient
) -> None:
    """Contract order: 422 before 404 (a stranger with a bad body learns nothing either way)."""
    _, project, _ = asker
    response = stranger.post(assistant_url(project), json={"question": ""})
    assert_errors(response, (("body", "question"), "string_too_short"))


def test_wrong_content_type_is_415(asker: Asker, fake: FakeLLM) -> None:
    client, project, owner = asker
    response = client.post(
        assistant_url(project),
        content=b'{"question": "q"}',
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(response, 415)
    assert fake.records == []

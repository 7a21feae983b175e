"""The fake LLM upstream of issue 17 (shared.fake_llm, `quartet fake-llm`): OpenAI's chat
completions shapes streamed and not, deterministic answers, usage, the token delay, the failure
modes, and the record of clients that went away — on real sockets, read with httpx and httpx-sse
as the implementations' relays will read it. No implementation server is started here (no test
asks for the `server` fixture, so conftest.py does not parametrise these)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from shared import cli
from shared.fake_llm import Behaviour, FakeLLM, Mode, Outcome, answer_text, answer_tokens
from shared.processes import free_port
from support.servers import REPO_ROOT, base_env

MESSAGES = [
    {"role": "system", "content": "You answer questions about one project."},  # 6 words
    {"role": "user", "content": "What is left to do?"},  # 5 words
]
PROMPT_WORDS = 11
API_KEY = "sk-fake-secret-4f1d9a"
CANCEL_SEEN_WITHIN_SECONDS = 1.0


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def fake(running_fake: FakeLLM) -> FakeLLM:
    """The module's fake, reset: 8 tokens, no delay, behaving, no records."""
    running_fake.tokens = 8
    running_fake.token_delay_ms = 0
    running_fake.behaviour = Behaviour.ok()
    running_fake.clear_records()
    return running_fake


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        yield client


def completions(fake: FakeLLM) -> str:
    return f"{fake.base_url}/chat/completions"


def request(stream: bool, **extra: Any) -> dict[str, Any]:
    return {"model": "quartet-fake", "messages": MESSAGES, "stream": stream, **extra}


def stream_chunks(client: httpx.Client, fake: FakeLLM, **extra: Any) -> tuple[list[Any], str]:
    """The decoded `data:` payloads of a streamed answer (`[DONE]` as the string) and the
    response's content type."""
    with connect_sse(client, "POST", completions(fake), json=request(True, **extra)) as source:
        assert source.response.status_code == 200
        data = [event.data for event in source.iter_sse()]
        content_type = source.response.headers["content-type"]
    return [d if d == "[DONE]" else json.loads(d) for d in data], content_type


def content_of(chunks: list[Any]) -> list[str]:
    return [
        c["choices"][0]["delta"]["content"]
        for c in chunks
        if isinstance(c, dict) and c["choices"] and c["choices"][0]["delta"].get("content")
    ]


# ------------------------------------------------------------------ the answer


def test_answer_is_pinned_and_depends_on_the_last_user_message_only() -> None:
    # Pinned: suites and benchmark reports of different sessions compare against this text.
    assert answer_text(MESSAGES, 8) == '— say "ship it" review labels first; then close done.\n'
    tokens = answer_tokens(MESSAGES, 30)
    assert len(tokens) == 30
    assert tokens[0] == "—"
    assert all(token.startswith(" ") for token in tokens[1:])
    other_system = [{"role": "system", "content": "Something else."}, MESSAGES[1]]
    assert answer_tokens(other_system, 30) == tokens
    other_question = [MESSAGES[0], {"role": "user", "content": "What is late?"}]
    assert answer_tokens(other_question, 30) != tokens
    assert answer_tokens(MESSAGES, 0) == []


def test_non_streamed_answer(fake: FakeLLM, client: httpx.Client) -> None:
    response = client.post(completions(fake), json=request(False))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "quartet-fake"
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == answer_text(MESSAGES, 8)
    assert body["usage"] == {
        "prompt_tokens": PROMPT_WORDS,
        "completion_tokens": 8,
        "total_tokens": 19,
    }

    record = fake.last
    assert record.body == request(False)
    assert (record.stream, record.status, record.tokens_sent) == (False, 200, 8)
    assert record.outcome is Outcome.COMPLETED and not record.cancelled
    assert record.has_api_key


def test_streamed_answer_in_openai_chunks_equals_the_non_streamed_one(
    fake: FakeLLM, client: httpx.Client
) -> None:
    whole = client.post(completions(fake), json=request(False)).json()
    chunks, content_type = stream_chunks(client, fake)

    assert content_type.split(";")[0] == "text/event-stream"
    *objects, done = chunks
    assert done == "[DONE]"
    assert {c["object"] for c in objects} == {"chat.completion.chunk"}
    assert len({c["id"] for c in objects}) == 1
    assert {c["model"] for c in objects} == {"quartet-fake"}
    assert all("usage" not in c for c in objects)  # only asked for with include_usage
    first, *tokens, last = objects
    assert first["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    ]
    assert len(tokens) == 8
    for chunk in tokens:
        [choice] = chunk["choices"]
        assert choice["index"] == 0 and choice["finish_reason"] is None
        assert list(choice["delta"]) == ["content"]
    assert last["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert "".join(content_of(chunks)) == whole["choices"][0]["message"]["content"]
    assert content_of(chunks) == answer_tokens(MESSAGES, 8)

    record = fake.last
    assert (record.stream, record.status, record.tokens_sent) == (True, 200, 8)
    assert record.completed


def test_streamed_usage_chunk_when_asked(fake: FakeLLM, client: httpx.Client) -> None:
    chunks, _ = stream_chunks(client, fake, stream_options={"include_usage": True})
    *objects, usage_chunk, done = chunks
    assert done == "[DONE]"
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {
        "prompt_tokens": PROMPT_WORDS,
        "completion_tokens": 8,
        "total_tokens": PROMPT_WORDS + 8,
    }
    assert all(c["usage"] is None for c in objects)  # OpenAI's shape: null until the last
    assert objects[-1]["choices"][0]["finish_reason"] == "stop"


def test_token_count_is_configurable_and_max_tokens_cuts_with_length(
    fake: FakeLLM, client: httpx.Client
) -> None:
    fake.tokens = 3
    chunks, _ = stream_chunks(client, fake)
    assert content_of(chunks) == answer_tokens(MESSAGES, 3)

    fake.tokens = 8
    body = client.post(completions(fake), json=request(False, max_tokens=5)).json()
    assert body["choices"][0]["message"]["content"] == answer_text(MESSAGES, 5)
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 5
    body = client.post(completions(fake), json=request(False, max_completion_tokens=50)).json()
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == 8


def test_content_parts_count_as_text(fake: FakeLLM, client: httpx.Client) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "What is left to do?"}]}]
    body = client.post(
        completions(fake), json={"model": "m", "messages": parts, "stream": False}
    ).json()
    assert body["choices"][0]["message"]["content"] == answer_text(MESSAGES, 8)
    assert body["usage"]["prompt_tokens"] == 5


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("not json", None),
        ([], None),
        ({"messages": MESSAGES}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}, "messages.[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages.[0].content"),
        ({"model": "m", "messages": MESSAGES, "stream": "yes"}, "stream"),
        (
            {"model": "m", "messages": MESSAGES, "stream_options": {"include_usage": True}},
            "stream_options",
        ),
        ({"model": "m", "messages": MESSAGES, "max_tokens": 0}, "max_tokens"),
    ],
    ids=[
        "not json",
        "not an object",
        "no model",
        "no messages",
        "bad role",
        "bad content",
        "stream not bool",
        "stream_options without stream",
        "max_tokens zero",
    ],
)
def test_bad_requests_get_openai_400(
    fake: FakeLLM, client: httpx.Client, body: Any, param: str | None
) -> None:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response = client.post(
        completions(fake), content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]
    assert fake.last.status == 400


def test_unknown_path_and_method(fake: FakeLLM, client: httpx.Client) -> None:
    assert client.post(f"{fake.base_url}/completions", json={}).status_code == 404
    response = client.get(completions(fake))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_api_key_is_never_kept(fake: FakeLLM, client: httpx.Client) -> None:
    client.post(completions(fake), json=request(False))
    anonymous = httpx.post(completions(fake), json=request(False), timeout=10)
    assert anonymous.status_code == 200  # a key is not required (local models take none)
    listed = client.get(fake.base_url.removesuffix("/v1") + "/_fake/records")
    assert listed.status_code == 200
    assert [r["has_api_key"] for r in listed.json()] == [True, False]
    assert [r.has_api_key for r in fake.records] == [True, False]
    assert API_KEY not in repr(fake.records)
    assert API_KEY not in listed.text


# ------------------------------------------------------------------ the delay


def test_token_delay_is_honoured_streamed_and_not(fake: FakeLLM, client: httpx.Client) -> None:
    fake.tokens, fake.token_delay_ms = 5, 80
    arrivals: list[float] = []
    start = time.monotonic()
    with connect_sse(client, "POST", completions(fake), json=request(True)) as source:
        for event in source.iter_sse():
            if event.data != "[DONE]" and content_of([json.loads(event.data)]):
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 5
    # Token i cannot arrive before (i + 1) x 80 ms: the delay comes before each token. Only
    # lower bounds per token (a busy client may read two tokens late and together) and one
    # generous upper bound.
    assert all(at >= 0.075 * (i + 1) for i, at in enumerate(arrivals)), arrivals
    assert arrivals[-1] < 5

    start = time.monotonic()
    client.post(completions(fake), json=request(False))
    assert 0.39 <= time.monotonic() - start < 5  # an answer takes as long as its stream


# ------------------------------------------------------------------ failure modes


def test_error_mode_answers_500_with_an_openai_error(fake: FakeLLM, client: httpx.Client) -> None:
    fake.behaviour = Behaviour.error()
    for stream in (False, True):
        response = client.post(completions(fake), json=request(stream))
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert error["type"] == "server_error"
        assert error["message"]
    assert [r.mode for r in fake.records] == [Mode.ERROR, Mode.ERROR]
    assert [r.status for r in fake.records] == [500, 500]


def test_a_behaviour_for_the_next_request_only(fake: FakeLLM, client: httpx.Client) -> None:
    fake.behaviour = Behaviour.error(status=503, times=2)
    statuses = [client.post(completions(fake), json=request(False)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert fake.behaviour == Behaviour.ok()


def cancelled_record(fake: FakeLLM, closed_at: float) -> Any:
    """The record of the request its client gave up on at `closed_at`, asserting the fake saw
    it go within CANCEL_SEEN_WITHIN_SECONDS."""
    record = fake.wait_for(lambda r: r.outcome is not Outcome.IN_PROGRESS, timeout=5)
    assert record.outcome is Outcome.CANCELLED
    assert record.cancelled_at is not None
    assert record.cancelled_at - closed_at < CANCEL_SEEN_WITHIN_SECONDS
    return record


def test_hang_never_sends_headers_and_sees_the_client_go(
    fake: FakeLLM, client: httpx.Client
) -> None:
    fake.behaviour = Behaviour.hang()
    for stream in (True, False):
        fake.clear_records()
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                completions(fake), json=request(stream), timeout=httpx.Timeout(10, read=0.3)
            )
        closed_at = time.monotonic()  # httpx closes the connection as the timeout raises
        record = cancelled_record(fake, closed_at)
        assert record.mode is Mode.HANG
        assert record.status is None
        assert record.tokens_sent == 0


def test_stall_streams_k_tokens_then_nothing_and_sees_the_client_go(
    fake: FakeLLM, client: httpx.Client
) -> None:
    fake.behaviour = Behaviour.stall(after=3)
    received: list[Any] = []
    timeout = httpx.Timeout(10, read=0.5)
    with (
        pytest.raises(httpx.ReadTimeout),
        connect_sse(
            client, "POST", completions(fake), json=request(True), timeout=timeout
        ) as source,
    ):
        assert source.response.status_code == 200
        for event in source.iter_sse():  # until the read times out
            received.append(json.loads(event.data))
    closed_at = time.monotonic()
    assert content_of(received) == answer_tokens(MESSAGES, 3)
    assert all(c["choices"][0]["finish_reason"] is None for c in received)
    record = cancelled_record(fake, closed_at)
    assert (record.mode, record.status, record.tokens_sent) == (Mode.STALL, 200, 3)


def test_stall_without_stream_sends_headers_then_nothing(
    fake: FakeLLM, client: httpx.Client
) -> None:
    fake.behaviour = Behaviour.stall()
    with client.stream(
        "POST", completions(fake), json=request(False), timeout=httpx.Timeout(10, read=0.5)
    ) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            response.read()
    closed_at = time.monotonic()
    record = cancelled_record(fake, closed_at)
    assert (record.mode, record.tokens_sent) == (Mode.STALL, 0)


def test_client_closing_mid_stream_is_recorded_as_cancelled(
    fake: FakeLLM, client: httpx.Client
) -> None:
    fake.tokens, fake.token_delay_ms = 100, 50  # 5 s if nobody went away
    with connect_sse(client, "POST", completions(fake), json=request(True)) as source:
        events = source.iter_sse()
        received = [json.loads(next(events).data) for _ in range(4)]  # role chunk + 3 tokens
        closed_at = time.monotonic()
        source.response.close()
    assert content_of(received) == answer_tokens(MESSAGES, 3)
    record = cancelled_record(fake, closed_at)
    assert 3 <= record.tokens_sent < 100
    assert record.ended_at is not None and record.ended_at - closed_at < 1.0


def test_client_giving_up_on_a_slow_whole_answer_is_recorded_as_cancelled(
    fake: FakeLLM, client: httpx.Client
) -> None:
    fake.tokens, fake.token_delay_ms = 100, 50  # the answer would come after 5 s
    with pytest.raises(httpx.ReadTimeout):
        client.post(completions(fake), json=request(False), timeout=httpx.Timeout(10, read=0.3))
    closed_at = time.monotonic()
    record = cancelled_record(fake, closed_at)
    assert (record.status, record.tokens_sent) == (None, 0)


def test_stopping_the_fake_answers_waiting_clients_503(client: httpx.Client) -> None:
    """Hung and slow requests do not hold the stop up; their clients are told why."""
    fake = FakeLLM(tokens=100, token_delay_ms=100, behaviour=Behaviour.hang(times=1)).start()
    responses: list[httpx.Response] = []

    def wait_for_answer() -> None:
        responses.append(client.post(completions(fake), json=request(False)))

    waiters = [threading.Thread(target=wait_for_answer) for _ in range(2)]
    for seq, waiter in enumerate(waiters, 1):  # the first hangs, the second answers in 10 s
        waiter.start()
        fake.wait_for(lambda r, seq=seq: r.seq == seq, timeout=5)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 5
    for waiter in waiters:
        waiter.join(10)
    assert [r.status_code for r in responses] == [503, 503]
    assert responses[0].json()["error"]["type"] == "server_error"
    assert sorted(r.mode for r in fake.records) == [Mode.HANG, Mode.OK]
    assert {r.outcome for r in fake.records} == {Outcome.SHUTDOWN}


# ------------------------------------------------------------------ quartet fake-llm


def quartet_command() -> list[str]:
    script = Path(sys.executable).parent / "quartet"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shared.cli"]


def test_help() -> None:
    done = subprocess.run(
        [*quartet_command(), "fake-llm", "--help"],
        cwd=REPO_ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: quartet fake-llm" in done.stdout
    for option in ("--port", "--host", "--tokens", "--token-delay-ms", "--mode", "--stall-after"):
        assert option in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "http"],
        ["--port", "0"],
        ["--tokens", "many"],
        ["--tokens", "-1"],
        ["--token-delay-ms", "-5"],
        ["--token-delay-ms", "nan"],
        ["--mode", "explode"],
        ["--stall-after", "2"],
        ["--mode", "stall", "--stall-after", "-1"],
        ["--frobnicate"],
    ],
    ids=" ".join,
)
def test_bad_arguments_exit_2_with_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process (argparse exits before anything starts): a subprocess each costs a second.
    try:
        status = cli.main(["fake-llm", *args])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "error" in err


@pytest.fixture
def standalone(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`quartet fake-llm --tokens 4 --token-delay-ms 1` plus the test's parameter (more
    options) in a subprocess, and the base URL it printed."""
    port = free_port()
    options = ["--port", str(port), "--tokens", "4", "--token-delay-ms", "1", *request.param]
    process = subprocess.Popen(
        [*quartet_command(), "fake-llm", *options],
        cwd=REPO_ROOT,
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # printed once it listens
        assert line == f"LLM_BASE_URL=http://127.0.0.1:{port}/v1", line
        yield process, line.removeprefix("LLM_BASE_URL=")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def listed_records(client: httpx.Client, base_url: str) -> list[dict[str, Any]]:
    """GET /_fake/records once no request is in progress any more."""
    deadline = time.monotonic() + 5
    while True:
        records = client.get(base_url.removesuffix("/v1") + "/_fake/records").json()
        if all(r["outcome"] != "in_progress" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


@pytest.mark.parametrize("standalone", [[]], indirect=True, ids=["ok"])
def test_standalone_server_answers_and_stops_on_sigterm(
    standalone: tuple[subprocess.Popen[str], str],
) -> None:
    process, base_url = standalone
    with httpx.Client(timeout=10) as client:
        response = client.post(f"{base_url}/chat/completions", json=request(False))
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == answer_text(MESSAGES, 4)
        with connect_sse(
            client, "POST", f"{base_url}/chat/completions", json=request(True)
        ) as source:
            received = [event.data for event in source.iter_sse()]
        assert received[-1] == "[DONE]"
        assert content_of([json.loads(d) for d in received[:-1]]) == answer_tokens(MESSAGES, 4)
        records = listed_records(client, base_url)
    assert [(r["stream"], r["outcome"], r["tokens_sent"]) for r in records] == [
        (False, "completed", 4),
        (True, "completed", 4),
    ]
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


@pytest.mark.parametrize(
    "standalone", [["--mode", "stall", "--stall-after", "2"]], indirect=True, ids=["stall"]
)
def test_standalone_server_stalls_when_told(
    standalone: tuple[subprocess.Popen[str], str],
) -> None:
    _, base_url = standalone
    received: list[Any] = []
    with httpx.Client(timeout=httpx.Timeout(10, read=0.5)) as client:
        with (
            pytest.raises(httpx.ReadTimeout),
            connect_sse(
                client, "POST", f"{base_url}/chat/completions", json=request(True)
            ) as source,
        ):
            for event in source.iter_sse():
                received.append(json.loads(event.data))
        assert content_of(received) == answer_tokens(MESSAGES, 2)
        [record] = listed_records(client, base_url)
    assert (record["mode"], record["tokens_sent"], record["outcome"]) == ("stall", 2, "cancelled")
    assert record["cancelled_after_seconds"] is not None

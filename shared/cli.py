"""The `quartet` command line (README "Quick start"; every command has `--help`)."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

import psycopg

from shared import vocabulary
from shared.implementations import IMPLEMENTATIONS, UnknownImplementation, built, resolve
from shared.settings import DEFAULT_GUNICORN_THREADS


class UsageError(Exception):
    """Bad arguments or input: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {value}")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid worker count {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"workers must be at least 1, got {value}")
    return value


def _default_workers() -> int:
    """WEB_CONCURRENCY: the name gunicorn, uvicorn and container platforms use for the count."""
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return 1
    try:
        return _workers(raw)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"WEB_CONCURRENCY: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="quartet", description="Quartet: one API contract, four frameworks.")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    serve = commands.add_parser(
        "serve",
        help="run an implementation under its production server",
        description="Run IMPL under its production server (uvicorn for fastapi and litestar, "
        "gunicorn for flask and drf). Without DATABASE_URL an embedded PostgreSQL "
        "is started, migrated and loaded with demo data.",
    )
    serve.add_argument(
        "impl",
        metavar="IMPL",
        choices=list(IMPLEMENTATIONS),
        help="one of: " + ", ".join(IMPLEMENTATIONS),
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="worker processes (default: WEB_CONCURRENCY, else 1)",
    )

    db = commands.add_parser(
        "db", help="database schema and data", description="Manage the shared database."
    )
    db_commands = db.add_subparsers(
        dest="db_command", required=True, metavar="ACTION", parser_class=_Parser
    )
    db_commands.add_parser(
        "migrate",
        help="apply pending schema migrations",
        description="Apply pending migrations of the shared schema.",
    )
    seed = db_commands.add_parser("seed", help="load data", description="Load data.")
    seed.add_argument(
        "--demo", action="store_true", required=True, help="load the demo users, project and tasks"
    )

    admin = commands.add_parser(
        "create-admin",
        help="create an administrator",
        description="Create an administrator. The password comes from QUARTET_ADMIN_PASSWORD, "
        "or is asked for.",
    )
    admin.add_argument("--email", required=True, help="the administrator's email")
    admin.add_argument("--display-name", default="Administrator", help="default: Administrator")

    _add_fake_llm(commands)
    _add_webhooks(commands)
    _add_bench(commands)
    return parser


def _bounded(
    kind: type[int] | type[float], name: str, low: float, high: float
) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {name} {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be {low:g}-{high:g}, got {text}")
        return value

    return parse


def _add_fake_llm(commands: argparse._SubParsersAction) -> None:
    fake = commands.add_parser(
        "fake-llm",
        help="run the deterministic fake of the assistant's OpenAI-compatible upstream",
        description="Serve a deterministic, OpenAI-compatible POST /v1/chat/completions (streamed "
        "or not) for demos and benchmarks, and print the LLM_BASE_URL to give the servers. "
        "Requests and whether their clients went away are listed at GET /_fake/records.",
    )
    fake.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    fake.add_argument("--port", type=_port, default=8100, help="port (default 8100)")
    fake.add_argument(
        "--tokens",
        type=_bounded(int, "token count", 0, 100_000),
        default=20,
        help="tokens per answer (default 20)",
    )
    fake.add_argument(
        "--token-delay-ms",
        type=_bounded(float, "token delay", 0, 60_000),
        default=20.0,
        help="milliseconds before each token; a whole answer takes tokens x delay (default 20)",
    )
    fake.add_argument(
        "--mode",
        choices=("ok", "error", "hang", "stall"),
        default="ok",
        help="ok answers; error: 500 with an OpenAI error body; hang: never sends headers; "
        "stall: sends --stall-after tokens, then nothing (default ok)",
    )
    fake.add_argument(
        "--stall-after",
        type=_bounded(int, "stall-after", 0, 100_000),
        metavar="K",
        help="with --mode stall: tokens streamed before stalling (default 0)",
    )


def _add_webhooks(commands: argparse._SubParsersAction) -> None:
    webhooks = commands.add_parser(
        "webhooks",
        help="list notification webhook deliveries still pending or failed",
        description="List the webhook outbox's deliveries that are pending (due or waiting for "
        "a retry) or failed (given up after 24 hours): id, notification, attempts, next "
        "attempt, the receiver's last status and the last error. Delivered ones and those "
        "the receiver refused with 410 are not listed.",
    )
    webhooks.add_argument(
        "--status", choices=("pending", "failed"), help="only these (default: both)"
    )
    webhooks.add_argument(
        "--limit",
        type=_bounded(int, "limit", 1, 10_000),
        default=100,
        help="at most this many (default 100)",
    )
    webhooks.add_argument("--json", action="store_true", help="one JSON array instead of a table")


def _add_bench(commands: argparse._SubParsersAction) -> None:
    try:
        from bench.scenarios import SCENARIO_OPTIONS  # names only: no extra needed for --help
    except ImportError:  # an install without bench/ (the Docker image copies only the servers)
        return

    bench = commands.add_parser(
        "bench",
        help="benchmark the implementations side by side with the bare floor",
        description="Benchmark implementations on identical work: a fresh PostgreSQL "
        "(embedded, or DATABASE_URL's server) with a deterministic data set, each "
        "server started fresh per run, one worker pinned to one CPU, load from wrk, "
        "every figure next to a bare ASGI/WSGI floor doing the same SQL. Writes "
        "results.json, report.md and PNG charts. Needs the bench extra "
        "(pip install -e '.[bench]') and wrk (apt-get install wrk).",
    )
    bench.add_argument(
        "--impl",
        action="append",
        default=[],
        choices=list(IMPLEMENTATIONS),
        metavar="IMPL",
        help="implementation to measure (repeatable; default: every built one)",
    )
    bench.add_argument(
        "--scenario",
        action="append",
        default=[],
        choices=SCENARIO_OPTIONS,
        metavar="S",
        help="scenario (repeatable; default: all but the live ones, which take minutes per "
        "server: events-fanout, assistant-slow-upstream, or both as 'live'): "
        + ", ".join(SCENARIO_OPTIONS),
    )
    bench.add_argument("--runs", type=int, default=3, help="runs (default 3; a full run: 5)")
    bench.add_argument(
        "--duration",
        type=int,
        default=2,
        help="measured seconds per scenario and run (default 2; a full run: 10)",
    )
    bench.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of warm-up load after each server start (default 2)",
    )
    bench.add_argument(
        "--out", metavar="DIR", help="output directory (default bench/results/<today>)"
    )
    bench.add_argument(
        "--seed",
        type=int,
        help="seed of the per-run order (default: random, recorded in results.json)",
    )
    bench.add_argument(
        "--dataset",
        choices=("standard", "small"),
        default="standard",
        help="'small' tries the harness in a minute; its figures mean nothing",
    )
    bench.add_argument(
        "--baseline",
        metavar="RESULTS",
        help="results.json of an earlier session: the report adds each implementation's "
        "figures then and now (req/s, %% of floor, CPU and statements per request)",
    )
    bench.add_argument(
        "--gunicorn-threads",
        type=_workers,
        default=DEFAULT_GUNICORN_THREADS,
        metavar="N",
        help="threads per gunicorn worker for Flask, DRF and the WSGI floor (default "
        f"{DEFAULT_GUNICORN_THREADS}, the servers' default; a stream or an assistant call "
        "holds one, at most N - 2)",
    )
    bench.add_argument(
        "--profile",
        action="append",
        default=[],
        choices=list(IMPLEMENTATIONS),
        metavar="IMPL",
        help="instead of measuring, profile IMPL with py-spy "
        "(repeatable; scenarios default to list-tasks and get-task): flame "
        "graphs and profile.md in --out",
    )


def _database_url(*, for_serve: bool = False) -> str:
    """DATABASE_URL, or the embedded server's (started, migrated, demo-seeded on first start)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from shared import demo, embedded_pg
    from shared.migrate import migrate

    server_url = embedded_pg.start()
    url = embedded_pg.ensure_database(server_url)
    migrate(url)
    if for_serve and demo.seed_if_empty(url):
        print("Loaded the demo data into the embedded database.", file=sys.stderr)
    return url


def _serve(args: argparse.Namespace) -> int:
    from shared import demo, serve
    from shared.settings import SettingsError, load_settings

    impl = resolve(args.impl)
    workers = args.workers or _default_workers()
    try:
        settings = load_settings()  # not get_settings(): its cache would miss DATABASE_URL below
        settings.check()
        settings.check_listen(args.host)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    embedded = not os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = _database_url(for_serve=True)
    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    print(f"\nQuartet · {impl.name} under {impl.server} · {base}", file=sys.stderr)
    print(f"  interactive docs   {base}/docs", file=sys.stderr)
    print(f"  OpenAPI document   {base}/openapi.json", file=sys.stderr)
    print(f"  API                {base}/api/v1", file=sys.stderr)
    if embedded:
        print(
            f"  database           embedded PostgreSQL ({os.environ['DATABASE_URL']})",
            file=sys.stderr,
        )
        print(f"  demo sign-in       {demo.credentials_line()}", file=sys.stderr)
    print("", file=sys.stderr)
    serve.run(impl, args.host, args.port, workers)
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from shared.migrate import migrate

    applied = migrate(_database_url())
    print(f"applied {', '.join(applied)}" if applied else "the schema is up to date")
    return 0


def _seed(_: argparse.Namespace) -> int:
    from shared import demo

    url = _database_url()
    if demo.seed_if_empty(url):
        print(f"loaded the demo data; {demo.credentials_line()}")
    else:
        print("the database already has users; demo data not loaded")
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    from shared import users

    email = args.email.strip().lower()
    if len(email) > vocabulary.EMAIL_MAX_LENGTH or not re.fullmatch(
        vocabulary.EMAIL_PATTERN, email
    ):
        raise UsageError(f"invalid email address {args.email!r}")
    if not 1 <= len(args.display_name) <= vocabulary.DISPLAY_NAME_MAX_LENGTH:
        raise UsageError("display name must be 1-100 characters")
    password = os.environ.get("QUARTET_ADMIN_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError("set QUARTET_ADMIN_PASSWORD or run in a terminal to be asked")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise UsageError("the passwords do not match")
    shortest, longest = vocabulary.PASSWORD_MIN_LENGTH, vocabulary.PASSWORD_MAX_LENGTH
    if not shortest <= len(password) <= longest:
        raise UsageError(f"password must be {shortest}-{longest} characters")
    try:
        user_id = users.create_user(
            _database_url(), email, args.display_name, password, is_admin=True
        )
    except users.EmailTaken:
        print(f"quartet: error: a user with email {email} already exists", file=sys.stderr)
        return 1
    print(f"created administrator {email} ({user_id})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    try:
        from bench import cli as bench_cli
    except ImportError as exc:  # rich, matplotlib, orjson: the bench extra
        raise UsageError(
            f"quartet bench needs the bench extra ({exc.name} is missing): "
            "pip install -e '.[bench]'"
        ) from None
    from bench.wrk import WrkMissing

    impls = list(dict.fromkeys(resolve(name).name for name in args.impl or built()))
    for name in args.profile:
        resolve(name)
    try:
        return bench_cli.run(args, impls)
    except (WrkMissing, bench_cli.UsageError) as exc:
        raise UsageError(str(exc)) from None


def _fake_llm(args: argparse.Namespace) -> int:
    from shared import fake_llm

    if args.stall_after is not None and args.mode != "stall":
        raise UsageError("--stall-after needs --mode stall")
    behaviour = fake_llm.Behaviour(fake_llm.Mode(args.mode), after=args.stall_after or 0)
    try:
        fake_llm.serve(
            args.host,
            args.port,
            tokens=args.tokens,
            token_delay_ms=args.token_delay_ms,
            behaviour=behaviour,
        )
    except OSError as exc:  # the address is taken, or not this machine's
        print(f"quartet: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1


def _webhooks(args: argparse.Namespace) -> int:
    import json

    from shared.webhooks import pending_and_failed

    deliveries = pending_and_failed(_database_url(), args.status, args.limit)
    if args.json:
        print(json.dumps(deliveries, indent=2))
        return 0
    if not deliveries:
        print(f"no {args.status or 'pending or failed'} deliveries")
        return 0
    columns = ("id", "notification_id", "status", "attempts", "next_attempt_at", "last_status")
    rows = [[str(d[c]) if d[c] is not None else "-" for c in columns] for d in deliveries]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + "  last_error")
    for row, delivery in zip(rows, deliveries, strict=True):
        cells = "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
        print(f"{cells}  {delivery['last_error'] or '-'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "serve": _serve,
        "create-admin": _create_admin,
        "bench": _bench,
        "fake-llm": _fake_llm,
        "webhooks": _webhooks,
    }
    handler = handlers.get(args.command) or {"migrate": _migrate, "seed": _seed}[args.db_command]
    try:
        return handler(args)
    except (UsageError, UnknownImplementation) as exc:
        print(f"quartet: error: {exc}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"quartet: error: cannot reach the database: {first_line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

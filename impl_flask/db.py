"""The engine (one per worker process), the request's session and its transaction, the row
locks and savepoints a write takes inside it, and the readiness probe's own connection.

One session per request, kept on `g` and closed when the app context ends. Whether the request
has a transaction is decided here, by its method, for every request: a read (GET, HEAD) runs
without one — each statement is its own, in autocommit, as Django does by default, so a read
costs no BEGIN or COMMIT round trip (its statements are auth → visibility → page → labels; a
change committed between two of them is the race any two requests have). A write runs in one
transaction, `transactional`'s: every API view is wrapped by it (TransactionalView), so the
commit happens after the handler returned and its response was serialised, but before the
response leaves — a failed commit is a 500, never a success for a change that did not happen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import psycopg
from flask import Flask, current_app, g, request
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.database import (
    CONNECT_TIMEOUT_SECONDS,
    POOL_SIZE,
    POOL_TIMEOUT_SECONDS,
    STATEMENT_TIMEOUT_SECONDS,
    libpq_options,
    sqlalchemy_url,
)
from shared.integrity import conflict_detail
from shared.live.orm_lock import ActivityLockingSession
from shared.readiness import database_answers

_SESSIONS = "taskboard.sessions"
_READ_SESSIONS = "taskboard.read_sessions"
_DATABASE_URL = "taskboard.database_url"


# Requests with these methods only read: their session runs in autocommit (no transaction).
READ_METHODS = frozenset({"GET", "HEAD"})

# A connection waits for the server at most this long for any one step (a statement, a
# commit): statement_timeout ends slow statements server-side first; this catches a
# server that no longer answers at all over an open socket (paused, a stalled host).
ANSWER_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_SECONDS + 1.0


class BoundedWaitConnection(psycopg.Connection[Any]):
    """psycopg's connection, never waiting longer than ANSWER_TIMEOUT_SECONDS for an answer
    (psycopg waits forever by default); one that timed out mid-statement is closed, so the pool
    drops it, and the OperationalError is a 503 (shared.dberrors)."""

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(
                gen, interval, ANSWER_TIMEOUT_SECONDS if timeout is None else timeout
            )
        except psycopg.errors._WaitTimeout:  # psycopg's own "no answer within timeout"
            self.close()
            raise


def init_app(app: Flask, database_url: str) -> None:
    """Lazy: no connection is made before the first query, so the app starts without a database.
    The pool and timeouts are the budgets every implementation uses (shared.database).

    No pre-ping: it would cost a round trip per checkout. A connection broken by a database
    restart fails its first statement instead; SQLAlchemy invalidates it and recycles the pool,
    and that request gets the 503 with Retry-After (shared.dberrors)."""
    engine = create_engine(
        sqlalchemy_url(database_url, "psycopg"),
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": libpq_options()},
    )
    event.listen(engine, "do_connect", _bounded_wait_connect)
    # expire_on_commit=False: responses are serialised from the objects after the commit.
    # ActivityLockingSession takes the project's activity lock right before any activity insert
    # (the flush that inserts it), so entries commit in `seq` order (shared.live.orm_lock).
    app.extensions[_SESSIONS] = sessionmaker(
        engine, class_=ActivityLockingSession, expire_on_commit=False
    )
    # Same pool; psycopg's autocommit is switched on at checkout and off again at checkin.
    app.extensions[_READ_SESSIONS] = sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
    app.extensions[_DATABASE_URL] = database_url
    app.teardown_appcontext(_close_session)


def _bounded_wait_connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    return BoundedWaitConnection.connect(*cargs, **cparams)


def session() -> Session:
    """The request's session, opened on first use: in autocommit for a read (READ_METHODS),
    else in the write's one transaction."""
    if "db_session" not in g:
        kind = _READ_SESSIONS if request.method in READ_METHODS else _SESSIONS
        g.db_session = current_app.extensions[kind]()
    return g.db_session


def _close_session(_: BaseException | None) -> None:
    release_session()


def release_session() -> None:
    """Close the request's session now, giving its pooled connection back: the app context's
    end does it for every request; a stream does it before it starts (it holds no pool
    connection while it lasts). Rolls back whatever `transactional` did not commit."""
    db_session: Session | None = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def transactional(view: Callable[..., Any]) -> Callable[..., Any]:
    """Commit when the view returns, roll back when it raises (for a read, in autocommit, both
    are no-ops: psycopg sends nothing when no transaction is open)."""

    @wraps(view)
    def run_in_transaction(*args: Any, **kwargs: Any) -> Any:
        db_session = session()
        try:
            response = view(*args, **kwargs)
        except BaseException:
            db_session.rollback()
            raise
        db_session.commit()
        return response

    return run_in_transaction


class TransactionalView(MethodView):
    """The base of every API view: one transaction around parsing, handler and serialisation
    for a write; none for a read (see `session`)."""

    decorators = [transactional]


@contextmanager
def conflict_savepoint() -> Iterator[None]:
    """Write in a savepoint, flushed on leaving: a unique violation that means "already exists"
    is a 409 with its sentence (shared.integrity, by constraint name); any other integrity error
    is a defect and propagates, a 500 with the error logged (contract/DECISIONS.md)."""
    try:
        with session().begin_nested():
            yield
    except IntegrityError as error:
        detail = conflict_detail(error)
        if detail is None:
            raise
        abort(409, message=detail)


def answers() -> bool:
    """Whether the database answers within READINESS_TIMEOUT_SECONDS, on a connection of its own
    (shared.readiness, the same probe as DRF's)."""
    return database_answers(current_app.extensions[_DATABASE_URL])

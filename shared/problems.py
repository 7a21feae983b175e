"""RFC 9457 problem details as the contract shapes them (contract/DECISIONS.md, "Errors"),
independent of any framework."""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"

# RFC 9110 reason phrases; Python 3.12's http.HTTPStatus still says "Unprocessable Entity" and
# "Request Entity Too Large", so the table is spelled out here once.
TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Default sentences, so the same situation reads the same in every implementation.
DETAILS: dict[int, str] = {
    400: "The request body is not valid JSON.",
    401: "Not authenticated.",
    403: "You do not have permission to perform this action.",
    404: "The requested resource was not found.",
    405: "The method is not allowed for this resource.",
    409: "The request conflicts with the current state of the resource.",
    412: "The resource has changed since it was last fetched.",
    413: "The request body is larger than 1 MiB.",
    415: "The request body has an unsupported content type.",
    422: "Request validation failed.",
    500: "An unexpected error occurred.",
    502: "The assistant's language model service failed.",
    503: "The service is not ready.",
    504: "The assistant's language model service did not answer in time.",
}

# The sentences of the contract's domain errors, said once so the four read alike (the suite
# compares everything but `detail` and `errors[].msg`; people compare those too).
NOT_AUTHENTICATED = "Not authenticated"
INVALID_TOKEN = "Could not validate credentials"
BAD_CREDENTIALS = "Incorrect email or password"
MALFORMED_JSON = "Malformed JSON body."
MALFORMED_FORM = "Malformed form body."  # a token request that is not UTF-8
ADMINS_ONLY = "Only administrators can create users."
EMAIL_TAKEN = "A user with this email already exists."
LABEL_TAKEN = "A label with this name already exists in the project."
LAST_OWNER = "A project must keep at least one owner."
NO_SUCH_USER = "No such user."
NO_SUCH_MEMBER = "No such member."
ONLY_AUTHOR_EDITS = "Only the author can edit a comment."
ONLY_AUTHOR_OR_OWNER_DELETES = "Only the author or a project owner can delete a comment."
ASSIGNEE_NOT_MEMBER = "The assignee is not a member of the project."
LABEL_NOT_IN_PROJECT = "No such label in the project."
INVALID_CURSOR = "The cursor is malformed or belongs to another list."
DATABASE_UNAVAILABLE = "The database is not reachable."
PASSWORD_HASHING_BUSY = "The server is busy checking other passwords; retry shortly."
CORS_PREFLIGHT_REFUSED = "CORS preflight refused: the origin, method or headers are not allowed."
# The live part (contract 1.2). A stream or call refused for want of room is a 503 with
# Retry-After: shared.live.stream.STREAMS_RETRY_AFTER_SECONDS (5).
STREAMS_FULL = "Too many open event streams; retry later."
ASSISTANT_BUSY = "Too many assistant calls in progress; retry later."  # sync servers' cap
ASSISTANT_NOT_CONFIGURED = "The assistant is not configured on this server."  # no Retry-After
UPSTREAM_FAILED = DETAILS[502]  # askAssistant 502, and the 502 `event: error` mid-stream
UPSTREAM_TIMEOUT = DETAILS[504]  # askAssistant 504, and the 504 `event: error` mid-stream

# The closed set of errors[].type values (contract/DECISIONS.md, "Validation error types").
ERROR_TYPES = frozenset(
    {
        "missing",
        "extra_forbidden",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "int_parsing",
        "uuid_parsing",
        "date_parsing",
        "enum",
        "greater_than_equal",
        "less_than_equal",
        "bool_parsing",
        "invalid_type",
        "too_long",
        "not_unique",
        "invalid_reference",
        "invalid_cursor",
        "invalid_characters",
        "idempotency_key_reused",
    }
)

MAX_BODY_BYTES = 1024 * 1024


def title_for(status: int) -> str:
    return TITLES.get(status) or ("Internal Server Error" if status >= 500 else "Bad Request")


def problem(
    status: int, detail: str | None = None, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title_for(status),
        "status": status,
        "detail": detail or DETAILS.get(status, title_for(status) + "."),
    }
    if status == 422:
        body["errors"] = errors or []
    return body


def field_error(loc: list[str | int], type_: str, msg: str) -> dict[str, Any]:
    assert type_ in ERROR_TYPES, type_
    return {"loc": loc, "type": type_, "msg": msg}

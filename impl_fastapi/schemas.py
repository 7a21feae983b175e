"""Pydantic v2 models of the wire format: request bodies (strict, no unknown fields), responses,
and the problem-details shapes documented in the OpenAPI document. The contract's enums and
limits are shared.vocabulary's, used here as Pydantic types."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID

import pydantic
from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainSerializer,
    Strict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from impl_fastapi.errors import CONTRACT_ERROR_TYPES
from shared import vocabulary
from shared.inputs import NUL, nul_locations, parse_bool, parse_int, parse_uuid
from shared.timefmt import format_timestamp
from shared.vocabulary import (
    ActivityTargetType,
    ActivityVerb,
    NotificationKind,
    Role,
    TaskPriority,
    TaskStatus,
)

# ---------------------------------------------------------------------------- wire types

Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits (`\d` takes any script's)


# ---------------------------------------------------------------------------- hostile input
# The rules of contract/DECISIONS.md "Validation error types" that pydantic does not apply by
# itself, as validators (shared.inputs says what each accepts). A U+0000 check comes first in
# a chain, so its `invalid_characters` replaces any other error at that loc.


def _no_nul(value: object) -> object:
    if isinstance(value, str) and NUL in value:
        raise PydanticCustomError("invalid_characters", "Input must not contain U+0000")
    return value


def _canonical_uuid(value: object) -> object:
    """8-4-4-4-12 only: pydantic's UUID also takes braces, `urn:uuid:` and 32 bare digits."""
    if not isinstance(value, str):
        return value
    if (parsed := parse_uuid(value)) is None:
        raise PydanticCustomError(
            "uuid_parsing", "Input should be a UUID in the 8-4-4-4-12 hexadecimal form"
        )
    return parsed


def _ascii_int(value: object) -> object:
    """ASCII digits with an optional `-`: pydantic's lax int also takes other scripts' digits,
    `+`, surrounding spaces and `_`."""
    if not isinstance(value, str):
        return value
    if (parsed := parse_int(value)) is None:
        raise PydanticCustomError("int_parsing", "Input should be an integer in ASCII digits")
    return parsed


NulFree = BeforeValidator(_no_nul)
# A path parameter naming a resource (a NUL there is just not a UUID).
ResourceId = Annotated[UUID, Strict(False), BeforeValidator(_canonical_uuid)]
# Query values.
QueryUUID = Annotated[UUID, Strict(False), BeforeValidator(_canonical_uuid), NulFree]
# Put after the constraints in an Annotated int (`Annotated[int, Query(ge=1), *ASCII_INT]`), so
# those stay on the integer, where the JSON schema shows them.
ASCII_INT = (Strict(False), BeforeValidator(_ascii_int), NulFree)
QueryText = Annotated[str, NulFree]


def _query_bool(value: object) -> object:
    """`true` or `false` only: pydantic's lax bool also takes `1`, `yes`, `on`, `t`..."""
    if not isinstance(value, str):
        return value
    if (parsed := parse_bool(value)) is None:
        raise PydanticCustomError("bool_parsing", "Input should be `true` or `false`")
    return parsed


QueryBool = Annotated[bool, Strict(False), BeforeValidator(_query_bool), NulFree]


def _json_string(value: object) -> object:
    """FastAPI validates the decoded JSON in Python mode, where strict UUID/date/enum fields
    would refuse the strings JSON carries them as. Those fields are lax, and this check puts
    strictness back: the JSON value must be a string."""
    if isinstance(value, str):
        return value
    raise PydanticCustomError("invalid_type", "Input should be a string")


def _iso_date_string(value: object) -> object:
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_type", "Input should be a string")
    if not _DATE.fullmatch(value):
        raise PydanticCustomError("date_parsing", "Input should be a date in YYYY-MM-DD format")
    return value


def _distinct(items: list[Any]) -> list[Any]:
    if len(set(items)) != len(items):
        raise PydanticCustomError("not_unique", "List items must be unique")
    return items


JsonUUID = Annotated[
    UUID, Strict(False), BeforeValidator(_canonical_uuid), BeforeValidator(_json_string)
]
# YYYY-MM-DD only (lax date parsing would take `0` or a datetime), in bodies and query strings.
IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_date_string), NulFree]

Email = Annotated[
    str,
    StringConstraints(
        to_lower=True, max_length=vocabulary.EMAIL_MAX_LENGTH, pattern=vocabulary.EMAIL_PATTERN
    ),
]
DisplayName = Annotated[str, Field(min_length=1, max_length=vocabulary.DISPLAY_NAME_MAX_LENGTH)]
Password = Annotated[
    str, Field(min_length=vocabulary.PASSWORD_MIN_LENGTH, max_length=vocabulary.PASSWORD_MAX_LENGTH)
]
ProjectName = Annotated[str, Field(min_length=1, max_length=vocabulary.PROJECT_NAME_MAX_LENGTH)]
ProjectDescription = Annotated[str, Field(max_length=vocabulary.PROJECT_DESCRIPTION_MAX_LENGTH)]
LabelName = Annotated[str, Field(min_length=1, max_length=vocabulary.LABEL_NAME_MAX_LENGTH)]
Color = Annotated[str, Field(pattern=vocabulary.COLOR_PATTERN)]
TaskTitle = Annotated[str, Field(min_length=1, max_length=vocabulary.TASK_TITLE_MAX_LENGTH)]
TaskDescription = Annotated[str, Field(max_length=vocabulary.TASK_DESCRIPTION_MAX_LENGTH)]
CommentBody = Annotated[str, Field(min_length=1, max_length=vocabulary.COMMENT_BODY_MAX_LENGTH)]
LabelIds = Annotated[
    list[JsonUUID],
    Field(max_length=vocabulary.TASK_LABELS_MAX_ITEMS, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_distinct),
]
# `q` of the user and task lists.
SearchText = Annotated[str, Field(min_length=1, max_length=vocabulary.SEARCH_MAX_LENGTH), NulFree]


class TokenType(StrEnum):
    BEARER = "bearer"


class HealthStatus(StrEnum):
    OK = "ok"


JsonRole = Annotated[Role, Strict(False), BeforeValidator(_json_string)]
JsonTaskStatus = Annotated[TaskStatus, Strict(False), BeforeValidator(_json_string)]
JsonTaskPriority = Annotated[TaskPriority, Strict(False), BeforeValidator(_json_string)]

# ---------------------------------------------------------------------------- base classes


class NulFreeModel(BaseModel):
    """A U+0000 in any string value of the input, at any depth, is one `invalid_characters`
    error at its loc instead of whatever else is wrong there; the other fields are validated as
    usual (contract/DECISIONS.md, "Validation error types"). PostgreSQL cannot store U+0000, so
    such a value never gets further. Fields in NUL_ALLOWED are exempt; an unknown field is
    `extra_forbidden` whatever its value."""

    NUL_ALLOWED: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="wrap")
    @classmethod
    def _no_nul_anywhere(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        nul_locs = [
            tuple(loc)
            for loc in nul_locations(data, root=())
            if loc and loc[0] in cls.model_fields and loc[0] not in cls.NUL_ALLOWED
        ]
        if not nul_locs:
            return handler(data)
        others: list[InitErrorDetails] = []
        try:
            handler(data)
        except pydantic.ValidationError as error:
            others = [
                {
                    "type": PydanticCustomError(item["type"], item["msg"]),
                    "loc": item["loc"],
                    "input": item["input"],
                }
                for item in error.errors()
                if tuple(item["loc"]) not in nul_locs
            ]
        nul_errors: list[InitErrorDetails] = [
            {
                "type": PydanticCustomError("invalid_characters", "Input must not contain U+0000"),
                "loc": loc,
                "input": None,
            }
            for loc in nul_locs
        ]
        raise pydantic.ValidationError.from_exception_data(cls.__name__, [*nul_errors, *others])


class RequestBody(NulFreeModel):
    """Strict JSON types; unknown fields are an error; server-owned fields do not exist here."""

    model_config = ConfigDict(strict=True, extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class ItemList(ResponseModel, Generic[T]):
    items: list[T]


# ---------------------------------------------------------------------------- auth


class TokenRequest(NulFreeModel):
    """The OAuth2 password grant form. Form fields are strings, so no strict mode is needed.
    Credentials with a U+0000 are simply wrong (no user has one): a failed sign-in, not a 422."""

    model_config = ConfigDict(extra="forbid")
    NUL_ALLOWED = frozenset({"username", "password"})

    grant_type: Annotated[str, Field(pattern=vocabulary.GRANT_TYPE_PATTERN)] = "password"
    username: str
    password: str
    scope: str = ""


class Token(BaseModel):
    access_token: str
    token_type: TokenType
    expires_in: int


# ---------------------------------------------------------------------------- users


class UserSummary(ResponseModel):
    id: UUID
    email: Email
    display_name: DisplayName


class User(UserSummary):
    is_admin: bool
    created_at: Timestamp


class UserCreate(RequestBody):
    email: Email
    display_name: DisplayName
    password: Password
    is_admin: bool = False


class UserPage(Page[User]):
    pass


# ---------------------------------------------------------------------------- projects


class TaskCounts(ResponseModel):
    todo: Annotated[int, Field(ge=0)]
    in_progress: Annotated[int, Field(ge=0)]
    done: Annotated[int, Field(ge=0)]


class Project(ResponseModel):
    id: UUID
    name: ProjectName
    description: ProjectDescription
    created_at: Timestamp
    updated_at: Timestamp
    version: Annotated[int, Field(ge=1)]
    my_role: Role
    task_counts: TaskCounts


class ProjectCreate(RequestBody):
    name: ProjectName
    description: ProjectDescription = ""


class ProjectUpdate(RequestBody):
    """Absent fields are unchanged (MISSING never reaches model_dump)."""

    name: ProjectName | MISSING = MISSING
    description: ProjectDescription | MISSING = MISSING


class ProjectPage(Page[Project]):
    pass


# ---------------------------------------------------------------------------- members


class Member(ResponseModel):
    user: UserSummary
    role: Role
    added_at: Timestamp


class MemberList(ItemList[Member]):
    pass


class MemberPut(RequestBody):
    role: JsonRole


# ---------------------------------------------------------------------------- labels


class Label(ResponseModel):
    id: UUID
    name: LabelName
    color: Color


class LabelCreate(RequestBody):
    name: LabelName
    color: Color


class LabelList(ItemList[Label]):
    pass


# ---------------------------------------------------------------------------- tasks


class Task(ResponseModel):
    id: UUID
    project_id: UUID
    title: TaskTitle
    description: TaskDescription
    status: TaskStatus
    priority: TaskPriority
    assignee: UserSummary | None
    labels: list[Label]
    due_date: date | None
    created_by: UserSummary
    created_at: Timestamp
    updated_at: Timestamp
    version: Annotated[int, Field(ge=1)]
    comment_count: Annotated[int, Field(ge=0)]


class TaskCreate(RequestBody):
    title: TaskTitle
    description: TaskDescription = ""
    status: JsonTaskStatus = TaskStatus.TODO
    priority: JsonTaskPriority = TaskPriority.MEDIUM
    assignee_id: JsonUUID | None = None
    due_date: IsoDate | None = None
    label_ids: LabelIds = []


class TaskUpdate(RequestBody):
    """Absent = unchanged (MISSING); `null` clears assignee_id / due_date."""

    title: TaskTitle | MISSING = MISSING
    description: TaskDescription | MISSING = MISSING
    status: JsonTaskStatus | MISSING = MISSING
    priority: JsonTaskPriority | MISSING = MISSING
    assignee_id: JsonUUID | None | MISSING = MISSING
    due_date: IsoDate | None | MISSING = MISSING
    label_ids: LabelIds | MISSING = MISSING


class TaskPage(Page[Task]):
    pass


# ---------------------------------------------------------------------------- comments


class Comment(ResponseModel):
    id: UUID
    task_id: UUID
    author: UserSummary
    body: CommentBody
    created_at: Timestamp
    updated_at: Timestamp


class CommentCreate(RequestBody):
    body: CommentBody


class CommentUpdate(RequestBody):
    body: CommentBody


class CommentPage(Page[Comment]):
    pass


# ---------------------------------------------------------------------------- activity


# [old, new]: any JSON values (pydantic would add an empty `items: {}` for list[Any]).
OldAndNew = Annotated[
    list[Any],
    Field(min_length=2, max_length=2),
    WithJsonSchema({"type": "array", "minItems": 2, "maxItems": 2}),
]


class Activity(ResponseModel):
    id: UUID
    project_id: UUID
    actor: UserSummary
    verb: ActivityVerb
    target_type: ActivityTargetType
    target_id: UUID
    changes: dict[str, OldAndNew]
    created_at: Timestamp


class ActivityPage(Page[Activity]):
    pass


# ---------------------------------------------------------------------------- notifications


class Notification(ResponseModel):
    id: UUID
    kind: NotificationKind
    task_id: UUID
    project_id: UUID
    actor: UserSummary
    read: bool
    created_at: Timestamp


class NotificationPage(Page[Notification]):
    pass


# ---------------------------------------------------------------------------- assistant

Question = Annotated[str, Field(min_length=1, max_length=vocabulary.ASSISTANT_QUESTION_MAX_LENGTH)]


class AssistantQuestion(RequestBody):
    question: Question
    stream: Annotated[
        bool,
        Field(
            description=(
                "`true`: `text/event-stream` (`token` events, then `done`); "
                "`false`: one JSON AssistantAnswer."
            )
        ),
    ] = vocabulary.ASSISTANT_STREAM_DEFAULT


class AssistantUsage(BaseModel):
    prompt_tokens: Annotated[int, Field(ge=0)]
    completion_tokens: Annotated[int, Field(ge=0)]


class AssistantAnswer(BaseModel):
    answer: str
    model: str
    usage: AssistantUsage


# The `data` of the stream's events (documented under the stream's `x-sse-events`; the frames
# themselves are shared.assistant's).
class AssistantToken(BaseModel):
    text: Annotated[str, Field(min_length=1)]


class AssistantDone(BaseModel):
    model: str
    usage: AssistantUsage


# ---------------------------------------------------------------------------- operations


class Health(BaseModel):
    status: HealthStatus


# ---------------------------------------------------------------------------- problems
# Documentation of the error bodies; errors.py builds them with shared.problems.


class ProblemType(StrEnum):
    ABOUT_BLANK = "about:blank"


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: ProblemType
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str


# The closed vocabulary of `errors[].type`, documented as an enum.
ErrorType = StrEnum("ErrorType", [(kind, kind) for kind in sorted(CONTRACT_ERROR_TYPES)])  # type: ignore[misc]


class ValidationError(BaseModel):
    loc: Annotated[list[str | int], Field(min_length=1)]
    type: ErrorType
    msg: str


class ValidationProblem(Problem):
    """A 422 problem; lists every violation."""

    errors: list[ValidationError]

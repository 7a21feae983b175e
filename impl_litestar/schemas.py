"""msgspec Structs: the request bodies and responses of the contract.

Request Structs forbid unknown fields; their constraints (msgspec `Meta`) are what the body is
validated against and what the generated OpenAPI document says. Response Structs carry
timestamps already in the wire format (`shared.timefmt`): msgspec's own datetime encoding drops
the fraction when it is zero, the contract wants six digits always."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from impl_litestar.errors import CONTRACT_11_ERROR_TYPES
from shared import notifications, orm, problems, vocabulary
from shared.timefmt import format_timestamp
from shared.vocabulary import (
    ActivityTargetType,
    ActivityVerb,
    NotificationKind,
    Role,
    TaskPriority,
    TaskStatus,
)

# -------------------------------------------------------------------------------- field types

# `extra_json_schema["extra"]` is Litestar's channel from a msgspec Meta into the OpenAPI schema.
Timestamp = Annotated[str, Meta(extra_json_schema={"extra": {"format": "date-time"}})]
Email = Annotated[
    str, Meta(max_length=vocabulary.EMAIL_MAX_LENGTH, pattern=vocabulary.EMAIL_PATTERN)
]
DisplayName = Annotated[str, Meta(min_length=1, max_length=vocabulary.DISPLAY_NAME_MAX_LENGTH)]
Password = Annotated[
    str, Meta(min_length=vocabulary.PASSWORD_MIN_LENGTH, max_length=vocabulary.PASSWORD_MAX_LENGTH)
]
ProjectName = Annotated[str, Meta(min_length=1, max_length=vocabulary.PROJECT_NAME_MAX_LENGTH)]
ProjectDescription = Annotated[str, Meta(max_length=vocabulary.PROJECT_DESCRIPTION_MAX_LENGTH)]
LabelName = Annotated[str, Meta(min_length=1, max_length=vocabulary.LABEL_NAME_MAX_LENGTH)]
Color = Annotated[str, Meta(pattern=vocabulary.COLOR_PATTERN)]
TaskTitle = Annotated[str, Meta(min_length=1, max_length=vocabulary.TASK_TITLE_MAX_LENGTH)]
TaskDescription = Annotated[str, Meta(max_length=vocabulary.TASK_DESCRIPTION_MAX_LENGTH)]
CommentBody = Annotated[str, Meta(min_length=1, max_length=vocabulary.COMMENT_BODY_MAX_LENGTH)]
Version = Annotated[int, Meta(ge=1)]
Count = Annotated[int, Meta(ge=0)]
# msgspec has no uniqueness constraint: `extra["unique_items"]` is checked by validation.py
# (duplicates → `not_unique`), `uniqueItems` documents it.
LabelIds = Annotated[
    list[UUID],
    Meta(
        max_length=vocabulary.TASK_LABELS_MAX_ITEMS,
        extra={"unique_items": True},
        extra_json_schema={"extra": {"uniqueItems": True}},
    ),
]


class RequestBody(Struct, forbid_unknown_fields=True):
    """Base of every request body: unknown fields are an error (`extra_forbidden`,
    contract/DECISIONS.md "Validation error types")."""


# ---------------------------------------------------------------------------------- auth


class TokenRequest(RequestBody):
    """OAuth2 password grant form; `username` is the email."""

    username: str
    password: str
    grant_type: Annotated[str, Meta(pattern=vocabulary.GRANT_TYPE_PATTERN)] | UnsetType = UNSET
    scope: str | UnsetType = UNSET


class TokenType(enum.StrEnum):
    BEARER = "bearer"


class Token(Struct):
    access_token: str
    token_type: TokenType
    expires_in: int


# --------------------------------------------------------------------------------- users


class UserSummary(Struct):
    id: UUID
    email: Email
    display_name: DisplayName

    @classmethod
    def of(cls, user: orm.User) -> UserSummary:
        return cls(id=user.id, email=user.email, display_name=user.display_name)


class User(Struct):
    id: UUID
    email: Email
    display_name: DisplayName
    is_admin: bool
    created_at: Timestamp

    @classmethod
    def of(cls, user: orm.User) -> User:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            is_admin=user.is_admin,
            created_at=format_timestamp(user.created_at),
        )


class UserCreate(RequestBody):
    email: Email
    display_name: DisplayName
    password: Password
    is_admin: bool = False


T = TypeVar("T")


class Page(Struct, Generic[T]):
    """A keyset page; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


# ---------------------------------------------------------------------- projects & members


class TaskCounts(Struct):
    todo: Count
    in_progress: Count
    done: Count


class Project(Struct):
    id: UUID
    name: ProjectName
    description: ProjectDescription
    created_at: Timestamp
    updated_at: Timestamp
    version: Version
    my_role: Role
    task_counts: TaskCounts

    @classmethod
    def of(cls, project: orm.Project) -> Project:
        """`project` loaded with the caller's role and its task counts (shared.selects)."""
        return cls(
            id=project.id,
            name=project.name,
            description=project.description,
            created_at=format_timestamp(project.created_at),
            updated_at=format_timestamp(project.updated_at),
            version=project.version,
            my_role=Role(project.my_role),
            task_counts=TaskCounts(**project.task_counts),
        )


class ProjectCreate(RequestBody):
    name: ProjectName
    description: ProjectDescription = ""


class ProjectUpdate(RequestBody):
    """Absent fields are unchanged."""

    name: ProjectName | UnsetType = UNSET
    description: ProjectDescription | UnsetType = UNSET


class Member(Struct):
    user: UserSummary
    role: Role
    added_at: Timestamp

    @classmethod
    def of(cls, member: orm.ProjectMember) -> Member:
        return cls(
            user=UserSummary.of(member.user),
            role=Role(member.role),
            added_at=format_timestamp(member.added_at),
        )


class MemberList(Struct):
    items: list[Member]


class MemberPut(RequestBody):
    role: Role


# --------------------------------------------------------------------------------- labels


class Label(Struct):
    id: UUID
    name: LabelName
    color: Color

    @classmethod
    def of(cls, label: orm.Label) -> Label:
        return cls(id=label.id, name=label.name, color=label.color)


class LabelList(Struct):
    items: list[Label]


class LabelCreate(RequestBody):
    name: LabelName
    color: Color


# ---------------------------------------------------------------------------------- tasks


class Task(Struct):
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
    version: Version
    comment_count: Count

    @classmethod
    def of(cls, task: orm.Task) -> Task:
        """`task` loaded with its users, labels and comment count (shared.selects.tasks)."""
        return cls(
            id=task.id,
            project_id=task.project_id,
            title=task.title,
            description=task.description,
            status=TaskStatus(task.status),
            priority=TaskPriority(task.priority),
            assignee=UserSummary.of(task.assignee) if task.assignee is not None else None,
            labels=[Label.of(label) for label in task.labels],
            due_date=task.due_date,
            created_by=UserSummary.of(task.created_by),
            created_at=format_timestamp(task.created_at),
            updated_at=format_timestamp(task.updated_at),
            version=task.version,
            comment_count=task.comment_count,
        )

    @classmethod
    def of_row(cls, row: Any, labels: list[dict[str, Any]]) -> Task:
        """`row` of shared.selects.task_rows (embedded users as dicts) and its labels' dicts:
        a read builds the Struct straight from columns, no ORM entity in between."""
        assignee = row.assignee
        return cls(
            id=row.id,
            project_id=row.project_id,
            title=row.title,
            description=row.description,
            status=TaskStatus(row.status),
            priority=TaskPriority(row.priority),
            assignee=None if assignee is None else UserSummary(**assignee),
            labels=[Label(**label) for label in labels],
            due_date=row.due_date,
            created_by=UserSummary(**row.created_by),
            created_at=format_timestamp(row.created_at),
            updated_at=format_timestamp(row.updated_at),
            version=row.version,
            comment_count=row.comment_count,
        )


class TaskCreate(RequestBody):
    title: TaskTitle
    description: TaskDescription = ""
    status: TaskStatus = TaskStatus.TODO
    priority: TaskPriority = TaskPriority.MEDIUM
    assignee_id: UUID | None = None
    due_date: date | None = None
    label_ids: LabelIds = msgspec.field(default_factory=list)


class TaskUpdate(RequestBody):
    """Any subset of the create fields: absent (UNSET) = unchanged, null clears."""

    title: TaskTitle | UnsetType = UNSET
    description: TaskDescription | UnsetType = UNSET
    status: TaskStatus | UnsetType = UNSET
    priority: TaskPriority | UnsetType = UNSET
    assignee_id: UUID | None | UnsetType = UNSET
    due_date: date | None | UnsetType = UNSET
    label_ids: LabelIds | UnsetType = UNSET


# ------------------------------------------------------------------------------- comments


class Comment(Struct):
    id: UUID
    task_id: UUID
    author: UserSummary
    body: CommentBody
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, comment: orm.Comment) -> Comment:
        return cls(
            id=comment.id,
            task_id=comment.task_id,
            author=UserSummary.of(comment.author),
            body=comment.body,
            created_at=format_timestamp(comment.created_at),
            updated_at=format_timestamp(comment.updated_at),
        )


class CommentCreate(RequestBody):
    body: CommentBody


class CommentUpdate(RequestBody):
    body: CommentBody


# ------------------------------------------------------------------------------- activity

# `{field: [old, new]}`. Litestar drops a Meta on a dict's value type, so the schema of the
# pairs is given explicitly.
Changes = Annotated[
    dict[str, list[Any]],
    Meta(
        extra_json_schema={
            "extra": {"additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2}}
        }
    ),
]


class Activity(Struct):
    id: UUID
    project_id: UUID
    actor: UserSummary
    verb: ActivityVerb
    target_type: ActivityTargetType
    target_id: UUID
    changes: Changes
    created_at: Timestamp

    @classmethod
    def of(cls, entry: orm.Activity) -> Activity:
        return cls(
            id=entry.id,
            project_id=entry.project_id,
            actor=UserSummary.of(entry.actor),
            verb=ActivityVerb(entry.verb),
            target_type=ActivityTargetType(entry.target_type),
            target_id=entry.target_id,
            changes=entry.changes,
            created_at=format_timestamp(entry.created_at),
        )


# ----------------------------------------------------------------------------- notifications


class Notification(Struct):
    id: UUID
    kind: NotificationKind
    task_id: UUID
    project_id: UUID
    actor: UserSummary
    read: bool
    created_at: Timestamp

    @classmethod
    def of(cls, notification: notifications.Notification) -> Notification:
        return cls(
            id=notification.id,
            kind=NotificationKind(notification.kind),
            task_id=notification.task_id,
            project_id=notification.project_id,
            actor=UserSummary.of(notification.actor),
            read=notification.read,
            created_at=format_timestamp(notification.created_at),
        )


# --------------------------------------------------------------------------------- assistant

Question = Annotated[str, Meta(min_length=1, max_length=vocabulary.ASSISTANT_QUESTION_MAX_LENGTH)]


class AssistantQuestion(RequestBody):
    question: Question
    stream: Annotated[
        bool,
        Meta(
            description="`true`: `text/event-stream` (`token` events, then `done`); `false`: "
            "one JSON AssistantAnswer."
        ),
    ] = vocabulary.ASSISTANT_STREAM_DEFAULT


class AssistantUsage(Struct):
    """Token counts as the upstream reports them."""

    prompt_tokens: Count
    completion_tokens: Count


class AssistantAnswer(Struct):
    """The whole answer (`stream: false`)."""

    answer: str
    model: str
    usage: AssistantUsage


# ------------------------------------------------------------------------ problems, health


class ProblemType(enum.StrEnum):
    ABOUT_BLANK = "about:blank"


HttpErrorStatus = Annotated[int, Meta(ge=400, le=599)]


class Problem(Struct):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: ProblemType
    title: str
    status: HttpErrorStatus
    detail: str


# The closed set of `errors[].type` values (shared.problems.ERROR_TYPES and contract 1.1's),
# as a schema enum.
ValidationErrorType = enum.StrEnum(
    "ValidationErrorType",
    [(name.upper(), name) for name in sorted(problems.ERROR_TYPES | CONTRACT_11_ERROR_TYPES)],
)


class ValidationError(Struct):
    loc: Annotated[list[str | int], Meta(min_length=1)]
    type: ValidationErrorType
    msg: str


class ValidationProblem(Struct):
    type: ProblemType
    title: str
    status: HttpErrorStatus
    detail: str
    errors: list[ValidationError]


class HealthStatus(enum.StrEnum):
    OK = "ok"


class Health(Struct):
    status: HealthStatus

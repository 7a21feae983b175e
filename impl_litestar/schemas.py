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
from litestar.params import Parameter
from msgspec import UNSET, Meta, Struct, UnsetType

from shared import orm, vocabulary
from shared.timefmt import format_timestamp

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
ProjectName = Annotated[str, Meta(min_length=1, max_length=200)]
ProjectDescription = Annotated[str, Meta(max_length=2000)]
LabelName = Annotated[str, Meta(min_length=1, max_length=50)]
Color = Annotated[str, Meta(pattern=r"^#[0-9A-Fa-f]{6}$")]
TaskTitle = Annotated[str, Meta(min_length=1, max_length=200)]
TaskDescription = Annotated[str, Meta(max_length=10000)]
CommentBody = Annotated[str, Meta(min_length=1, max_length=5000)]
Version = Annotated[int, Meta(ge=1)]
Count = Annotated[int, Meta(ge=0)]
MAX_TASK_LABELS = 20
# msgspec has no uniqueness constraint: `extra["unique_items"]` is checked by errors.py's body
# validation (duplicates → `not_unique`), `uniqueItems` documents it.
LabelIds = Annotated[
    list[UUID],
    Meta(
        max_length=MAX_TASK_LABELS,
        extra={"unique_items": True},
        extra_json_schema={"extra": {"uniqueItems": True}},
    ),
]


class Role(enum.StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


class TaskStatus(enum.StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class TaskPriority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class TaskSort(enum.StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    DUE_SOONEST = "due_date"
    DUE_LATEST = "-due_date"
    PRIORITY_LOWEST = "priority"
    PRIORITY_HIGHEST = "-priority"


class ActivityVerb(enum.StrEnum):
    PROJECT_CREATED = "project.created"
    PROJECT_UPDATED = "project.updated"
    MEMBER_ADDED = "member.added"
    MEMBER_UPDATED = "member.updated"
    MEMBER_REMOVED = "member.removed"
    LABEL_CREATED = "label.created"
    LABEL_DELETED = "label.deleted"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_DELETED = "task.deleted"
    COMMENT_CREATED = "comment.created"
    COMMENT_UPDATED = "comment.updated"
    COMMENT_DELETED = "comment.deleted"


class ActivityTargetType(enum.StrEnum):
    PROJECT = "project"
    MEMBER = "member"
    LABEL = "label"
    TASK = "task"
    COMMENT = "comment"


class RequestBody(Struct, forbid_unknown_fields=True):
    """Base of every request body: unknown fields are an error (SPEC §1)."""


# ---------------------------------------------------------------------------------- auth


class TokenRequest(RequestBody):
    """OAuth2 password grant form; `username` is the email."""

    username: str
    password: str
    grant_type: Annotated[str, Meta(pattern=r"^password$")] | UnsetType = UNSET
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
    def of(cls, project: orm.Project, my_role: str, counts: TaskCounts) -> Project:
        return cls(
            id=project.id,
            name=project.name,
            description=project.description,
            created_at=format_timestamp(project.created_at),
            updated_at=format_timestamp(project.updated_at),
            version=project.version,
            my_role=Role(my_role),
            task_counts=counts,
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
    def of(cls, task: orm.Task, comment_count: int) -> Task:
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
            comment_count=comment_count,
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


class ValidationErrorType(enum.StrEnum):
    MISSING = "missing"
    EXTRA_FORBIDDEN = "extra_forbidden"
    INVALID_TYPE = "invalid_type"
    STRING_TOO_SHORT = "string_too_short"
    STRING_TOO_LONG = "string_too_long"
    STRING_PATTERN_MISMATCH = "string_pattern_mismatch"
    UUID_PARSING = "uuid_parsing"
    DATE_PARSING = "date_parsing"
    INT_PARSING = "int_parsing"
    ENUM = "enum"
    GREATER_THAN_EQUAL = "greater_than_equal"
    LESS_THAN_EQUAL = "less_than_equal"
    BOOL_PARSING = "bool_parsing"
    TOO_LONG = "too_long"
    NOT_UNIQUE = "not_unique"
    INVALID_REFERENCE = "invalid_reference"
    INVALID_CURSOR = "invalid_cursor"


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


# ------------------------------------------------------------------ conditional request headers

IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match", description="Proceed only if the current ETag matches (else 412)."
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Parameter(header="If-None-Match", description="304 with no body if the current ETag matches."),
]

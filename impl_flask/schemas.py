"""marshmallow schemas: what requests may carry (RequestSchema: unknown fields are an error) and
what responses contain (ResponseSchema: never loaded, only dumped and documented).

Bounds, patterns and enums are the contract's vocabulary (shared.vocabulary), said as fields and
validators, so apispec documents exactly what is enforced; the fields and validators come from
fields.py, which reports the contract's error types."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from impl_flask import fields as f
from shared import vocabulary as v
from shared.live.stream import SEQ_MAX
from shared.problems import ERROR_TYPES
from shared.tasklist import TaskFilters
from shared.vocabulary import (
    ActivityTargetType,
    ActivityVerb,
    NotificationKind,
    Role,
    TaskPriority,
    TaskSort,
    TaskStatus,
)

# shared.problems.ERROR_TYPES predates contract 1.1's two new types (validation.py and
# idempotency.py build those errors themselves).
CONTRACT_ERROR_TYPES = ERROR_TYPES | {"invalid_characters", "idempotency_key_reused"}


class RequestSchema(ma.Schema):
    """Bodies and query strings. Unknown body fields are refused (documented as
    `additionalProperties: false`); webargs ignores unknown query parameters and headers."""

    class Meta:
        unknown = ma.RAISE

    error_messages = {
        "unknown": f.ErrorMessage("extra_forbidden", "Extra inputs are not permitted"),
        "type": f.ErrorMessage("invalid_type", "Input should be an object"),
    }


class ResponseSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # never loaded; EXCLUDE keeps additionalProperties out of the docs


def _email(**kwargs: object) -> f.String:
    return f.String(
        validate=[f.Length(max=v.EMAIL_MAX_LENGTH), f.Regexp(v.EMAIL_PATTERN)],
        **kwargs,
    )


def _text(max_length: int, *, blank: bool = False, **kwargs: object) -> f.String:
    """A string of at most `max_length` characters; empty only if `blank`."""
    return f.String(validate=f.Length(min=None if blank else 1, max=max_length), **kwargs)


def _color(**kwargs: object) -> f.String:
    return f.String(validate=f.Regexp(v.COLOR_PATTERN), **kwargs)


# ============================================================================ requests


class TokenRequestSchema(RequestSchema):
    """OAuth2 password grant form; `username` is the email."""

    grant_type = f.String(validate=f.Regexp(v.GRANT_TYPE_PATTERN))
    username = f.Credential(required=True)
    password = f.Credential(required=True)
    scope = f.String()  # accepted and ignored


class UserCreateSchema(RequestSchema):
    email = _email(required=True)
    display_name = _text(v.DISPLAY_NAME_MAX_LENGTH, required=True)
    password = f.String(
        required=True,
        validate=f.Length(min=v.PASSWORD_MIN_LENGTH, max=v.PASSWORD_MAX_LENGTH),
    )
    is_admin = f.Boolean(load_default=False)


class PageQuerySchema(RequestSchema):
    limit = f.QueryInteger(
        load_default=v.PAGE_LIMIT_DEFAULT,
        validate=f.Range(min=v.PAGE_LIMIT_MIN, max=v.PAGE_LIMIT_MAX),
    )
    cursor = f.String()


class UserQuerySchema(PageQuerySchema):
    q = _text(v.SEARCH_MAX_LENGTH)


class ProjectCreateSchema(RequestSchema):
    name = _text(v.PROJECT_NAME_MAX_LENGTH, required=True)
    description = _text(v.PROJECT_DESCRIPTION_MAX_LENGTH, blank=True, load_default="")


class ProjectUpdateSchema(RequestSchema):
    name = _text(v.PROJECT_NAME_MAX_LENGTH)
    description = _text(v.PROJECT_DESCRIPTION_MAX_LENGTH, blank=True)


class MemberPutSchema(RequestSchema):
    role = f.Enum(Role, required=True)


class LabelCreateSchema(RequestSchema):
    name = _text(v.LABEL_NAME_MAX_LENGTH, required=True)
    color = _color(required=True)


def _label_ids(**kwargs: object) -> f.List:
    return f.List(f.UUID(), validate=[f.Length(max=v.TASK_LABELS_MAX_ITEMS), f.Unique()], **kwargs)


class TaskCreateSchema(RequestSchema):
    title = _text(v.TASK_TITLE_MAX_LENGTH, required=True)
    description = _text(v.TASK_DESCRIPTION_MAX_LENGTH, blank=True, load_default="")
    status = f.Enum(TaskStatus, load_default=TaskStatus.TODO)
    priority = f.Enum(TaskPriority, load_default=TaskPriority.MEDIUM)
    assignee_id = f.UUID(allow_none=True, load_default=None)
    due_date = f.Date(allow_none=True, load_default=None)
    label_ids = _label_ids(load_default=list)


class TaskUpdateSchema(RequestSchema):
    """Absent = unchanged; `null` clears assignee_id / due_date; label_ids replaces the set."""

    title = _text(v.TASK_TITLE_MAX_LENGTH)
    description = _text(v.TASK_DESCRIPTION_MAX_LENGTH, blank=True)
    status = f.Enum(TaskStatus)
    priority = f.Enum(TaskPriority)
    assignee_id = f.UUID(allow_none=True)
    due_date = f.Date(allow_none=True)
    label_ids = _label_ids()


class TaskQuerySchema(PageQuerySchema):
    status = f.List(f.Enum(TaskStatus))
    priority = f.List(f.Enum(TaskPriority))
    assignee_id = f.UUID()
    label_id = f.UUID()
    due_before = f.Date()
    q = _text(v.SEARCH_MAX_LENGTH)
    sort = f.Enum(TaskSort, load_default=TaskSort.NEWEST)

    @ma.post_load
    def task_filters(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """`limit` and `cursor` page the list; the rest says which list (shared.tasklist)."""
        page = {"limit": data.pop("limit"), "cursor": data.pop("cursor", None)}
        return {**page, "filters": TaskFilters(**data)}


class EventsQuerySchema(RequestSchema):
    """streamProjectEvents' query. The token is read by security.authenticate (before
    validation); the `Last-Event-ID` header, which wins over `last_event_id`, by validation."""

    access_token = f.String()
    last_event_id = f.QueryInteger(validate=f.Range(min=0, max=SEQ_MAX))


class NotificationQuerySchema(PageQuerySchema):
    unread = f.QueryBoolean()


class AssistantQuestionSchema(RequestSchema):
    question = _text(v.ASSISTANT_QUESTION_MAX_LENGTH, required=True)
    stream = f.Boolean(load_default=v.ASSISTANT_STREAM_DEFAULT)


class CommentBodySchema(RequestSchema):
    body = _text(v.COMMENT_BODY_MAX_LENGTH, required=True)


class CommentCreateSchema(CommentBodySchema):
    pass


class CommentUpdateSchema(CommentBodySchema):
    pass


class IfMatchSchema(RequestSchema):
    if_match = f.String(data_key="If-Match")


# ============================================================================ responses


class TokenSchema(ResponseSchema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, validate=f.OneOf(["bearer"]))
    expires_in = ma.fields.Integer(required=True)


class UserSummarySchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    email = _email(required=True)
    display_name = _text(v.DISPLAY_NAME_MAX_LENGTH, required=True)


class UserSchema(UserSummarySchema):
    is_admin = ma.fields.Boolean(required=True)
    created_at = f.Timestamp(required=True)


class PageSchema(ResponseSchema):
    next_cursor = ma.fields.String(required=True, allow_none=True)


class UserPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(UserSchema), required=True)


class TaskCountsSchema(ResponseSchema):
    todo = ma.fields.Integer(required=True, validate=f.Range(min=0))
    in_progress = ma.fields.Integer(required=True, validate=f.Range(min=0))
    done = ma.fields.Integer(required=True, validate=f.Range(min=0))


class ProjectSchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    name = _text(v.PROJECT_NAME_MAX_LENGTH, required=True)
    description = _text(v.PROJECT_DESCRIPTION_MAX_LENGTH, blank=True, required=True)
    created_at = f.Timestamp(required=True)
    updated_at = f.Timestamp(required=True)
    version = ma.fields.Integer(required=True, validate=f.Range(min=1))
    my_role = f.Enum(Role, required=True)
    task_counts = ma.fields.Nested(TaskCountsSchema, required=True)


class ProjectPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ProjectSchema), required=True)


class MemberSchema(ResponseSchema):
    user = ma.fields.Nested(UserSummarySchema, required=True)
    role = f.Enum(Role, required=True)
    added_at = f.Timestamp(required=True)


class MemberListSchema(ResponseSchema):
    items = ma.fields.List(ma.fields.Nested(MemberSchema), required=True)


class LabelSchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    name = _text(v.LABEL_NAME_MAX_LENGTH, required=True)
    color = _color(required=True)


class LabelListSchema(ResponseSchema):
    items = ma.fields.List(ma.fields.Nested(LabelSchema), required=True)


class TaskSchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    project_id = ma.fields.UUID(required=True)
    title = _text(v.TASK_TITLE_MAX_LENGTH, required=True)
    description = _text(v.TASK_DESCRIPTION_MAX_LENGTH, blank=True, required=True)
    status = f.Enum(TaskStatus, required=True)
    priority = f.Enum(TaskPriority, required=True)
    assignee = ma.fields.Nested(UserSummarySchema, required=True, allow_none=True)
    labels = ma.fields.List(ma.fields.Nested(LabelSchema), required=True)
    due_date = ma.fields.Date(required=True, allow_none=True)
    created_by = ma.fields.Nested(UserSummarySchema, required=True)
    created_at = f.Timestamp(required=True)
    updated_at = f.Timestamp(required=True)
    version = ma.fields.Integer(required=True, validate=f.Range(min=1))
    comment_count = ma.fields.Integer(required=True, validate=f.Range(min=0))


class TaskPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)


class CommentSchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    task_id = ma.fields.UUID(required=True)
    author = ma.fields.Nested(UserSummarySchema, required=True)
    body = _text(v.COMMENT_BODY_MAX_LENGTH, required=True)
    created_at = f.Timestamp(required=True)
    updated_at = f.Timestamp(required=True)


class CommentPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(CommentSchema), required=True)


class ActivitySchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    project_id = ma.fields.UUID(required=True)
    actor = ma.fields.Nested(UserSummarySchema, required=True)
    verb = f.Enum(ActivityVerb, required=True)
    target_type = f.Enum(ActivityTargetType, required=True)
    target_id = ma.fields.UUID(required=True)
    changes = f.Changes(required=True)
    created_at = f.Timestamp(required=True)


class ActivityPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ActivitySchema), required=True)


class NotificationSchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    kind = f.Enum(NotificationKind, required=True)
    task_id = ma.fields.UUID(required=True)
    project_id = ma.fields.UUID(required=True)
    actor = ma.fields.Nested(UserSummarySchema, required=True)
    read = ma.fields.Boolean(required=True)
    created_at = f.Timestamp(required=True)


class NotificationPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema), required=True)


class AssistantUsageSchema(ResponseSchema):
    prompt_tokens = ma.fields.Integer(required=True, validate=f.Range(min=0))
    completion_tokens = ma.fields.Integer(required=True, validate=f.Range(min=0))


class AssistantAnswerSchema(ResponseSchema):
    answer = ma.fields.String(required=True)
    model = ma.fields.String(required=True)
    usage = ma.fields.Nested(AssistantUsageSchema, required=True)


class HealthSchema(ResponseSchema):
    status = ma.fields.String(required=True, validate=f.OneOf(["ok"]))


# ---------------------------------------------------------------------------- problems
# Documentation only: errors.py builds problem bodies with shared.problems.


class ProblemSchema(ResponseSchema):
    type = ma.fields.String(required=True, validate=f.OneOf(["about:blank"]))
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True, validate=f.Range(min=400, max=599))
    detail = ma.fields.String(required=True)


class ValidationErrorSchema(ResponseSchema):
    loc = f.Loc(required=True, validate=f.Length(min=1))
    type = ma.fields.String(required=True, validate=f.OneOf(sorted(CONTRACT_ERROR_TYPES)))
    msg = ma.fields.String(required=True)


class ValidationProblemSchema(ProblemSchema):
    errors = ma.fields.List(ma.fields.Nested(ValidationErrorSchema), required=True)

"""marshmallow schemas: what requests may carry (RequestSchema: unknown fields are an error) and
what responses contain (ResponseSchema: never loaded, only dumped and documented).

Bounds, patterns and enums are validators, so apispec documents exactly what is enforced; the
fields and validators come from fields.py, which reports the contract's error types."""

from __future__ import annotations

import marshmallow as ma

from impl_flask import fields as f
from shared import vocabulary
from shared.problems import ERROR_TYPES

ROLES = ("viewer", "editor", "owner")
TASK_STATUSES = ("todo", "in_progress", "done")
TASK_PRIORITIES = ("low", "medium", "high", "urgent")
TASK_SORTS = ("-created_at", "created_at", "due_date", "-due_date", "priority", "-priority")
ACTIVITY_VERBS = (
    "project.created",
    "project.updated",
    "member.added",
    "member.updated",
    "member.removed",
    "label.created",
    "label.deleted",
    "task.created",
    "task.updated",
    "task.deleted",
    "comment.created",
    "comment.updated",
    "comment.deleted",
)
TARGET_TYPES = ("project", "member", "label", "task", "comment")
COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


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
        validate=[f.Length(max=vocabulary.EMAIL_MAX_LENGTH), f.Regexp(vocabulary.EMAIL_PATTERN)],
        **kwargs,
    )


def _display_name(**kwargs: object) -> f.String:
    return f.String(validate=f.Length(min=1, max=vocabulary.DISPLAY_NAME_MAX_LENGTH), **kwargs)


# ============================================================================ requests


class TokenRequestSchema(RequestSchema):
    """OAuth2 password grant form; `username` is the email."""

    grant_type = f.String(validate=f.Regexp(r"^password$"))
    username = f.String(required=True)
    password = f.String(required=True)
    scope = f.String()  # accepted and ignored


class UserCreateSchema(RequestSchema):
    email = _email(required=True)
    display_name = _display_name(required=True)
    password = f.String(
        required=True,
        validate=f.Length(min=vocabulary.PASSWORD_MIN_LENGTH, max=vocabulary.PASSWORD_MAX_LENGTH),
    )
    is_admin = f.Boolean(load_default=False)


class PageQuerySchema(RequestSchema):
    limit = f.QueryInteger(
        load_default=DEFAULT_PAGE_SIZE, validate=f.Range(min=1, max=MAX_PAGE_SIZE)
    )
    cursor = f.String()


class UserQuerySchema(PageQuerySchema):
    q = f.String(validate=f.Length(min=1, max=100))


class ProjectCreateSchema(RequestSchema):
    name = f.String(required=True, validate=f.Length(min=1, max=200))
    description = f.String(load_default="", validate=f.Length(max=2000))


class ProjectUpdateSchema(RequestSchema):
    name = f.String(validate=f.Length(min=1, max=200))
    description = f.String(validate=f.Length(max=2000))


class MemberPutSchema(RequestSchema):
    role = f.String(required=True, validate=f.OneOf(ROLES))


class LabelCreateSchema(RequestSchema):
    name = f.String(required=True, validate=f.Length(min=1, max=50))
    color = f.String(required=True, validate=f.Regexp(COLOR_PATTERN))


def _label_ids(**kwargs: object) -> f.List:
    return f.List(f.UUID(), validate=[f.Length(max=20), f.Unique()], **kwargs)


class TaskCreateSchema(RequestSchema):
    title = f.String(required=True, validate=f.Length(min=1, max=200))
    description = f.String(load_default="", validate=f.Length(max=10000))
    status = f.String(load_default="todo", validate=f.OneOf(TASK_STATUSES))
    priority = f.String(load_default="medium", validate=f.OneOf(TASK_PRIORITIES))
    assignee_id = f.UUID(allow_none=True, load_default=None)
    due_date = f.Date(allow_none=True, load_default=None)
    label_ids = _label_ids(load_default=list)


class TaskUpdateSchema(RequestSchema):
    """Absent = unchanged; `null` clears assignee_id / due_date; label_ids replaces the set."""

    title = f.String(validate=f.Length(min=1, max=200))
    description = f.String(validate=f.Length(max=10000))
    status = f.String(validate=f.OneOf(TASK_STATUSES))
    priority = f.String(validate=f.OneOf(TASK_PRIORITIES))
    assignee_id = f.UUID(allow_none=True)
    due_date = f.Date(allow_none=True)
    label_ids = _label_ids()


class TaskQuerySchema(PageQuerySchema):
    status = f.List(f.String(validate=f.OneOf(TASK_STATUSES)))
    priority = f.List(f.String(validate=f.OneOf(TASK_PRIORITIES)))
    assignee_id = f.UUID()
    label_id = f.UUID()
    due_before = f.Date()
    q = f.String(validate=f.Length(min=1, max=100))
    sort = f.String(load_default="-created_at", validate=f.OneOf(TASK_SORTS))


class CommentBodySchema(RequestSchema):
    body = f.String(required=True, validate=f.Length(min=1, max=5000))


class CommentCreateSchema(CommentBodySchema):
    pass


class CommentUpdateSchema(CommentBodySchema):
    pass


class IfMatchSchema(RequestSchema):
    if_match = f.String(data_key="If-Match")


class IfNoneMatchSchema(RequestSchema):
    if_none_match = f.String(data_key="If-None-Match")


# ============================================================================ responses


class TokenSchema(ResponseSchema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, validate=f.OneOf(["bearer"]))
    expires_in = ma.fields.Integer(required=True)


class UserSummarySchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    email = _email(required=True)
    display_name = _display_name(required=True)


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
    name = ma.fields.String(required=True, validate=f.Length(min=1, max=200))
    description = ma.fields.String(required=True, validate=f.Length(max=2000))
    created_at = f.Timestamp(required=True)
    updated_at = f.Timestamp(required=True)
    version = ma.fields.Integer(required=True, validate=f.Range(min=1))
    my_role = ma.fields.String(required=True, validate=f.OneOf(ROLES))
    task_counts = ma.fields.Nested(TaskCountsSchema, required=True)


class ProjectPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ProjectSchema), required=True)


class MemberSchema(ResponseSchema):
    user = ma.fields.Nested(UserSummarySchema, required=True)
    role = ma.fields.String(required=True, validate=f.OneOf(ROLES))
    added_at = f.Timestamp(required=True)


class MemberListSchema(ResponseSchema):
    items = ma.fields.List(ma.fields.Nested(MemberSchema), required=True)


class LabelSchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True, validate=f.Length(min=1, max=50))
    color = ma.fields.String(required=True, validate=f.Regexp(COLOR_PATTERN))


class LabelListSchema(ResponseSchema):
    items = ma.fields.List(ma.fields.Nested(LabelSchema), required=True)


class TaskSchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    project_id = ma.fields.UUID(required=True)
    title = ma.fields.String(required=True, validate=f.Length(min=1, max=200))
    description = ma.fields.String(required=True, validate=f.Length(max=10000))
    status = ma.fields.String(required=True, validate=f.OneOf(TASK_STATUSES))
    priority = ma.fields.String(required=True, validate=f.OneOf(TASK_PRIORITIES))
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
    body = ma.fields.String(required=True, validate=f.Length(min=1, max=5000))
    created_at = f.Timestamp(required=True)
    updated_at = f.Timestamp(required=True)


class CommentPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(CommentSchema), required=True)


class ActivitySchema(ResponseSchema):
    id = ma.fields.UUID(required=True)
    project_id = ma.fields.UUID(required=True)
    actor = ma.fields.Nested(UserSummarySchema, required=True)
    verb = ma.fields.String(required=True, validate=f.OneOf(ACTIVITY_VERBS))
    target_type = ma.fields.String(required=True, validate=f.OneOf(TARGET_TYPES))
    target_id = ma.fields.UUID(required=True)
    changes = f.Changes(required=True)
    created_at = f.Timestamp(required=True)


class ActivityPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ActivitySchema), required=True)


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
    type = ma.fields.String(required=True, validate=f.OneOf(sorted(ERROR_TYPES)))
    msg = ma.fields.String(required=True)


class ValidationProblemSchema(ProblemSchema):
    errors = ma.fields.List(ma.fields.Nested(ValidationErrorSchema), required=True)

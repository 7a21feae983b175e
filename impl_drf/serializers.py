"""Serializers: request bodies and query strings in (strict, explicit fields), resources out.

Request bodies derive from `StrictSerializer` and use the strict fields of impl_drf.fields, so
unknown keys and lax types are rejected the same way everywhere. Output serializers are
read-only ModelSerializers with explicit field lists; the rows they render come from
impl_drf.selectors with their relations and aggregates already loaded.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import models as django_models
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from impl_drf import models
from impl_drf.fields import (
    BooleanQueryField,
    ChoiceQueryField,
    DateQueryField,
    IntegerQueryField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDateField,
    StrictListField,
    StrictSerializer,
    StrictUUIDField,
    TimestampField,
    UUIDQueryField,
)
from impl_drf.models import choices
from impl_drf.selectors import TaskRow
from impl_drf.validation import CONTRACT_ERROR_TYPES
from shared import vocabulary
from shared.timefmt import format_date, format_timestamp
from shared.vocabulary import Role, TaskPriority, TaskSort, TaskStatus

# --------------------------------------------------------------------------- request bodies


class TokenRequestSerializer(StrictSerializer):
    """OAuth2 password grant form (`username` is the email). U+0000 in the credentials is a
    failed sign-in, not a 422 (impl_drf.validation, impl_drf.services.auth)."""

    nul_tolerant = ("username", "password")

    grant_type = StrictCharField(required=False, pattern=vocabulary.GRANT_TYPE_PATTERN)
    username = StrictCharField()
    password = StrictCharField()
    scope = StrictCharField(required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # An HTML form sends an empty input as `name=`: that field was not filled in.
        if hasattr(data, "items"):
            data = {key: value for key, value in data.items() if value != ""}
        return super().to_internal_value(data)


class UserCreateSerializer(StrictSerializer):
    email = StrictCharField(
        max_length=vocabulary.EMAIL_MAX_LENGTH, pattern=vocabulary.EMAIL_PATTERN
    )
    display_name = StrictCharField(min_length=1, max_length=vocabulary.DISPLAY_NAME_MAX_LENGTH)
    password = StrictCharField(
        min_length=vocabulary.PASSWORD_MIN_LENGTH, max_length=vocabulary.PASSWORD_MAX_LENGTH
    )
    is_admin = StrictBooleanField(default=False)


class ProjectCreateSerializer(StrictSerializer):
    name = StrictCharField(min_length=1, max_length=vocabulary.PROJECT_NAME_MAX_LENGTH)
    description = StrictCharField(max_length=vocabulary.PROJECT_DESCRIPTION_MAX_LENGTH, default="")


class ProjectUpdateSerializer(StrictSerializer):
    """Absent fields are unchanged."""

    name = StrictCharField(
        min_length=1, max_length=vocabulary.PROJECT_NAME_MAX_LENGTH, required=False
    )
    description = StrictCharField(
        max_length=vocabulary.PROJECT_DESCRIPTION_MAX_LENGTH, required=False
    )


class MemberPutSerializer(StrictSerializer):
    role = StrictChoiceField(choices=choices(Role))


class LabelCreateSerializer(StrictSerializer):
    name = StrictCharField(min_length=1, max_length=vocabulary.LABEL_NAME_MAX_LENGTH)
    color = StrictCharField(pattern=vocabulary.COLOR_PATTERN)


class TaskCreateSerializer(StrictSerializer):
    title = StrictCharField(min_length=1, max_length=vocabulary.TASK_TITLE_MAX_LENGTH)
    description = StrictCharField(max_length=vocabulary.TASK_DESCRIPTION_MAX_LENGTH, default="")
    status = StrictChoiceField(choices=choices(TaskStatus), default=TaskStatus.TODO.value)
    priority = StrictChoiceField(choices=choices(TaskPriority), default=TaskPriority.MEDIUM.value)
    assignee_id = StrictUUIDField(allow_null=True, default=None)
    due_date = StrictDateField(allow_null=True, default=None)
    label_ids = StrictListField(
        child=StrictUUIDField(),
        max_length=vocabulary.TASK_LABELS_MAX_ITEMS,
        unique=True,
        default=list,
    )


class TaskUpdateSerializer(StrictSerializer):
    """Any subset of the create fields: absent = unchanged, null clears."""

    title = StrictCharField(
        min_length=1, max_length=vocabulary.TASK_TITLE_MAX_LENGTH, required=False
    )
    description = StrictCharField(max_length=vocabulary.TASK_DESCRIPTION_MAX_LENGTH, required=False)
    status = StrictChoiceField(choices=choices(TaskStatus), required=False)
    priority = StrictChoiceField(choices=choices(TaskPriority), required=False)
    assignee_id = StrictUUIDField(allow_null=True, required=False)
    due_date = StrictDateField(allow_null=True, required=False)
    label_ids = StrictListField(
        child=StrictUUIDField(),
        max_length=vocabulary.TASK_LABELS_MAX_ITEMS,
        unique=True,
        required=False,
    )


class CommentWriteSerializer(StrictSerializer):
    body = StrictCharField(min_length=1, max_length=vocabulary.COMMENT_BODY_MAX_LENGTH)


# --------------------------------------------------------------------------- query strings
# Unknown query parameters are ignored (plain Serializers, not StrictSerializer).


class AssistantQuestionSerializer(StrictSerializer):
    question = StrictCharField(min_length=1, max_length=vocabulary.ASSISTANT_QUESTION_MAX_LENGTH)
    stream = StrictBooleanField(
        default=vocabulary.ASSISTANT_STREAM_DEFAULT,
        help_text="`true`: `text/event-stream` (`token` events, then `done`); `false`: one JSON "
        "AssistantAnswer.",
    )


class PageQuerySerializer(serializers.Serializer):
    limit = IntegerQueryField(
        min_value=vocabulary.PAGE_LIMIT_MIN,
        max_value=vocabulary.PAGE_LIMIT_MAX,
        default=vocabulary.PAGE_LIMIT_DEFAULT,
        help_text="Page size.",
    )
    cursor = StrictCharField(required=False, help_text="`next_cursor` of the previous page.")


class UserListQuerySerializer(PageQuerySerializer):
    q = StrictCharField(
        min_length=1,
        max_length=vocabulary.SEARCH_MAX_LENGTH,
        required=False,
        help_text="Case-insensitive prefix of the email or the display name.",
    )


class TaskListQuerySerializer(PageQuerySerializer):
    status = serializers.ListField(
        child=serializers.ChoiceField(choices(TaskStatus)),
        required=False,
        help_text="Any of these statuses.",
    )
    priority = serializers.ListField(
        child=serializers.ChoiceField(choices(TaskPriority)),
        required=False,
        help_text="Any of these priorities.",
    )
    assignee_id = UUIDQueryField(required=False, help_text="Assigned to this user.")
    label_id = UUIDQueryField(required=False, help_text="Has this label.")
    due_before = DateQueryField(required=False, help_text="Due strictly before this date.")
    q = StrictCharField(
        min_length=1,
        max_length=vocabulary.SEARCH_MAX_LENGTH,
        required=False,
        help_text="Case-insensitive substring of the title.",
    )
    sort = ChoiceQueryField(
        choices(TaskSort), default=TaskSort.NEWEST.value, help_text="Sort order."
    )


class NotificationListQuerySerializer(PageQuerySerializer):
    unread = BooleanQueryField(
        required=False,
        help_text="`true`: unread notifications only; `false`: read ones only; absent: all.",
    )


# --------------------------------------------------------------------------- resources


class ResourceSerializer(serializers.ModelSerializer):
    """Output only. Timestamps in the one wire format."""

    # (A comment, not the docstring: drf-spectacular publishes docstrings as descriptions.)
    # A ModelSerializer builds its fields from the model for every instance (the model's field
    # info, then a field class, its kwargs and validators per field): more than a millisecond
    # per response for a task, as much as rendering a page of twenty. These fields depend only
    # on the class, so each class builds them once per process and every instance gets a copy,
    # as `Serializer.get_fields` copies declared fields.

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        django_models.DateTimeField: TimestampField,
        django_models.DateField: StrictDateField,
    }

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:  # two threads may both build them: the same fields
            built = cls._built_fields = super().get_fields()
        fields = copy.deepcopy(built)  # a copy is made from the field's arguments, so:
        for field in fields.values():
            field.read_only = True
        return fields


class UserSummarySerializer(ResourceSerializer):
    class Meta:
        model = models.User
        fields = ["id", "email", "display_name"]


class UserSerializer(ResourceSerializer):
    class Meta:
        model = models.User
        fields = ["id", "email", "display_name", "is_admin", "created_at"]


class TokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=[("bearer", "bearer")])
    expires_in = serializers.IntegerField()


class TaskCountsSerializer(serializers.Serializer):
    """A project's `project_task_counts` row (impl_drf.models.ProjectTaskCounts)."""

    todo = serializers.IntegerField(min_value=0)
    in_progress = serializers.IntegerField(min_value=0)
    done = serializers.IntegerField(min_value=0)


class ProjectSerializer(ResourceSerializer):
    """A project as the caller sees it: `my_role` is an annotation and `task_counts` a joined
    row (impl_drf.selectors.projects_for)."""

    my_role = serializers.ChoiceField(choices=choices(Role))
    task_counts = TaskCountsSerializer()

    class Meta:
        model = models.Project
        fields = [
            "id",
            "name",
            "description",
            "created_at",
            "updated_at",
            "version",
            "my_role",
            "task_counts",
        ]
        extra_kwargs = {"version": {"min_value": 1, "max_value": None}}


class MemberSerializer(ResourceSerializer):
    user = UserSummarySerializer()

    class Meta:
        model = models.ProjectMember
        fields = ["user", "role", "added_at"]


@extend_schema_serializer(many=False)  # an envelope, though it answers a `list` action
class MemberListSerializer(serializers.Serializer):
    items = MemberSerializer(many=True, help_text="By display name, then user id.")


class LabelSerializer(ResourceSerializer):
    class Meta:
        model = models.Label
        fields = ["id", "name", "color"]


@extend_schema_serializer(many=False)
class LabelListSerializer(serializers.Serializer):
    items = LabelSerializer(many=True, help_text="By name, then id.")


class TaskSerializer(ResourceSerializer):
    project_id = serializers.UUIDField()
    assignee = UserSummarySerializer(allow_null=True)
    labels = LabelSerializer(many=True, source="ordered_labels")  # impl_drf.selectors
    created_by = UserSummarySerializer()
    comment_count = serializers.IntegerField(min_value=0)

    class Meta:
        model = models.Task
        fields = [
            "id",
            "project_id",
            "title",
            "description",
            "status",
            "priority",
            "assignee",
            "labels",
            "due_date",
            "created_by",
            "created_at",
            "updated_at",
            "version",
            "comment_count",
        ]
        extra_kwargs = {"version": {"min_value": 1, "max_value": None}}

    def to_representation(self, instance: TaskRow) -> dict[str, Any]:
        # The fields above describe a task (drf-spectacular documents them); every task this
        # API answers is a row of impl_drf.selectors (TASK_ROW_FIELDS, `comment_count`,
        # `labels`), rendered here: DRF's field-by-field rendering cost ~440 Python calls per
        # task. impl_drf/tests/test_serializers.py checks this equals what the fields render
        # (ModelSerializer.to_representation) from the same task as a model, for every shape.
        row = instance
        assignee_id = row["assignee_id"]
        return {
            "id": str(row["id"]),
            "project_id": str(row["project_id"]),
            "title": row["title"],
            "description": row["description"],
            "status": row["status"],
            "priority": row["priority"],
            "assignee": None
            if assignee_id is None
            else {
                "id": str(assignee_id),
                "email": row["assignee__email"],
                "display_name": row["assignee__display_name"],
            },
            "labels": [
                {"id": str(label.id), "name": label.name, "color": label.color}
                for label in row["labels"]
            ],
            "due_date": None if row["due_date"] is None else format_date(row["due_date"]),
            "created_by": {
                "id": str(row["created_by_id"]),
                "email": row["created_by__email"],
                "display_name": row["created_by__display_name"],
            },
            "created_at": format_timestamp(row["created_at"]),
            "updated_at": format_timestamp(row["updated_at"]),
            "version": row["version"],
            "comment_count": row["comment_count"],
        }


class CommentSerializer(ResourceSerializer):
    task_id = serializers.UUIDField()
    author = UserSummarySerializer()

    class Meta:
        model = models.Comment
        fields = ["id", "task_id", "author", "body", "created_at", "updated_at"]


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2}}
)
class ChangesField(serializers.JSONField):
    """`{field: [old, new]}`, values in request form (shared.changes.diff)."""


class ActivitySerializer(ResourceSerializer):
    project_id = serializers.UUIDField()
    actor = UserSummarySerializer()
    changes = ChangesField()

    class Meta:
        model = models.Activity
        fields = [
            "id",
            "project_id",
            "actor",
            "verb",
            "target_type",
            "target_id",
            "changes",
            "created_at",
        ]


class NotificationSerializer(ResourceSerializer):
    project_id = serializers.UUIDField()
    actor = UserSummarySerializer()
    read = serializers.BooleanField()

    class Meta:
        model = models.Notification
        fields = ["id", "kind", "task_id", "project_id", "actor", "read", "created_at"]


class AssistantUsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField(min_value=0)
    completion_tokens = serializers.IntegerField(min_value=0)


class AssistantAnswerSerializer(serializers.Serializer):
    """The whole answer (`stream: false`), as shared.assistant makes it."""

    answer = serializers.CharField()
    model = serializers.CharField()
    usage = AssistantUsageSerializer()


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("ok", "ok")])


# --------------------------------------------------------------------------- problems (docs)


@extend_schema_field({"type": ["string", "integer"]})
class LocPartField(serializers.JSONField):
    """A field name or a list index."""


# Named in SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES: both enums sit on a field called `type`.
PROBLEM_TYPES = [("about:blank", "about:blank")]
VALIDATION_ERROR_TYPES = sorted((t, t) for t in CONTRACT_ERROR_TYPES)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (`application/problem+json`)."""

    type = serializers.ChoiceField(choices=PROBLEM_TYPES)
    title = serializers.CharField()
    status = serializers.IntegerField(min_value=400, max_value=599)
    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    loc = serializers.ListField(child=LocPartField(), min_length=1)
    type = serializers.ChoiceField(choices=VALIDATION_ERROR_TYPES)
    msg = serializers.CharField()


class ValidationProblemSerializer(ProblemSerializer):
    """A 422 problem; lists every violation."""

    errors = ValidationErrorSerializer(many=True)

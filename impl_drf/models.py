"""Django models over the shared schema (shared/migrations/0001_core.sql owns the DDL).

Every model is `managed = False`: Django never creates, alters or migrates these tables, and
tests/test_models_match_schema.py checks each model against the live table. Values the
database generates (ids, timestamps, `version`, `priority_rank`, `activity.seq`) are declared
with `db_default` / as generated fields, so Django leaves them to the database on INSERT and
reads them back with RETURNING. Foreign keys say what the schema's ON DELETE does
(DB_CASCADE / DB_SET_NULL), so deletes are one statement and the database cascades. Field
constraints (`max_length`, validators) repeat the schema's CHECKs so that serializers and the
generated OpenAPI document carry them.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.postgres.functions import RandomUUID
from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models
from django.db.models.functions import Now

from shared import vocabulary
from shared.vocabulary import (
    ActivityTargetType,
    ActivityVerb,
    NotificationKind,
    Role,
    TaskPriority,
    TaskStatus,
)

EMAIL_VALIDATOR = RegexValidator(vocabulary.EMAIL_PATTERN)
COLOR_VALIDATOR = RegexValidator(vocabulary.COLOR_PATTERN)
NOT_EMPTY = MinLengthValidator(1)


def choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """A vocabulary enum (shared.vocabulary) as Django `choices`: (wire value, member name) —
    the pairs drf-spectacular makes of an Enum class in ENUM_NAME_OVERRIDES, so the generated
    document names each enum after its shared class (impl_drf.settings)."""
    return [(member.value, member.name) for member in enum]


def _uuid_pk() -> models.UUIDField:
    return models.UUIDField(primary_key=True, db_default=RandomUUID(), editable=False)


def _created_now() -> models.DateTimeField:
    return models.DateTimeField(db_default=Now(), editable=False)


class IdentityField(models.BigIntegerField):
    """A `GENERATED ALWAYS AS IDENTITY` column: never written by Django, read back on INSERT."""

    generated = True
    db_returning = True
    referenced_fields: frozenset[str] = frozenset()


class User(models.Model):
    """A Taskboard account. Not django.contrib.auth's user: the schema is shared/'s, and the
    API authenticates with its own JWTs (impl_drf.security)."""

    id = _uuid_pk()
    email = models.TextField(
        unique=True, max_length=vocabulary.EMAIL_MAX_LENGTH, validators=[EMAIL_VALIDATOR]
    )
    display_name = models.TextField(
        max_length=vocabulary.DISPLAY_NAME_MAX_LENGTH, validators=[NOT_EMPTY], db_collation="C"
    )
    password_hash = models.TextField()
    is_admin = models.BooleanField(db_default=False)
    created_at = _created_now()

    # DRF's IsAuthenticated asks the request's user this; any User on a request is signed in.
    is_authenticated = True

    class Meta:
        managed = False
        db_table = "users"

    def __str__(self) -> str:
        return self.email


class Project(models.Model):
    id = _uuid_pk()
    name = models.TextField(max_length=vocabulary.PROJECT_NAME_MAX_LENGTH, validators=[NOT_EMPTY])
    description = models.TextField(
        max_length=vocabulary.PROJECT_DESCRIPTION_MAX_LENGTH, db_default=""
    )
    created_by = models.ForeignKey(
        User, models.DO_NOTHING, db_column="created_by", related_name="+"
    )
    created_at = _created_now()
    updated_at = models.DateTimeField(db_default=Now())
    version = models.IntegerField(db_default=1)
    members = models.ManyToManyField(User, through="ProjectMember", related_name="projects")

    class Meta:
        managed = False
        db_table = "projects"

    def __str__(self) -> str:
        return self.name


class ProjectTaskCounts(models.Model):
    """A project's tasks per status, kept by the database in the task write's transaction
    (shared/migrations/0002_task_counts.sql): read-only here, joined into every project read
    (impl_drf.selectors.projects_for)."""

    project = models.OneToOneField(
        Project, models.DB_CASCADE, primary_key=True, related_name="task_counts"
    )
    todo = models.IntegerField(db_default=0)
    in_progress = models.IntegerField(db_default=0)
    done = models.IntegerField(db_default=0)

    class Meta:
        managed = False
        db_table = "project_task_counts"


class ProjectMember(models.Model):
    pk = models.CompositePrimaryKey("project_id", "user_id")
    project = models.ForeignKey(Project, models.DB_CASCADE, related_name="memberships")
    user = models.ForeignKey(User, models.DB_CASCADE, related_name="memberships")
    role = models.TextField(choices=choices(Role))
    added_at = _created_now()

    class Meta:
        managed = False
        db_table = "project_members"


class Label(models.Model):
    id = _uuid_pk()
    project = models.ForeignKey(Project, models.DB_CASCADE, related_name="labels")
    name = models.TextField(
        max_length=vocabulary.LABEL_NAME_MAX_LENGTH, validators=[NOT_EMPTY], db_collation="C"
    )
    color = models.TextField(validators=[COLOR_VALIDATOR])
    created_at = _created_now()

    class Meta:
        managed = False
        db_table = "labels"

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    id = _uuid_pk()
    project = models.ForeignKey(Project, models.DB_CASCADE, related_name="tasks")
    title = models.TextField(max_length=vocabulary.TASK_TITLE_MAX_LENGTH, validators=[NOT_EMPTY])
    description = models.TextField(max_length=vocabulary.TASK_DESCRIPTION_MAX_LENGTH, db_default="")
    status = models.TextField(choices=choices(TaskStatus), db_default=TaskStatus.TODO.value)
    priority = models.TextField(choices=choices(TaskPriority), db_default=TaskPriority.MEDIUM.value)
    # The migration defines the rank; this expression only mirrors it so Django knows the
    # column is generated (never written). managed=False: Django never emits it as DDL.
    priority_rank = models.GeneratedField(
        expression=models.Case(
            *(
                models.When(priority=priority.value, then=models.Value(rank))
                for rank, priority in enumerate(TaskPriority)
            )
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
        null=True,  # the column has no NOT NULL, though the CASE always yields a value
    )
    assignee = models.ForeignKey(User, models.DB_SET_NULL, null=True, related_name="+")
    due_date = models.DateField(null=True)
    created_by = models.ForeignKey(
        User, models.DO_NOTHING, db_column="created_by", related_name="+"
    )
    created_at = _created_now()
    updated_at = models.DateTimeField(db_default=Now())
    version = models.IntegerField(db_default=1)
    labels = models.ManyToManyField(Label, through="TaskLabel", related_name="tasks")

    class Meta:
        managed = False
        db_table = "tasks"

    def __str__(self) -> str:
        return self.title


class TaskLabel(models.Model):
    pk = models.CompositePrimaryKey("task_id", "label_id")
    task = models.ForeignKey(Task, models.DB_CASCADE)
    label = models.ForeignKey(Label, models.DB_CASCADE)

    class Meta:
        managed = False
        db_table = "task_labels"


class Comment(models.Model):
    id = _uuid_pk()
    task = models.ForeignKey(Task, models.DB_CASCADE, related_name="comments")
    author = models.ForeignKey(User, models.DO_NOTHING, related_name="+")
    body = models.TextField(max_length=vocabulary.COMMENT_BODY_MAX_LENGTH, validators=[NOT_EMPTY])
    created_at = _created_now()
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        managed = False
        db_table = "comments"


class Activity(models.Model):
    id = _uuid_pk()
    seq = IdentityField(unique=True)
    project = models.ForeignKey(Project, models.DB_CASCADE, related_name="activity")
    actor = models.ForeignKey(User, models.DO_NOTHING, related_name="+")
    verb = models.TextField(choices=choices(ActivityVerb))
    target_type = models.TextField(choices=choices(ActivityTargetType))
    target_id = models.UUIDField()
    changes = models.JSONField(db_default={})
    created_at = _created_now()

    class Meta:
        managed = False
        db_table = "activity"


class Notification(models.Model):
    """A `task.assigned` notification (migration 0006). Written only by the database function
    `notify_task_assigned()` in the assignment's transaction (impl_drf.services.tasks), never
    through this model; read by listNotifications, `read_at` set by markNotificationRead."""

    id = _uuid_pk()
    user = models.ForeignKey(User, models.DB_CASCADE, related_name="notifications")
    kind = models.TextField(choices=choices(NotificationKind))
    task_id = models.UUIDField()  # no foreign key: "you were assigned X" outlives X
    project = models.ForeignKey(Project, models.DB_CASCADE, related_name="+")
    actor = models.ForeignKey(User, models.DO_NOTHING, related_name="+")
    read_at = models.DateTimeField(null=True)
    created_at = _created_now()

    class Meta:
        managed = False
        db_table = "notifications"

    @property
    def read(self) -> bool:
        """The representation's `read`: markNotificationRead has been called."""
        return self.read_at is not None

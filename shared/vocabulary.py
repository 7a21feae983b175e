"""The contract's vocabulary, said once: its enums, the rank of a role, its field limits and
patterns (contract/openapi.yaml). Every implementation's schemas use these in their framework's
idiom (a Pydantic field, a msgspec constraint, a marshmallow validator, a DRF serializer field),
and so do the CLI and the demo data, so a limit or an enum value cannot drift between them.

Enum member names are the constants' spelling; their values are the wire's."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A member's role in a project; each includes what the ones below it may do."""

    VIEWER = "viewer"  # read, comment
    EDITOR = "editor"  # + create, update and delete tasks and labels
    OWNER = "owner"  # + update and delete the project, manage members

    @property
    def rank(self) -> int:
        return _ROLE_ORDER.index(self)

    def at_least(self, minimum: Role) -> bool:
        return self.rank >= minimum.rank


_ROLE_ORDER = (Role.VIEWER, Role.EDITOR, Role.OWNER)


class TaskStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class TaskPriority(StrEnum):
    """In rising order; the schema derives `tasks.priority_rank` (0-3) from the same order."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class TaskSort(StrEnum):
    """The task list's `sort` parameter; ties are broken by id in the same direction."""

    NEWEST = "-created_at"  # the default
    OLDEST = "created_at"
    DUE_SOONEST = "due_date"  # no due date last
    DUE_LATEST = "-due_date"  # no due date last
    PRIORITY_LOWEST = "priority"
    PRIORITY_HIGHEST = "-priority"


class ActivityVerb(StrEnum):
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


class ActivityTargetType(StrEnum):
    PROJECT = "project"
    MEMBER = "member"  # target_id is the member's user id
    LABEL = "label"
    TASK = "task"
    COMMENT = "comment"


class NotificationKind(StrEnum):
    """What a notification says happened (contract 1.2); also the webhook envelope's `type`."""

    TASK_ASSIGNED = "task.assigned"  # the recipient was made the task's assignee by the actor


# ------------------------------------------------------------------------ pagination

PAGE_LIMIT_MIN = 1
PAGE_LIMIT_MAX = 100
PAGE_LIMIT_DEFAULT = 20

# ------------------------------------------------------------------------ field limits

EMAIL_MAX_LENGTH = 254
# Whole-string patterns, as JSON Schema (ECMA-262) reads them. Python's `$` also matches before
# a final newline: match these with re.fullmatch, never re.match/re.search.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
DISPLAY_NAME_MAX_LENGTH = 100
PASSWORD_MIN_LENGTH = 15  # NIST SP 800-63B, single-factor
PASSWORD_MAX_LENGTH = 128

PROJECT_NAME_MAX_LENGTH = 200
PROJECT_DESCRIPTION_MAX_LENGTH = 2000

LABEL_NAME_MAX_LENGTH = 50
COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"

TASK_TITLE_MAX_LENGTH = 200
TASK_DESCRIPTION_MAX_LENGTH = 10000
TASK_LABELS_MAX_ITEMS = 20

COMMENT_BODY_MAX_LENGTH = 5000

SEARCH_MAX_LENGTH = 100  # `q` of the user and task lists

GRANT_TYPE_PATTERN = r"^password$"  # the token endpoint's only grant

# ------------------------------------------------------------------------ live part (1.2)

ASSISTANT_QUESTION_MAX_LENGTH = 2000
ASSISTANT_STREAM_DEFAULT = True  # askAssistant answers as text/event-stream unless told not to

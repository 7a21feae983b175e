"""Where the contract's resources live (contract/openapi.yaml `paths`): the API prefix and the
URL of each resource. Each builder takes the resource as the API returned it (a dict with an
`id`) or its id."""

from __future__ import annotations

import re
from typing import Any

API = "/api/v1"
TOKEN_URL = f"{API}/auth/token"
ME_URL = f"{API}/me"
USERS_URL = f"{API}/users"
PROJECTS_URL = f"{API}/projects"
NOTIFICATIONS_URL = f"{ME_URL}/notifications"

Ref = dict[str, Any] | str


def id_of(resource: Ref) -> str:
    return resource if isinstance(resource, str) else resource["id"]


def user_url(user: Ref) -> str:
    return f"{USERS_URL}/{id_of(user)}"


def project_url(project: Ref) -> str:
    return f"{PROJECTS_URL}/{id_of(project)}"


def members_url(project: Ref) -> str:
    return f"{project_url(project)}/members"


def member_url(project: Ref, user_id: str) -> str:
    return f"{members_url(project)}/{user_id}"


def labels_url(project: Ref) -> str:
    return f"{project_url(project)}/labels"


def label_url(project: Ref, label: Ref) -> str:
    return f"{labels_url(project)}/{id_of(label)}"


def tasks_url(project: Ref) -> str:
    return f"{project_url(project)}/tasks"


def activity_url(project: Ref) -> str:
    return f"{project_url(project)}/activity"


def events_url(project: Ref) -> str:
    return f"{project_url(project)}/events"


def notification_read_url(notification: Ref) -> str:
    return f"{NOTIFICATIONS_URL}/{id_of(notification)}/read"


def task_url(task: Ref) -> str:
    return f"{API}/tasks/{id_of(task)}"


def comments_url(task: Ref) -> str:
    return f"{task_url(task)}/comments"


def comment_url(comment: Ref) -> str:
    return f"{API}/comments/{id_of(comment)}"


def expand(template: str, default: str | None = None, **values: str) -> str:
    """A contract path template (`/api/v1/tasks/{task_id}`) with its `{name}`s filled in from
    `values`, else `default` (a KeyError names a placeholder with neither)."""
    return re.sub(
        r"\{([^}/]+)\}",
        lambda match: values.get(match.group(1)) or _required(default, match.group(1)),
        template,
    )


def _required(default: str | None, name: str) -> str:
    if default is None:
        raise KeyError(f"no value for {{{name}}}")
    return default

"""The contract's OpenAPI tags: the groups Swagger UI shows, in the contract's order and words.

One list for all four implementations, so their /docs read alike; the conformance suite checks
each generated document's `tags` against contract/openapi.yaml.
"""

from __future__ import annotations

from typing import Final

OPENAPI_TAGS: Final[tuple[dict[str, str], ...]] = (
    {"name": "auth", "description": "Access tokens (OAuth2 password grant, JWT HS256)."},
    {"name": "users", "description": "User accounts."},
    {
        "name": "projects",
        "description": "Projects; the caller's role and task counts are part of each.",
    },
    {"name": "members", "description": "Project membership and roles."},
    {"name": "labels", "description": "Per-project labels."},
    {"name": "tasks", "description": "Tasks of a project."},
    {"name": "comments", "description": "Comments on tasks."},
    {"name": "activity", "description": "Per-project audit trail of every change."},
    {"name": "events", "description": "A project's activity as it happens (Server-Sent Events)."},
    {"name": "notifications", "description": "The caller's notifications (task assignments)."},
    {
        "name": "assistant",
        "description": "Questions about a project, answered by a language model.",
    },
    {"name": "operations", "description": "Liveness and readiness probes (no token)."},
)

TAG_DESCRIPTIONS: Final[dict[str, str]] = {tag["name"]: tag["description"] for tag in OPENAPI_TAGS}

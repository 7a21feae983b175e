"""One flask-smorest Blueprint per resource; app.create_app registers them all."""

from __future__ import annotations

from impl_flask.routes import (
    activity,
    assistant,
    auth,
    comments,
    events,
    health,
    labels,
    members,
    notifications,
    projects,
    tasks,
    users,
)

BLUEPRINTS = [
    auth.blp,
    users.blp,
    projects.blp,
    members.blp,
    labels.blp,
    tasks.blp,
    comments.blp,
    activity.blp,
    events.blp,
    notifications.blp,
    assistant.blp,
    health.blp,
]

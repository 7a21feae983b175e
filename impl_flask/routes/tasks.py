"""Tasks (createTask, listTasks, getTask, updateTask, deleteTask)."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask import conditional
from impl_flask.db import TransactionalView
from impl_flask.openapi import (
    ETAG_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    IF_NONE_MATCH_PARAMETER,
    LOCATION_HEADER,
    Blueprint,
    response_name,
)
from impl_flask.schemas import (
    IfMatchSchema,
    TaskCreateSchema,
    TaskPageSchema,
    TaskQuerySchema,
    TaskSchema,
    TaskUpdateSchema,
)
from impl_flask.services import tasks
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS
from shared.orm import Task

blp = Blueprint("tasks", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["tasks"])


@blp.route("/projects/<uuid:project_id>/tasks")
class ProjectTasks(TransactionalView):
    @blp.doc(operationId="createTask")
    @blp.arguments(TaskCreateSchema)
    @blp.idempotent
    @conditional.etag
    @blp.response(
        201,
        TaskSchema,
        headers={
            "Idempotent-Replayed": IDEMPOTENT_REPLAYED_HEADER,
            "Location": LOCATION_HEADER,
            "ETag": ETAG_HEADER,
        },
    )
    @blp.problems(400, 401, 403, 404, 415, 422, 500)
    def post(self, data: dict[str, Any], project_id: uuid.UUID) -> tuple[Task, dict[str, str]]:
        """Create a task (editor+)

        `assignee_id` must be a member and `label_ids` labels of this project, else 422
        `invalid_reference`.
        """
        task = tasks.create_task(project_id, data)
        return task, {"Location": f"{API_PREFIX}/tasks/{task.id}"}

    @blp.doc(operationId="listTasks")
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskPageSchema)
    @blp.problems(401, 404, 422, 500)
    def get(self, query: dict[str, Any], project_id: uuid.UUID) -> dict[str, Any]:
        """List and filter the tasks of a project

        Filters combine with AND; repeated `status` / `priority` values are any-of.
        """
        return tasks.list_tasks(project_id, query["filters"], query["limit"], query["cursor"])


@blp.route("/tasks/<uuid:task_id>")
class TaskById(TransactionalView):
    @blp.doc(operationId="getTask", parameters=[IF_NONE_MATCH_PARAMETER])
    @conditional.etag
    @blp.response(200, TaskSchema, headers={"ETag": ETAG_HEADER})
    @blp.alt_response(304, response=response_name(304))
    @blp.problems(401, 404, 422, 500)
    def get(self, task_id: uuid.UUID) -> dict[str, Any]:
        """Get a task

        Members of its project only (404 otherwise).
        """
        return tasks.get_task(task_id)

    @blp.doc(operationId="updateTask")
    @blp.arguments(TaskUpdateSchema)
    @blp.arguments(IfMatchSchema, location="headers")
    @conditional.etag
    @blp.response(200, TaskSchema, headers={"ETag": ETAG_HEADER})
    @blp.problems(400, 401, 403, 404, 412, 415, 422, 500)
    def patch(
        self, changes: dict[str, Any], conditions: dict[str, Any], task_id: uuid.UUID
    ) -> Task:
        """Update a task (editor+)

        Absent fields are unchanged, `null` clears `assignee_id` / `due_date`, `label_ids`
        replaces the set.
        """
        return tasks.update_task(task_id, changes, conditions.get("if_match"))

    @blp.doc(operationId="deleteTask")
    @blp.arguments(IfMatchSchema, location="headers")
    @blp.response(204)
    @blp.problems(401, 403, 404, 412, 422, 500)
    def delete(self, conditions: dict[str, Any], task_id: uuid.UUID) -> None:
        """Delete a task (editor+)

        Its comments go with it.
        """
        tasks.delete_task(task_id, conditions.get("if_match"))

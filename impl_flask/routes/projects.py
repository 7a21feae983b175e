"""Projects (createProject, listProjects, getProject, updateProject, deleteProject)."""

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
    PageQuerySchema,
    ProjectCreateSchema,
    ProjectPageSchema,
    ProjectSchema,
    ProjectUpdateSchema,
)
from impl_flask.services import projects
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS
from shared.orm import Project

blp = Blueprint(
    "projects", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["projects"]
)


@blp.route("/projects")
class Projects(TransactionalView):
    @blp.doc(operationId="createProject")
    @blp.arguments(ProjectCreateSchema)
    @blp.idempotent
    @conditional.etag
    @blp.response(
        201,
        ProjectSchema,
        headers={
            "Idempotent-Replayed": IDEMPOTENT_REPLAYED_HEADER,
            "Location": LOCATION_HEADER,
            "ETag": ETAG_HEADER,
        },
    )
    @blp.problems(400, 401, 415, 422, 500)
    def post(self, data: dict[str, Any]) -> tuple[Project, dict[str, str]]:
        """Create a project

        The caller becomes its owner.
        """
        project = projects.create_project(**data)
        return project, {"Location": f"{API_PREFIX}/projects/{project.id}"}

    @blp.doc(operationId="listProjects")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, ProjectPageSchema)
    @blp.problems(401, 422, 500)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List the caller's projects

        Newest first (`created_at`, then `id`, descending).
        """
        return projects.list_projects(query["limit"], query.get("cursor"))


@blp.route("/projects/<uuid:project_id>")
class ProjectById(TransactionalView):
    @blp.doc(operationId="getProject", parameters=[IF_NONE_MATCH_PARAMETER])
    @conditional.etag
    @blp.response(200, ProjectSchema, headers={"ETag": ETAG_HEADER})
    @blp.alt_response(304, response=response_name(304))
    @blp.problems(401, 404, 422, 500)
    def get(self, project_id: uuid.UUID) -> Project:
        """Get a project

        Members only (404 otherwise).
        """
        return projects.get_project(project_id)

    @blp.doc(operationId="updateProject")
    @blp.arguments(ProjectUpdateSchema)
    @blp.arguments(IfMatchSchema, location="headers")
    @conditional.etag
    @blp.response(200, ProjectSchema, headers={"ETag": ETAG_HEADER})
    @blp.problems(400, 401, 403, 404, 412, 415, 422, 500)
    def patch(
        self, changes: dict[str, Any], conditions: dict[str, Any], project_id: uuid.UUID
    ) -> Project:
        """Update a project (owner)

        Absent fields are unchanged; `If-Match` guards against lost updates.
        """
        return projects.update_project(project_id, changes, conditions.get("if_match"))

    @blp.doc(operationId="deleteProject")
    @blp.response(204)
    @blp.problems(401, 403, 404, 422, 500)
    def delete(self, project_id: uuid.UUID) -> None:
        """Delete a project (owner)

        Its members, tasks, labels, comments and activity go with it.
        """
        projects.delete_project(project_id)

"""The OpenAPI document: FastAPI's own generator, plus only what it cannot express."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from impl_fastapi.schemas import Problem, ValidationProblem
from shared.problems import PROBLEM_MEDIA_TYPE, TITLES

DESCRIPTION = (
    "Projects, members, labels, tasks, comments and activity for a browser single-page app. "
    "Every error is an RFC 9457 problem (`application/problem+json`)."
)


# Every operation can answer these: the size limit comes before routing the body (413), and
# anything unexpected is a 500.
_EVERY_OPERATION = (413, 500)
# Every operation that uses the database: unreachable, out of connections, too slow.
_DATABASE = (503,)


def problem_responses(*statuses: int, database: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each error status as problem+json, by reference to the
    Problem and ValidationProblem schemas install_openapi adds (FastAPI cannot attach a model
    to a media type other than the route's own). 413 and 500 are added to every route, 503 to
    every route that uses the database."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *_EVERY_OPERATION, *(_DATABASE if database else ())}):
        schema = "ValidationProblem" if status == 422 else "Problem"
        responses[status] = {
            "description": TITLES[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    return responses


def _problem_schemas() -> dict[str, Any]:
    """Schemas of the problem+json error bodies. Routes declare those responses by reference
    (problem_responses); no route returns the models, so FastAPI would not emit them."""
    _, schema = models_json_schema(
        [(Problem, "serialization"), (ValidationProblem, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    return dict(schema["$defs"])


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                servers=[{"url": "/"}],
                tags=app.openapi_tags,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                _problem_schemas()
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

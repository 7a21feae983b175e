"""The OpenAPI document: FastAPI's own generator, plus only what it cannot express."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from impl_fastapi.schemas import Problem, ValidationProblem

DESCRIPTION = (
    "Projects, members, labels, tasks, comments and activity for a browser single-page app. "
    "Every error is an RFC 9457 problem (`application/problem+json`)."
)


def _problem_schemas() -> dict[str, Any]:
    """Schemas of the problem+json error bodies. Routes declare those responses by reference
    (errors.problem_responses); no route returns the models, so FastAPI would not emit them."""
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

"""The base of every API view: DRF's request cycle in the contract's order of checks.

DRF authenticates and checks permissions in `initial()`, before it looks for the method's
handler, and validates the body inside the handler, after the object lookup. The contract
(DECISIONS.md) orders them differently — 405 → 413 → 401 → 415 → 400 → 422 (path, query and
body together) → 404 → 403 — so `initial()` here runs:

1. the method check (405 with `Allow`, before authentication), then the 1 MiB body limit (413;
   DRF's parsers read the stream directly, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE);
2. content negotiation and authentication; 401 when the view needs a user;
3. the request check: path ids, then the action's query serializer and body serializer
   (Content-Type 415, malformed JSON 400), every violation in one 422;
4. the view-level permissions (403), e.g. IsAdmin.

Handlers then read `self.validated_query` / `self.validated_body` and call get_object(), whose
queryset hides what the caller may not see (404) and whose object permissions check roles (403).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework import exceptions, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.viewsets import GenericViewSet

from impl_drf import queries
from impl_drf.errors import RequestBodyTooLarge, RequestValidationError
from impl_drf.models import Project
from impl_drf.pagination import Keyset, KeysetPagination
from impl_drf.permissions import HasProjectRole
from shared.cursors import scope
from shared.wsgi import body_too_large


class ContractViewSet(GenericViewSet):
    # OPTIONS is answered by the CORS middleware for preflights and is otherwise not part of
    # the API; HEAD follows GET.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    # Per action: the serializer of its query string and of its request body.
    query_serializer_classes: dict[str, type[serializers.Serializer]] = {}
    body_serializer_classes: dict[str, type[serializers.Serializer]] = {}

    validated_query: dict[str, Any]
    validated_body: dict[str, Any]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.ensure_method_allowed(request)
        if body_too_large(request.META):  # shared.wsgi.RequestBodyGuard drains it
            raise RequestBodyTooLarge()
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
            request
        )
        request.version, request.versioning_scheme = self.determine_version(
            request, *args, **kwargs
        )
        self.perform_authentication(request)
        self.ensure_authenticated(request)
        self.validate_request(request)
        self.check_permissions(request)
        self.check_throttles(request)

    def ensure_method_allowed(self, request: Request) -> None:
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)

    def ensure_authenticated(self, request: Request) -> None:
        if request.user is None and any(
            isinstance(permission, IsAuthenticated) for permission in self.get_permissions()
        ):
            raise exceptions.NotAuthenticated()

    # ------------------------------------------------------------------ request validation

    def validate_request(self, request: Request) -> None:
        errors: dict[str, Any] = {}
        path_errors = self._parse_path_ids()
        if path_errors:
            errors["path"] = path_errors

        self.validated_query = {}
        query_class = self.query_serializer_classes.get(self.action)
        if query_class is not None:
            query = query_class(data=request.query_params)
            if query.is_valid():
                self.validated_query = query.validated_data
            else:
                errors["query"] = query.errors

        self.validated_body = {}
        body_class = self.body_serializer_classes.get(self.action)
        if body_class is not None:
            self._check_media_type(request)
            if not self._has_body(request):
                errors["body"] = [ErrorDetail("A request body is required.", code="missing")]
            else:
                body = body_class(data=request.data)  # parses: 400 for malformed JSON
                if body.is_valid():
                    self.validated_body = body.validated_data
                else:
                    errors["body"] = body.errors

        if errors:
            raise RequestValidationError(errors)

    def _parse_path_ids(self) -> dict[str, Any]:
        """Every path parameter of the API is a UUID; a malformed one is a 422, not a 404."""
        errors = {}
        for name, value in self.kwargs.items():
            try:
                self.kwargs[name] = uuid.UUID(str(value))
            except ValueError:
                errors[name] = [ErrorDetail("Input should be a valid UUID.", code="uuid_parsing")]
        return errors

    def _check_media_type(self, request: Request) -> None:
        """415 unless the body is in the action's one media type (parameters such as
        `charset` allowed, `+json` suffixes not); no Content-Type is fine only without a body."""
        expected = self.get_parsers()[0].media_type
        content_type = request.content_type.split(";", 1)[0].strip().lower()
        if content_type != expected and (content_type or self._has_body(request)):
            raise exceptions.UnsupportedMediaType(content_type)

    @staticmethod
    def _has_body(request: Request) -> bool:
        length = request.META.get("CONTENT_LENGTH") or ""
        return length.isdigit() and int(length) > 0


class ProjectScopedViewSet(ContractViewSet):
    """Views under /projects/{project_id}/...: the project must be visible to the caller (404)
    and the caller's role in it at least `required_roles[action]` (403)."""

    permission_classes = [IsAuthenticated, HasProjectRole]
    required_roles: dict[str, str] = {}

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            project = get_object_or_404(
                queries.projects_for(self.request.user), pk=self.kwargs["project_id"]
            )
            self.check_object_permissions(self.request, project)
            self._project = project
        return self._project


class KeysetListMixin:
    """List actions paged by impl_drf.pagination.KeysetPagination."""

    pagination_class = KeysetPagination
    keyset: Keyset
    cursor_list_name: str

    def get_keyset(self) -> Keyset:
        return self.keyset

    def cursor_params(self) -> dict[str, Any]:
        """Everything that shapes the list besides `limit` (DECISIONS.md, Pagination)."""
        return {}

    def cursor_scope(self) -> str:
        return scope(self.cursor_list_name, **self.cursor_params())

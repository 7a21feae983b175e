"""The base of every API view: DRF's request cycle in the contract's order of checks.

DRF authenticates and checks permissions in `initial()`, before it looks for the method's
handler, and validates the body inside the handler, after the object lookup. The contract
(contract/DECISIONS.md, "Errors") orders them differently — 405 → 413 → 401 → 415 → 400 → 422
(path, query and body together) → 404 → 403 — so `initial()` here runs:

1. the method check (405 with `Allow`, before authentication), then the 1 MiB body limit (413;
   DRF's parsers read the stream directly, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE);
2. content negotiation and authentication; 401 when the view needs a user;
3. request validation (impl_drf.validation): Content-Type 415, malformed JSON 400, then every
   violation of path, query, headers and body in one 422;
4. on an idempotent create with an `Idempotency-Key`: in flight 409, reused 422, or the stored
   response replayed (impl_drf.idempotency) — the request is then one transaction (`dispatch`)
   and its 2xx response is stored before it commits (`finalize_response`);
5. the view-level permissions (403), e.g. IsAdmin; then the throttles (429, createToken).

Handlers then read `self.validated_query` / `self.validated_body` and call get_object(), whose
queryset hides what the caller may not see (404) and whose object permissions check roles (403)
(impl_drf.permissions).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from impl_drf import idempotency, selectors
from impl_drf.errors import RequestBodyTooLarge
from impl_drf.models import Project
from impl_drf.pagination import Keyset, KeysetPagination
from impl_drf.permissions import ProjectPermission
from impl_drf.validation import validate_request
from shared.cursors import scope
from shared.idempotency import HEADER as IDEMPOTENCY_KEY
from shared.wsgi import body_too_large


class ContractViewSet(GenericViewSet):
    # OPTIONS is answered by the CORS middleware for preflights and is otherwise not part of
    # the API; HEAD follows GET.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    # Per action: the serializer of its query string and of its request body.
    query_serializer_classes: dict[str, type[serializers.Serializer]] = {}
    body_serializer_classes: dict[str, type[serializers.Serializer]] = {}

    # The creates that take an `Idempotency-Key` (contract/DECISIONS.md, "Idempotent creates").
    idempotent_actions: frozenset[str] = frozenset()

    validated_query: dict[str, Any]
    validated_body: dict[str, Any]
    pending_create: idempotency.PendingCreate | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """An idempotent create with a key is one transaction, from the key's lock to the stored
        response; anything else runs as before (each service its own transaction)."""
        action = self.action_map.get(request.method.lower())
        if action in self.idempotent_actions and IDEMPOTENCY_KEY in request.headers:
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

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
        self.begin_idempotent_create(request)
        self.check_permissions(request)
        self.check_throttles(request)

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.pending_create is not None and isinstance(response, Response):
            self.pending_create.finish(response)
        return response

    def ensure_method_allowed(self, request: Request) -> None:
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)

    def ensure_authenticated(self, request: Request) -> None:
        if request.user is None and any(
            isinstance(permission, IsAuthenticated) for permission in self.get_permissions()
        ):
            raise exceptions.NotAuthenticated()

    def validate_request(self, request: Request) -> None:
        """Path ids parsed in place (the handler receives UUIDs), query, headers and body
        validated."""
        valid = validate_request(
            request,
            self.kwargs,
            self.query_serializer_classes.get(self.action),
            self.body_serializer_classes.get(self.action),
            media_type=self.get_parsers()[0].media_type,
            takes_idempotency_key=self.action in self.idempotent_actions,
        )
        self.validated_query, self.validated_body = valid.query, valid.body
        self.idempotency_key = valid.idempotency_key
        self.kwargs.update(valid.path)  # the dict dispatch() passes on to the handler

    def begin_idempotent_create(self, request: Request) -> None:
        if self.idempotency_key is not None:
            self.pending_create = idempotency.begin(request, self.idempotency_key, request.data)


class ProjectScopedViewSet(ContractViewSet):
    """Views under /projects/{project_id}/...: the project must be visible to the caller (404)
    and the caller's role in it at least `required_roles[action]` (403)."""

    permission_classes = [IsAuthenticated, ProjectPermission]
    required_roles: dict[str, str] = {}

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            project = get_object_or_404(
                selectors.visible_projects(self.request.user), pk=self.kwargs["project_id"]
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

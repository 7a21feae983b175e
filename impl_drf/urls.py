"""URLs: the contract's paths, exactly — no trailing slashes, no format suffixes.

Path parameters use the `id` converter: any segment matches, and the view answers 422
`uuid_parsing` for one that is not a UUID (a `<uuid:...>` converter would make it a 404)."""

from __future__ import annotations

from django.urls import include, path, register_converter
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from impl_drf.docs import SwaggerAssetView
from impl_drf.views.activity import ActivityViewSet
from impl_drf.views.assistant import AssistantViewSet
from impl_drf.views.auth import TokenViewSet
from impl_drf.views.comments import CommentViewSet, TaskCommentViewSet
from impl_drf.views.events import EventStreamViewSet
from impl_drf.views.health import HealthViewSet
from impl_drf.views.labels import LabelViewSet
from impl_drf.views.members import MemberViewSet
from impl_drf.views.notifications import NotificationViewSet
from impl_drf.views.projects import ProjectViewSet
from impl_drf.views.tasks import ProjectTaskViewSet, TaskViewSet
from impl_drf.views.users import MeViewSet, UserViewSet


class IdConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


register_converter(IdConverter, "id")

api_v1 = [
    path("auth/token", TokenViewSet.as_view({"post": "create"})),
    path("me", MeViewSet.as_view({"get": "retrieve"})),
    path("me/notifications", NotificationViewSet.as_view({"get": "list"})),
    path(
        "me/notifications/<id:notification_id>/read",
        NotificationViewSet.as_view({"post": "mark_read"}),
    ),
    path("users", UserViewSet.as_view({"get": "list", "post": "create"})),
    path("users/<id:user_id>", UserViewSet.as_view({"get": "retrieve"})),
    path("projects", ProjectViewSet.as_view({"get": "list", "post": "create"})),
    path(
        "projects/<id:project_id>",
        ProjectViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
    ),
    path("projects/<id:project_id>/members", MemberViewSet.as_view({"get": "list"})),
    path(
        "projects/<id:project_id>/members/<id:user_id>",
        MemberViewSet.as_view({"put": "update", "delete": "destroy"}),
    ),
    path(
        "projects/<id:project_id>/labels", LabelViewSet.as_view({"get": "list", "post": "create"})
    ),
    path(
        "projects/<id:project_id>/labels/<id:label_id>", LabelViewSet.as_view({"delete": "destroy"})
    ),
    path(
        "projects/<id:project_id>/tasks",
        ProjectTaskViewSet.as_view({"get": "list", "post": "create"}),
    ),
    path("projects/<id:project_id>/activity", ActivityViewSet.as_view({"get": "list"})),
    path("projects/<id:project_id>/events", EventStreamViewSet.as_view({"get": "stream"})),
    path("projects/<id:project_id>/assistant", AssistantViewSet.as_view({"post": "ask"})),
    path(
        "tasks/<id:task_id>",
        TaskViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
    ),
    path(
        "tasks/<id:task_id>/comments", TaskCommentViewSet.as_view({"get": "list", "post": "create"})
    ),
    path(
        "comments/<id:comment_id>",
        CommentViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
    ),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("healthz", HealthViewSet.as_view({"get": "liveness"})),
    path("readyz", HealthViewSet.as_view({"get": "readiness"})),
    # plain application/json (drf-spectacular would answer application/vnd.oai.openapi+json)
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(renderer_classes=[OpenApiJsonRenderer2]),
        name="openapi",
    ),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    path("docs/assets/<str:name>", SwaggerAssetView.as_view()),
]

handler400 = "impl_drf.errors.bad_request"
handler403 = "impl_drf.errors.forbidden"
handler404 = "impl_drf.errors.not_found"
handler500 = "impl_drf.errors.server_error"

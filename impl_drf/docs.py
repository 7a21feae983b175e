"""/docs/assets/<name>: the Swagger UI files of the /docs page (drf-spectacular's
SpectacularSwaggerView, pointed here by SWAGGER_UI_DIST / SWAGGER_UI_FAVICON_HREF), served by
the app itself so the page works without network (shared.docs: the same files and URLs in all
four). Not an operation of the API."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from shared.docs import asset


class SwaggerAssetView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    http_method_names = ["get", "head"]
    schema = None  # not in /openapi.json

    def get(self, request: Request, name: str) -> HttpResponse:
        found = asset(name)
        if found is None:
            raise NotFound()
        content, content_type = found
        return HttpResponse(content, content_type=content_type)

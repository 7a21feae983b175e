"""Middleware for what every request and response needs (contract/DECISIONS.md, "Operations").

Django middleware, listed in settings.MIDDLEWARE outermost first: request id and security
headers, CORS, RequestDataTooBig as 413. Below Django (impl_drf.wsgi), shared.wsgi's
RequestBodyGuard gives chunked bodies a Content-Length and drains refused ones."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from impl_drf.errors import problem_response
from shared.httputil import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE,
    REQUEST_ID_HEADER,
    SECURITY_HEADERS,
    request_id,
)
from shared.settings import get_settings

GetResponse = Callable[[HttpRequest], HttpResponse]


class ResponseHeadersMiddleware:
    """`X-Request-ID` (echoed when well-formed, else a new UUID), `Cache-Control: no-store`
    and `X-Content-Type-Options: nosniff` on every response, errors and preflights included."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id(request.headers.get(REQUEST_ID_HEADER))
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        for name, value in SECURITY_HEADERS.items():
            response[name] = value
        return response


class CorsMiddleware:
    """CORS for the origins in CORS_ORIGINS: preflights answered here (before authentication),
    `Access-Control-Allow-Origin` only for an allowed origin, no credentials."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.allowed_origins = frozenset(get_settings().cors_origins)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and origin in self.allowed_origins
        if (
            request.method == "OPTIONS"
            and origin is not None
            and "Access-Control-Request-Method" in request.headers
        ):
            response = HttpResponse(status=204)
            del response["Content-Type"]
            if allowed:
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = ", ".join(CORS_ALLOW_METHODS)
                response["Access-Control-Allow-Headers"] = ", ".join(CORS_ALLOW_HEADERS)
                response["Access-Control-Max-Age"] = str(CORS_MAX_AGE)
        else:
            response = self.get_response(request)
            if allowed:
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSE_HEADERS)
        patch_vary_headers(response, ("Origin",))
        return response


class RequestDataTooBigMiddleware:
    """RequestDataTooBig (raised by Django while reading a form body over
    DATA_UPLOAD_MAX_MEMORY_SIZE) is a 413 problem, not Django's 400. The 1 MiB limit itself is
    checked in ContractViewSet.initial(), after routing and before authentication."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return problem_response(413)
        return None

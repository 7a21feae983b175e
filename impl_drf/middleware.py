"""Middleware for what every request and response needs (contract/DECISIONS.md, "Operations").

Django middleware, listed in settings.MIDDLEWARE outermost first: request id and security
headers (and `Allow` on 405 only), CORS, exceptions that escape DRF as problems (413, 503).
Below Django (impl_drf.wsgi), shared.wsgi's RequestBodyGuard gives chunked bodies a
Content-Length and drains refused ones."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers

from impl_drf.database import watched_query
from impl_drf.errors import problem_response, unavailable_or_none
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
    and `X-Content-Type-Options: nosniff` on every response, errors and preflights included.

    `Allow` on 405 responses only: DRF's APIView.finalize_response puts its
    `default_response_headers` (`Allow`) on every response of every view, its own and
    drf-spectacular's alike; the contract lists the methods only when one was refused."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id(request.headers.get(REQUEST_ID_HEADER))
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        for name, value in SECURITY_HEADERS.items():
            response[name] = value
        if response.status_code != 405:
            del response["Allow"]
        # drf-spectacular adds these to /openapi.json and /docs; the other three frameworks
        # send neither, and the contract's header set is the same for all four.
        for name in _SPECTACULAR_EXTRA_HEADERS:
            del response[name]
        if _has_body(response) and not response.has_header("Content-Length"):
            # gunicorn would otherwise send the body chunked; the length is known
            response["Content-Length"] = str(len(response.content))
        return response


_SPECTACULAR_EXTRA_HEADERS = ("Content-Disposition", "Cross-Origin-Opener-Policy")


def _has_body(response: HttpResponse) -> bool:
    return not response.streaming and response.status_code not in (204, 304)


_ALLOWED_REQUEST_HEADERS = frozenset(name.lower() for name in CORS_ALLOW_HEADERS)


class CorsMiddleware:
    """CORS for the origins in CORS_ORIGINS, no credentials.

    A preflight (OPTIONS with Origin and Access-Control-Request-Method) on an existing path is
    answered here, before authentication: 204, with the CORS headers only when the origin, the
    method and every requested header are allowed — otherwise no `Access-Control-*` header at
    all. On an unknown path the router's 404 answers. Other requests from an allowed origin get
    `Access-Control-Allow-Origin` and the exposed headers."""

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
            and _path_exists(request.path_info)
        ):
            response = HttpResponse(status=204)
            del response["Content-Type"]
            if allowed and _preflight_allowed(request):
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = ", ".join(CORS_ALLOW_METHODS)
                response["Access-Control-Allow-Headers"] = ", ".join(CORS_ALLOW_HEADERS)
                response["Access-Control-Max-Age"] = str(CORS_MAX_AGE)
        else:
            response = self.get_response(request)
            if allowed:
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSE_HEADERS)
        if origin is not None:
            patch_vary_headers(response, ("Origin",))
        return response


def _path_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _preflight_allowed(request: HttpRequest) -> bool:
    method = request.headers["Access-Control-Request-Method"].strip()
    requested = request.headers.get("Access-Control-Request-Headers", "")
    headers = {name.strip().lower() for name in requested.split(",") if name.strip()}
    return method in CORS_ALLOW_METHODS and headers <= _ALLOWED_REQUEST_HEADERS


class ProblemExceptionsMiddleware:
    """Exceptions that escape the DRF views, as problems rather than Django's 400/500 pages:
    RequestDataTooBig (Django reading a form body over DATA_UPLOAD_MAX_MEMORY_SIZE) is a 413 —
    the 1 MiB limit itself is checked in ContractViewSet.initial(), after routing and before
    authentication — and a database that is away is a 503 (impl_drf.errors), e.g. when the
    transaction of an idempotent create fails to commit."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return problem_response(413)
        return unavailable_or_none(exception)


class QueryDeadlineMiddleware:
    """Every query of the request under impl_drf.database's watchdog: a database that stops
    answering mid-request is a 503, not a hang."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with connection.execute_wrapper(watched_query):
            return self.get_response(request)

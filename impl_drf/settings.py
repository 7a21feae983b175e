"""Django settings, all derived from shared.settings (the environment names every
implementation reads: DATABASE_URL, SECRET_KEY, CORS_ORIGINS, ...).

The project is an API only: no admin, no sessions, no django.contrib.auth, no templates beyond
the interactive docs page, no HTML error page ever (impl_drf.errors).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from impl_drf.database import check_connection
from shared.database import (
    CONNECT_TIMEOUT_SECONDS,
    POOL_SIZE,
    POOL_TIMEOUT_SECONDS,
    connection_parts,
    libpq_options,
)
from shared.docs import ASSETS_URL, FAVICON_URL
from shared.openapi_tags import OPENAPI_TAGS
from shared.problems import MAX_BODY_BYTES
from shared.settings import get_settings

APP_SETTINGS = get_settings()  # read once and checked (refuses the dev key in production)

SECRET_KEY = APP_SETTINGS.secret_key
DEBUG = False
# The server binds loopback by default (`quartet serve --host`); behind a proxy, the proxy's
# Host is one of these too.
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "impl_drf.apps.TaskboardConfig",
    "rest_framework",
    "drf_spectacular",  # templates of the /docs page
]

MIDDLEWARE = [
    # Outermost, so every response — errors, 404s, preflights, docs — gets the headers.
    "impl_drf.middleware.ResponseHeadersMiddleware",
    "impl_drf.middleware.CorsMiddleware",
    "impl_drf.middleware.ProblemExceptionsMiddleware",
    "impl_drf.middleware.QueryDeadlineMiddleware",
]

ROOT_URLCONF = "impl_drf.urls"
WSGI_APPLICATION = "impl_drf.wsgi.application"
APPEND_SLASH = False  # no trailing slashes anywhere (the contract's paths have none)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

# The contract's database budgets (contract/DECISIONS.md, "Database budgets"; shared.database),
# said in Django's terms: its psycopg pool, at most POOL_SIZE connections per server process
# (enough for gunicorn's GUNICORN_THREADS, 8 by default), POOL_TIMEOUT_SECONDS to get one; the
# pool requires CONN_MAX_AGE = 0, so a request's connection goes back to the pool when the
# request ends. The pool checks a connection before lending it, without a round trip
# (impl_drf.database.check_connection): a database restart costs no request. Every connection
# runs with the statement and idle-in-transaction timeouts. /readyz connects on its own
# (impl_drf.views.health).
DATABASE_URL = APP_SETTINGS.database_url or "postgresql:///quartet"
_db = connection_parts(DATABASE_URL)
# Any other libpq parameter of the URL (sslmode, application_name, ...) goes to psycopg as is;
# `options` of the URL are kept, before the budget's.
_libpq_extra = {
    key: value
    for key, value in parse_qsl(urlsplit(DATABASE_URL).query)
    if key not in ("host", "port", "user", "password", "dbname")
}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3
        "NAME": _db["dbname"],
        "USER": _db["user"],
        "PASSWORD": _db["password"],
        "HOST": _db["host"],
        "PORT": _db["port"],
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "application_name": "quartet-drf",
            **_libpq_extra,
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "options": " ".join(filter(None, [_libpq_extra.get("options"), libpq_options()])),
            # Opened on first use (the server starts without a database), never more than
            # POOL_SIZE, none kept open when idle for long (psycopg_pool's max_idle).
            # The check before lending a connection is bounded (impl_drf.database): a paused
            # database must not hang the request in it.
            "pool": {
                "min_size": 0,
                "max_size": POOL_SIZE,
                "timeout": POOL_TIMEOUT_SECONDS,
                "check": check_connection,
            },
        },
    }
}

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
LANGUAGE_CODE = "en-us"

# Request bodies over 1 MiB → 413 (impl_drf.middleware checks Content-Length up front and
# counts chunked bodies; Django's own limit covers bodies read through request.POST/body).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
# No count limit on form fields and query parameters: Django's (1000) answers its own 400
# (TooManyFieldsSent) where the contract validates — an unknown query parameter is ignored, an
# unknown form field is a 422. The work stays bounded by the 1 MiB body and the server's request
# line limit, and Django's parsing (parse_qsl into a MultiValueDict) is linear.
DATA_UPLOAD_MAX_NUMBER_FIELDS = None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["impl_drf.security.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["impl_drf.negotiation.ContractJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["impl_drf.negotiation.ContractJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "impl_drf.negotiation.JSONOnlyNegotiation",
    "DEFAULT_SCHEMA_CLASS": "impl_drf.openapi.ContractAutoSchema",
    "EXCEPTION_HANDLER": "impl_drf.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS is not part of the API (CORS preflights aside)
    "DEFAULT_VERSIONING_CLASS": None,
    "DEFAULT_THROTTLE_CLASSES": [],
    # request.user is None until authenticated: no django.contrib.auth AnonymousUser.
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "COMPACT_JSON": True,
    "UNICODE_JSON": True,
    "STRICT_JSON": True,
}

SPECTACULAR_SETTINGS = {
    "OAS_VERSION": "3.1.0",
    "TITLE": "Taskboard",
    "VERSION": "1.2.0",
    "DESCRIPTION": "The Quartet contract (contract/openapi.yaml), served by Django REST "
    "Framework. Generated from the code by drf-spectacular.",
    "SERVERS": [{"url": "/"}],
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Request and response components apart (…Request), so read-only fields never leak into
    # request bodies and write-only ones never into responses.
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies keep their required fields (CommentUpdate requires `body`).
    "COMPONENT_SPLIT_PATCH": False,
    # The contract's enums carry no per-value descriptions (and the labels are member names).
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "ENUM_NAME_OVERRIDES": {
        # The contract's enums, named after shared.vocabulary's classes.
        "Role": "shared.vocabulary.Role",
        "TaskStatus": "shared.vocabulary.TaskStatus",
        "TaskPriority": "shared.vocabulary.TaskPriority",
        "ActivityVerb": "shared.vocabulary.ActivityVerb",
        "ActivityTargetType": "shared.vocabulary.ActivityTargetType",
        "NotificationKind": "shared.vocabulary.NotificationKind",
        "ProblemType": "impl_drf.serializers.PROBLEM_TYPES",
        "ValidationErrorType": "impl_drf.serializers.VALIDATION_ERROR_TYPES",
    },
    # Every path parameter of the API is a UUID (impl_drf.urls' `id` converter).
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "string", "format": "uuid"}},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "impl_drf.openapi.postprocess_contract",
    ],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # /docs works offline: Swagger UI's files are served by the app itself under
    # /docs/assets/ (impl_drf.views.docs, shared.docs), the same URLs in all four.
    "SWAGGER_UI_DIST": ASSETS_URL.rstrip("/"),
    "SWAGGER_UI_FAVICON_HREF": FAVICON_URL,
    "TAGS": [dict(tag) for tag in OPENAPI_TAGS],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Unhandled exceptions are logged here (with traceback) and answered with a bare 500 problem.
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False}},
}

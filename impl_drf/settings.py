"""Django settings, all derived from shared.settings (the environment names every
implementation reads: DATABASE_URL, SECRET_KEY, CORS_ORIGINS, ...).

The project is an API only: no admin, no sessions, no django.contrib.auth, no templates beyond
the interactive docs page, no HTML error page ever (impl_drf.errors).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from shared.database import connection_parts
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
    "impl_drf.middleware.RequestDataTooBigMiddleware",
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

# Persistent connections, one per gunicorn thread (GUNICORN_THREADS, 8 by default), rather than
# Django's psycopg pool: gthread threads live as long as the worker, so each keeps its
# connection; CONN_HEALTH_CHECKS replaces a connection that died (database restart) before the
# request uses it; and a database that is down fails the request at once instead of waiting for
# a pool slot — which is what /readyz needs to answer within 2 s.
CONNECT_TIMEOUT_SECONDS = 2
_database_url = APP_SETTINGS.database_url or "postgresql:///quartet"
_db = connection_parts(_database_url)
# Any other libpq parameter of the URL (sslmode, options, ...) goes to psycopg as is.
_libpq_extra = {
    key: value
    for key, value in parse_qsl(urlsplit(_database_url).query)
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
        "CONN_MAX_AGE": 300,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "quartet-drf",
            **_libpq_extra,
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

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["impl_drf.security.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
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
    "VERSION": "1.0.0",
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
    "ENUM_NAME_OVERRIDES": {
        "Role": "impl_drf.models.Role",
        "TaskStatus": "impl_drf.models.TaskStatus",
        "TaskPriority": "impl_drf.models.TaskPriority",
        "ActivityVerb": "impl_drf.models.Verb",
        "ActivityTargetType": "impl_drf.models.TargetType",
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
    "TAGS": [dict(tag) for tag in OPENAPI_TAGS],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Unhandled exceptions are logged here (with traceback) and answered with a bare 500 problem.
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False}},
}

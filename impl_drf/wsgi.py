"""WSGI entry point: `gunicorn impl_drf.wsgi:application` (what `quartet serve drf` loads)."""

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impl_drf.settings")

django_application = get_wsgi_application()  # sets Django up: import project modules after it

from django.urls import get_resolver  # noqa: E402

from impl_drf import live  # noqa: E402
from shared.wsgi import RequestBodyGuard, body_too_large  # noqa: E402

# The URLconf (every view, serializer and drf-spectacular) imported now rather than by the first
# request, which would otherwise take seconds on a busy machine — a first /readyz included.
get_resolver().check()  # imports the URLconf and checks its patterns

_CHUNK = 64 * 1024


class UnreadBodyDrain:
    """Reads what the application left of a body within the 1 MiB limit (a 401 or a 404 answers
    before the body is parsed). gunicorn drains at most 64 KiB of an unread body and otherwise
    closes the connection after a response that announced keep-alive, so a client reusing the
    connection would fail. Oversize bodies are RequestBodyGuard's (drained up to its cap).
    Belongs in shared.wsgi.RequestBodyGuard for Flask too (reported)."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        answer = self.application(environ, start_response)
        if not body_too_large(environ):
            stream = environ["wsgi.input"]
            while stream.read(_CHUNK):
                pass
        return answer


application = UnreadBodyDrain(RequestBodyGuard(django_application))

# The webhook worker of this process (gunicorn imports this module in each worker, after the
# fork); the event hub starts with the first stream (impl_drf.live).
live.start()

"""WSGI entry point: `gunicorn impl_drf.wsgi:application` (what `quartet serve drf` loads)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impl_drf.settings")

django_application = get_wsgi_application()  # sets Django up: import project modules after it

from shared.wsgi import RequestBodyGuard  # noqa: E402

application = RequestBodyGuard(django_application)

"""Throttled sign-in (contract/DECISIONS.md, "Throttled sign-in") as a DRF throttle class.

ContractViewSet.initial() runs throttles after validation, so a malformed form is a 422 and a
throttled one a 429 (DRF's Throttled, with `Retry-After`: impl_drf.errors) before any password is
verified — even the right one. The counting lives in PostgreSQL (shared SQL functions of
migration 0004, the same rule in all four implementations); the failures and successes are
recorded by impl_drf.services.auth."""

from __future__ import annotations

from typing import Any

from django.db import connection
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from shared.settings import get_settings
from shared.throttle import client_address, sign_in_key


def sign_in_address(request: Request) -> str:
    """The socket peer (WSGI REMOTE_ADDR), or behind a trusted proxy its X-Forwarded-For."""
    return client_address(
        request.META.get("REMOTE_ADDR"),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        get_settings().trusted_proxies,
    )


class SignInThrottle(BaseThrottle):
    """Past LOGIN_MAX_FAILURES_PER_PAIR failures of (email, address), or
    LOGIN_MAX_FAILURES_PER_ADDRESS of the address, within LOGIN_THROTTLE_WINDOW_SECONDS."""

    retry_after = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        settings = get_settings()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sign_in_retry_after(%s, %s::inet, %s, %s, %s)",
                [
                    sign_in_key(view.validated_body["username"]),
                    sign_in_address(request),
                    settings.login_throttle_window_seconds,
                    settings.login_max_failures_per_pair,
                    settings.login_max_failures_per_address,
                ],
            )
            (self.retry_after,) = cursor.fetchone()
        return self.retry_after <= 0

    def wait(self) -> float:
        return max(1, self.retry_after)

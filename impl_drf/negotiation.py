"""Content negotiation for a JSON-only API."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Always the view's first renderer (JSON), whatever `Accept` says: the contract has one
    representation per response, and DRF's default would answer 406 to `Accept: text/html`.
    Parser selection (request Content-Type → 415) stays DRF's."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type

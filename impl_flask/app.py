"""The application factory: `quartet serve flask` runs `impl_flask.app:create_app()` under
gunicorn's threaded workers (one app per worker process)."""

from __future__ import annotations

from flask import Flask

from impl_flask import db, docs, errors, live, middleware, security, validation
from impl_flask.json_provider import OrjsonProvider
from impl_flask.openapi import Api
from impl_flask.routes import BLUEPRINTS
from impl_flask.settings import flask_config
from shared.settings import get_settings
from shared.wsgi import RequestBodyGuard


def create_app() -> Flask:
    settings = get_settings()  # refuses a production start with the development key
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set (`quartet serve flask` sets it)")

    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.wsgi_app = RequestBodyGuard(app.wsgi_app)  # type: ignore[method-assign]
    app.config.from_mapping(flask_config(settings))
    db.init_app(app, settings.database_url)
    live.init_app(app, settings)  # the event hub and the webhook worker of this worker process
    errors.init_app(app)
    validation.init_app(app)  # before the routes: it registers the uuid path converter

    # The order of these hooks is the contract's order of checks (contract/DECISIONS.md,
    # "Errors"): routing (404/405, raised when the view is dispatched) → body size 413 →
    # authentication 401 → malformed path id 422 (when the view parses nothing else) → in the
    # view: Content-Type 415 → malformed JSON 400 → validation 422 → Idempotency-Key (409, 422,
    # replay; idempotency.py) → services: 404/403 → locks → 422 references → 412 → 409.
    app.before_request(middleware.assign_request_id)
    app.before_request(middleware.answer_preflight)
    app.before_request(middleware.enforce_body_limit)
    app.before_request(security.authenticate)
    app.before_request(validation.reject_malformed_path)
    app.after_request(middleware.add_standard_headers)
    app.after_request(middleware.drain_request_body)

    api = Api(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    docs.init_app(app)  # the Swagger UI's files, outside the API document
    return app

"""The caller and user accounts (getMe, createUser, listUsers, getUser)."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask.db import TransactionalView
from impl_flask.openapi import IDEMPOTENT_REPLAYED_HEADER, LOCATION_HEADER, Blueprint
from impl_flask.schemas import UserCreateSchema, UserPageSchema, UserQuerySchema, UserSchema
from impl_flask.security import current_user
from impl_flask.services import users
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS
from shared.orm import User

blp = Blueprint("users", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["users"])


@blp.route("/me")
class Me(TransactionalView):
    @blp.doc(operationId="getMe")
    @blp.response(200, UserSchema)
    @blp.problems(401, 500)
    def get(self) -> User:
        """The caller"""
        return current_user()


@blp.route("/users")
class Users(TransactionalView):
    @blp.doc(operationId="createUser")
    @blp.arguments(UserCreateSchema)
    @blp.idempotent
    @blp.response(
        201,
        UserSchema,
        headers={"Idempotent-Replayed": IDEMPOTENT_REPLAYED_HEADER, "Location": LOCATION_HEADER},
    )
    @blp.problems(400, 401, 403, 409, 415, 422, 500)
    def post(self, data: dict[str, Any]) -> tuple[User, dict[str, str]]:
        """Create a user (admins only)

        The email is stored lower-cased and is unique in any case (409 on a duplicate).
        """
        user = users.create_user(**data)
        return user, {"Location": f"{API_PREFIX}/users/{user.id}"}

    @blp.doc(operationId="listUsers")
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    @blp.problems(401, 422, 500)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List users

        `q` matches the start of the email or of the display name, case-insensitively.
        Ordered by display name, then id.
        """
        return users.list_users(query.get("q"), query["limit"], query.get("cursor"))


@blp.route("/users/<uuid:user_id>")
class UserById(TransactionalView):
    @blp.doc(operationId="getUser")
    @blp.response(200, UserSchema)
    @blp.problems(401, 404, 422, 500)
    def get(self, user_id: uuid.UUID) -> User:
        """Get a user"""
        return users.get_user(user_id)

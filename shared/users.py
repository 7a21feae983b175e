"""Creating users outside the API (the CLI's first admin, demo data)."""

from __future__ import annotations

import uuid

import psycopg

from shared.database import normalise
from shared.passwords import hash_password


class EmailTaken(Exception):
    pass


def insert_user(
    conn: psycopg.Connection,
    email: str,
    display_name: str,
    password: str,
    *,
    is_admin: bool = False,
) -> uuid.UUID:
    try:
        row = conn.execute(
            "INSERT INTO users (email, display_name, password_hash, is_admin)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (email.lower(), display_name, hash_password(password), is_admin),
        ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise EmailTaken(email) from None
    assert row is not None
    return row[0]


def create_user(
    database_url: str, email: str, display_name: str, password: str, *, is_admin: bool = False
) -> uuid.UUID:
    with psycopg.connect(normalise(database_url)) as conn:
        return insert_user(conn, email, display_name, password, is_admin=is_admin)

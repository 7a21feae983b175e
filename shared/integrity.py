"""Integrity errors the contract answers: a unique constraint that means "already exists" is a
409 with its sentence; any other violation (a CHECK, a foreign key, a NOT NULL) is a defect —
the request was validated and locked before it wrote — and stays a 500 with the error logged.

One table, keyed by the constraint names of shared/migrations, and one way to read the name off
the driver's exception (psycopg's diagnostics or asyncpg's attribute, under whatever the ORM
wrapped them in), so the four implementations map exactly the same violations."""

from __future__ import annotations

from shared import problems

# constraint name → the 409's detail
CONFLICTS: dict[str, str] = {
    "users_email_key": problems.EMAIL_TAKEN,
    "labels_project_name_ci_key": problems.LABEL_TAKEN,
}


def constraint_name(error: BaseException) -> str | None:
    """The name of the constraint a driver error names, looking through ORM wrappers
    (SQLAlchemy's `.orig`, Django's and SQLAlchemy's asyncpg adapter's `__cause__`)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        diag = getattr(current, "diag", None)  # psycopg
        name = getattr(diag, "constraint_name", None) or getattr(current, "constraint_name", None)
        if isinstance(name, str) and name:
            return name
        current = getattr(current, "orig", None) or current.__cause__
    return None


def conflict_detail(error: BaseException) -> str | None:
    """The 409 sentence for an integrity error the contract calls a conflict, else None."""
    name = constraint_name(error)
    return CONFLICTS.get(name) if name else None

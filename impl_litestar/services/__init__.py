"""The use cases, one module per resource, on the request's AsyncSession.

Each runs in the request's one transaction (db.provide_db_session commits it) with its activity
entry; permissions.py has checked visibility and role, without locks, before it runs. A write
then takes its locks in the contract's order (`locks`; contract/DECISIONS.md, "Locks") and only
then checks references (422), If-Match (412) and conflicts (409). Reads and locks are the
statements of shared.selects."""

"""Use cases, one module per resource: who may act (permissions.py), the locks of
contract/DECISIONS.md in its order (locks.py), the SQL (shared.selects), the activity entry in the
same transaction. Handlers call these; they know nothing about HTTP beyond the domain errors
they raise."""

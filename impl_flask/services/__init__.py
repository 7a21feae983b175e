"""What the API does, one module per resource: handlers parse, call one of these, return.

Services work on the request's session (db.session; the view's transaction commits) and signal
failures with flask-smorest's `abort(status, ...)`, which errors.handle_error turns into problem
details. A write takes its steps in the contract's order (contract/DECISIONS.md, "Locks"):
visibility and role without locks (permissions.py) → the project row, then the task or comment
row (services/locks.py over shared.selects' lock statements) → references 422 → If-Match 412
(conditional.py) → conflicts 409 (db.conflict_savepoint) → the change and its activity entry."""

"""What the API does, one module per resource: handlers parse, call one of these, return.

Services work on the request's session (db.session) and signal failures with flask-smorest's
`abort(status, ...)`, which errors.handle_error turns into problem details."""

"""Use cases, one module per resource: visibility and role checks, SQL, activity recording.
Handlers call these; they know nothing about HTTP beyond the domain errors they raise."""

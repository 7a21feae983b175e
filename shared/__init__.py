"""What every Quartet implementation shares: schema, settings, security primitives, cursors,
the embedded PostgreSQL and the `quartet` command line. Nothing here imports a web framework."""

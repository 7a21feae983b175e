"""Taskboard on Litestar: msgspec Structs, Controllers, Litestar DI and guards, async SQLAlchemy."""

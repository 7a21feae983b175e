"""Taskboard on FastAPI: the reference implementation of the Quartet contract."""

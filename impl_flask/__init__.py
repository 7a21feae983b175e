"""Taskboard on Flask + flask-smorest: synchronous WSGI under gunicorn's threaded workers."""

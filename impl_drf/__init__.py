"""Taskboard on Django REST Framework: the Quartet contract as a Django project."""

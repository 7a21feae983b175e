"""The one Django app of the project: models over the shared schema, nothing else."""

from django.apps import AppConfig


class TaskboardConfig(AppConfig):
    name = "impl_drf"
    label = "taskboard"
    verbose_name = "Taskboard"
    default_auto_field = "django.db.models.BigAutoField"  # unused: every table has its own pk

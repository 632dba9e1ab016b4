from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = "Results and evaluations"

    def ready(self):
        from . import signals  # noqa: F401

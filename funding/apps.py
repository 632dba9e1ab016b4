from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "funding"
    verbose_name = "Funding"

    def ready(self):
        from . import signals  # noqa: F401

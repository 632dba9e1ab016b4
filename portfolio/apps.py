from django.apps import AppConfig
from django.db.backends.signals import connection_created


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"

    def ready(self):
        from . import (
            logins,  # noqa: F401 - counts failed logins at every door
            timestamps,
        )

        connection_created.connect(timestamps.use_compiled_loader)

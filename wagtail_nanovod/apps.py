from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailNanovodConfig(AppConfig):
    """Registers the system checks and the signals; nothing here talks to bintu."""

    name = "wagtail_nanovod"
    label = "wagtail_nanovod"
    verbose_name = _("nanoStream")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
        from .render_rows import connect_signals

        connect_signals()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The shared kernel: the audit log, and the schema history of every domain table.

    Its label stays "sponsorship": the tables were created under it (``sponsorship_*``) and its migrations
    0001–0008 built them before the domain apps below took their models over (state-only moves, 0009).
    """

    name = "sponsorship.core"
    label = "sponsorship"
    verbose_name = _("Sponsorship")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from backend import checks  # noqa: F401  (registers the project's deploy checks)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "zhangzhi.org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from . import checks  # noqa: F401  registers the production check

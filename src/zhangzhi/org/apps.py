from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "zhangzhi.org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from . import audit, checks  # noqa: F401  registers the production check

        audit.connect()  # logins, permission changes and admin saves feed the audit log
        from . import accounts, duties  # noqa: F401  accounts: the login receivers

        duties.connect()  # 三员分立 on every change of groups; the three roles after migrate

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeaturesConfig(AppConfig):
    name = "zhangzhi.features"
    verbose_name = _("Managed objects")

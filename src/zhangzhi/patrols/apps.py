from django.apps import AppConfig


class PatrolsConfig(AppConfig):
    name = "zhangzhi.patrols"

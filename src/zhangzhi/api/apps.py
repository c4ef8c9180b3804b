from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "zhangzhi.api"
    verbose_name = "API"

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "zhangzhi.demo"

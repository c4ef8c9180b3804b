"""The project's URL conf plus one view that fails: for the 500 page test."""

from django.urls import path

from zhangzhi.urls import handler403, handler404, handler500  # noqa: F401
from zhangzhi.urls import urlpatterns as project


def boom(request):
    raise RuntimeError("broken on purpose")


urlpatterns = [path("boom/", boom), *project]

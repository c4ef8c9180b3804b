from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from zhangzhi.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("zhangzhi.cases.urls")),
    path("", include("zhangzhi.monitoring.urls")),
    path("", include("zhangzhi.patrols.urls")),
    path("", include("zhangzhi.web.urls")),
]

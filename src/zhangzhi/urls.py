from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from zhangzhi.api.api import api
from zhangzhi.org import account_views

urlpatterns = [
    path("admin/login/", account_views.admin_login),  # one login for all: lock-out and second step
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/login/code/", account_views.login_otp, name="login-otp"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", account_views.two_factor, name="two-factor"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(
        template_name="registration/change_password_done.html"), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("zhangzhi.org.urls")),
    path("", include("zhangzhi.cases.urls")),
    path("", include("zhangzhi.monitoring.urls")),
    path("", include("zhangzhi.patrols.urls")),
    path("", include("zhangzhi.web.urls")),
]

# error pages in the user's language inside the site's frame; the API keeps its JSON error shape
handler403 = "zhangzhi.web.errors.permission_denied"
handler404 = "zhangzhi.web.errors.page_not_found"
handler500 = "zhangzhi.web.errors.server_error"

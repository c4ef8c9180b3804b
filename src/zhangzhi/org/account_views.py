"""Account pages: login (password, then the TOTP code when enrolled), two-step enrolment, password change.

The admin's own login page is not used: /admin/login/ leads here, so the admin has the same lock-out
and the same second step.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from . import accounts

PENDING_KEY = "_zz_login_pending"  # {"user": pk, "backend": …, "at": epoch s, "next": url}
PENDING_SECONDS = 300


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return reverse(settings.LOGIN_REDIRECT_URL)


class LoginView(auth_views.LoginView):
    """Step one: username and password. An account with a TOTP device goes on to step two before it
    is logged in; the password alone opens nothing."""

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["idle"] = bool(self.request.GET.get("idle"))
        ctx["failures_per_account"] = settings.LOGIN_FAILURES_PER_ACCOUNT
        return ctx

    def form_valid(self, form):
        user = form.get_user()
        if accounts.totp_device(user) is None:
            return super().form_valid(form)
        self.request.session[PENDING_KEY] = {"user": user.pk, "backend": user.backend, "at": int(time.time()),
                                             "next": self.get_success_url()}
        return redirect("login-otp")


@sensitive_post_parameters("otp_token")
@csrf_protect
@never_cache
def login_otp(request):
    """Step two: the 6-digit code of the authenticator app. Wrong codes count as failed logins."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.info(request, _("请重新登录。"))
        return redirect("login")
    user = auth.get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    device = accounts.totp_device(user)
    if device is None:  # the device was removed meanwhile
        request.session.pop(PENDING_KEY, None)
        return redirect("login")
    error = ""
    if request.method == "POST":
        username = user.get_username()
        if accounts.is_locked(request, username):
            return accounts.lockout_response(request, None, {"username": username})
        if accounts.verify_otp(user, device, request.POST.get("otp_token", "")):
            del request.session[PENDING_KEY]
            user.backend = pending["backend"]
            user.otp_device = device  # django-otp marks the session verified on login
            auth.login(request, user)
            return HttpResponseRedirect(_safe_next(request, pending["next"]))
        accounts.count_failure(request, username)
        if getattr(request, "axes_locked_out", False):
            return accounts.lockout_response(request, None, {"username": username})
        error = _("验证码错误或已使用，请输入验证器中当前的 6 位数字。")
    return render(request, "registration/login_otp.html", {"error": error, "username": user.get_username()})


def admin_login(request):
    """The admin's login is ours (lock-out, second step)."""
    next_url = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")


@login_required
@never_cache
def two_factor(request):
    """两步验证: enrol an authenticator app (TOTP), or remove it with a current code."""
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = request.user
    device = accounts.totp_device(user)
    error = ""
    if device is not None:
        if request.method == "POST" and request.POST.get("action") == "remove":
            if accounts.must_enrol(user):
                error = _("管理员账号必须保留两步验证。")
            elif accounts.verify_otp(user, device, request.POST.get("otp_token", "")):
                TOTPDevice.objects.filter(user=user).delete()
                messages.success(request, _("已停用两步验证。"))
                return redirect("two-factor")
            else:
                error = _("验证码错误或已使用，请输入验证器中当前的 6 位数字。")
        return render(request, "registration/two_factor.html", {"enrolled": device, "error": error})
    # enrolment: one unconfirmed device per user, kept until confirmed with a code
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name=_("验证器"), confirmed=False)
    if request.method == "POST":
        if pending.verify_token("".join(request.POST.get("otp_token", "").split())):
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=pending.pk).delete()
            otp_login(request, pending)
            request.session.pop(accounts.PENDING_2FA_KEY, None)
            messages.success(request, _("两步验证已启用：以后登录时需输入验证器中的 6 位数字。"))
            return HttpResponseRedirect(_safe_next(request, request.GET.get("next", "")))
        error = _("验证码错误或已使用，请输入验证器中当前的 6 位数字。")
    uri = pending.config_url
    return render(request, "registration/two_factor.html", {
        "uri": uri, "qr": _qr_svg(uri), "secret": _spaced(_b32(pending)), "error": error,
        "required": accounts.must_enrol(user)})


def _b32(device) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode()


def _spaced(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _qr_svg(uri: str) -> str:
    import segno

    return segno.make(uri, error="m").svg_inline(scale=4, border=2)


class PasswordChangeView(auth_views.PasswordChangeView):
    """修改密码, under the same rules as every password (settings.AUTH_PASSWORD_VALIDATORS). (The admin
    app ships registration/password_change_form.html, and comes first: ours has its own name.)"""

    template_name = "registration/change_password.html"

"""身份鉴别: how people prove who they are, and how long that proof lasts.

- Passwords: at least 8 characters of three of four kinds (`CharacterClassValidator`, with Django's
  length, similarity and common-password validators; settings.AUTH_PASSWORD_VALIDATORS).
- Failed logins: django-axes counts them per account and per client address on every login path
  (the login page, the admin, which sends its login to the same page, and POST /api/v1/auth/token,
  which calls `authenticate` with the request). `LockoutHandler` gives the two their own limits;
  `lockout_response` answers a locked-out request in Chinese (English with the language cookie), as a
  page or in the API's error shape.
- Idle sessions end (`IdleSessionMiddleware`).
- A second factor (TOTP via django-otp) for those who enrol, required of staff and superusers when
  settings.REQUIRE_2FA_FOR_ADMINS (`TwoFactorMiddleware`).
- Who may manage an account (unlock it, revoke its tokens): the user themself for their tokens, the
  chief office (河长办) over the units or posts of the account's person, the security administrator.
"""

from __future__ import annotations

import time

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zhangzhi.lib.errors import ZhangzhiError

from .jurisdiction import paths_q

# -- passwords -------------------------------------------------------------------------------


class CharacterClassValidator:
    """A password mixes at least `min_classes` of: capitals, small letters, digits, symbols (等保 口令复杂度).

    Characters that are neither letters with case nor digits (punctuation, spaces, Chinese) count as
    symbols.
    """

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    @staticmethod
    def classes(password: str) -> int:
        return sum((
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not (c.isupper() or c.islower() or c.isdigit()) for c in password),
        ))

    def validate(self, password: str, user=None) -> None:
        if self.classes(password) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return _("密码须包含大写字母、小写字母、数字、符号中的至少 %(n)d 种。") % {"n": self.min_classes}


# -- failed logins (django-axes) ----------------------------------------------------------------


class LockoutBackend(AxesStandaloneBackend):
    """Axes' backend, except that a call without a request (the shell, a command, the test client's
    `login`) is not an HTTP login attempt: there is no client to count, so it passes to the next backend.
    Every HTTP login path passes its request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with one limit per account and another per client address.

    settings.AXES_LOCKOUT_PARAMETERS is ["username", "ip_address"]; axes gives the attempts matching
    each in that order. A success resets the account's count only: logging in to one's own account
    must not wipe the failures an address piled up against others.
    """

    def _counts(self, request, credentials=None) -> list[int]:
        return [qs.aggregate(n=Sum("failures_since_start"))["n"] or 0
                for qs in self.get_user_attempts(request, credentials)]

    def get_failures(self, request, credentials=None) -> int:
        per_account, per_ip = [*self._counts(request, credentials), 0, 0][:2]
        if per_ip >= settings.LOGIN_FAILURES_PER_IP:
            return max(per_account, settings.LOGIN_FAILURES_PER_ACCOUNT)  # the address is locked
        return per_account

    def reset_user_attempts(self, request, credentials=None) -> int:
        username = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def lockout_message() -> str:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return ngettext(
        "登录失败次数过多，已锁定 %(minutes)d 分钟。请稍后再试，或请本单位河长办、安全管理员解锁。",
        "登录失败次数过多，已锁定 %(minutes)d 分钟。请稍后再试，或请本单位河长办、安全管理员解锁。",
        minutes) % {"minutes": minutes}


class LockedOut(ZhangzhiError):
    """Too many failed logins for this account or this client address."""

    status = 429
    code = "locked_out"


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out login gets (axes' AXES_LOCKOUT_CALLABLE): the API's error shape under /api/,
    else the login page with the reason; 429 either way, with Retry-After."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    if is_api(request):
        response = JsonResponse({"error": {"code": LockedOut.code, "message": lockout_message(),
                                           "fields": {"username": lockout_message()}}}, status=429)
    else:
        response = render(request, "registration/login.html", {
            "locked_out": lockout_message(), "username": username,
            "failures_per_account": settings.LOGIN_FAILURES_PER_ACCOUNT,
            "next": request.POST.get("next") or request.GET.get("next", "")}, status=429)
    response["Retry-After"] = str(settings.LOGIN_LOCKOUT_MINUTES * 60)
    return response


def count_failure(request, username: str) -> None:
    """A failed second step counts like a wrong password (for the lock-out and the audit log)."""
    auth.user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def reset_failures(user) -> None:
    """A success clears the account's failed attempts (not the address's), as on the login page."""
    if settings.AXES_RESET_ON_SUCCESS:
        AccessAttempt.objects.filter(username=user.get_username()).delete()


def is_locked(request, username: str) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return not AxesProxyHandler.is_allowed(request, {"username": username})


def locked_usernames(usernames) -> set[str]:
    """Which of these accounts are locked now (for the admin's list)."""
    from django.utils import timezone

    qs = AccessAttempt.objects.filter(username__in=list(usernames))
    if settings.AXES_COOLOFF_TIME:
        qs = qs.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    totals = qs.values("username").annotate(n=Sum("failures_since_start"))
    return {row["username"] for row in totals if row["n"] >= settings.LOGIN_FAILURES_PER_ACCOUNT}


# -- idle sessions ----------------------------------------------------------------------------

LAST_SEEN_KEY = "_zz_last_seen"
# the session is written again (its expiry pushed back) at most this often, not on every request
LAST_SEEN_GRAIN_S = 60


class IdleSessionMiddleware:
    """Log out a session idle for settings.SESSION_IDLE_MINUTES; the cookie and the stored session
    expire after the same time (SESSION_COOKIE_AGE) and are pushed back while the user is active."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            last = session.get(LAST_SEEN_KEY)
            if last is not None and now - last > settings.SESSION_IDLE_MINUTES * 60:
                auth.logout(request)
                if is_api(request):
                    message = _("长时间未操作，请重新登录。")
                    return JsonResponse({"error": {"code": "session_expired", "message": message, "fields": {}}},
                                        status=401)
                return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path(), 'idle': 1})}")
            if last is None or now - last >= LAST_SEEN_GRAIN_S:
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)


# -- second factor (TOTP) ---------------------------------------------------------------------

PENDING_2FA_KEY = "_zz_2fa_pending"  # a session logged in by a path that skipped the second step


def totp_device(user):
    """The user's confirmed TOTP device, or None."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if user is None or getattr(user, "pk", None) is None:
        return None
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def verify_otp(user, device, code: str) -> bool:
    """Check a code of `device` (django-otp: a code is accepted once; wrong codes slow further tries)."""
    from django_otp import verify_token

    code = "".join(code.split())
    return bool(code) and verify_token(user, device.persistent_id, code) is not None


def must_enrol(user) -> bool:
    """Staff and superusers must have a second factor when the deployment says so."""
    return bool(settings.REQUIRE_2FA_FOR_ADMINS and (user.is_staff or user.is_superuser))


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    """The idle clock starts at login. A login that did not pass the second step (a path other than our
    login page) leaves the session pending for an enrolled user; TwoFactorMiddleware then refuses it."""
    if request is None or not hasattr(request, "session"):
        return
    request.session[LAST_SEEN_KEY] = int(time.time())
    if getattr(user, "otp_device", None) is not None:
        request.session.pop(PENDING_2FA_KEY, None)
    elif totp_device(user) is not None:
        request.session[PENDING_2FA_KEY] = True


EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/")


class TwoFactorMiddleware:
    """Sessions of enrolled users must have passed the second step; staff and superusers who must enrol
    are sent to the enrolment page until they have. Costs no query on an ordinary request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(EXEMPT_PREFIXES):
            if request.session.get(PENDING_2FA_KEY) and not user.is_verified():
                auth.logout(request)
                return self._refuse(request, "second_factor_required", _("请完成两步验证后再继续。"), "login")
            if must_enrol(user) and not user.is_verified():
                return self._refuse(request, "second_factor_enrolment_required",
                                    _("管理员账号须先启用两步验证。"), "two-factor")
        return self.get_response(request)

    @staticmethod
    def _refuse(request, code: str, message: str, to: str):
        if is_api(request):
            return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=403)
        return redirect(f"{reverse(to)}?{urlencode({'next': request.get_full_path()})}")


# -- who manages whose account ----------------------------------------------------------------


def manages_all_accounts(actor, perm: str) -> bool:
    """The superuser and the security administrator (by the model permission `perm`)."""
    return bool(actor is not None and actor.is_authenticated and (actor.is_superuser or actor.has_perm(perm)))


def users_managed_by(actor, perm: str):
    """Accounts `actor` may manage: all of them with `perm` (security administrator, superuser), else
    their own and those of people in the units or current posts under the chief offices they work in."""
    from . import scope

    User = get_user_model()
    if actor is None or not actor.is_authenticated:
        return User.objects.none()
    if manages_all_accounts(actor, perm):
        return User.objects.all()
    paths = scope.write_paths(actor) or []
    from django.utils import timezone

    today = timezone.localdate()
    office = paths_q(paths, "person__units__region__path") | (
        paths_q(paths, "person__posts__region__path") & Q(person__posts__valid_from__lte=today)
        & (Q(person__posts__valid_to__isnull=True) | Q(person__posts__valid_to__gte=today)))
    # staff of other offices and administrators are not an office's to manage
    office &= Q(is_superuser=False)
    return User.objects.filter(Q(pk=actor.pk) | office).distinct()

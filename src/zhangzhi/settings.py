"""Zhangzhi settings: one file, read from the environment, loud on a bad value.

Everything has a development default so `./run demo` works on a fresh machine; production
sets ZHANGZHI_PRODUCTION=1, which turns the defaults that are unsafe into errors.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from zhangzhi.lib.datadir import data_dir
from zhangzhi.lib.timezone import LOCAL_TZ_NAME

BASE_DIR = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


PRODUCTION = env_bool("ZHANGZHI_PRODUCTION", False)
DEBUG = env_bool("ZHANGZHI_DEBUG", False)
VAR_DIR = Path(os.environ.get("ZHANGZHI_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Facts shared by the project (regions, GB 3838, HJ 212 notes); read, never copied into code.
DATA_DIR = data_dir()

SECRET_KEY = os.environ.get("ZHANGZHI_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("ZHANGZHI_SECRET_KEY must be set in production")
    SECRET_KEY = "dev-only-not-secret-zhangzhi"

if PRODUCTION and not os.environ.get("ZHANGZHI_ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ZHANGZHI_ALLOWED_HOSTS must be set in production (the host names it answers to)")
ALLOWED_HOSTS = env_list("ZHANGZHI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
SITE_URL = os.environ.get("ZHANGZHI_SITE_URL", "")  # absolute base for QR codes; request host when empty

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "zhangzhi.org",
    "zhangzhi.features",
    "zhangzhi.patrols",
    "zhangzhi.cases",
    "zhangzhi.monitoring",
    "zhangzhi.web",
    "zhangzhi.api",
    "zhangzhi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "zhangzhi.lib.i18n.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "zhangzhi.org.audit.AuditContextMiddleware",  # who and from which IP, for every audit record
    "django_otp.middleware.OTPMiddleware",
    "zhangzhi.org.accounts.IdleSessionMiddleware",
    "zhangzhi.org.accounts.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lock-out flagged during the request into the answer
]

ROOT_URLCONF = "zhangzhi.urls"
WSGI_APPLICATION = "zhangzhi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zhangzhi.web.context.site",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'zhangzhi.sqlite3'}"
if not DATABASE_URL.startswith(("sqlite:", "postgres:", "postgresql:")):
    raise ImproperlyConfigured(f"DATABASE_URL must be sqlite:/// or postgresql://, got {DATABASE_URL!r}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("ZHANGZHI_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock up front so
        # two writers queue on busy_timeout instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# -- 身份鉴别 (MLPS 2.0 identification and authentication) ---------------------------------------
# Passwords: 8+ characters of at least three kinds (upper, lower, digit, symbol), not a common one, not
# the username. Demo accounts are created without validators (marked demo; production refuses them).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("ZHANGZHI_PASSWORD_MIN_LENGTH", 8)}},
    {"NAME": "zhangzhi.org.accounts.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "zhangzhi.org.accounts.LockoutBackend",  # django-axes: refuses a locked-out account or address first
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:home"

# Failed logins (login page, admin, POST /api/v1/auth/token) are counted per account and per client
# address by django-axes; either reaching its limit locks it for LOCKOUT_MINUTES (an office or security
# administrator can unlock sooner). The per-address limit is higher: one office's PCs share a NAT address.
LOGIN_FAILURES_PER_ACCOUNT = env_int("ZHANGZHI_LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_IP = env_int("ZHANGZHI_LOGIN_FAILURES_PER_IP", 20)
LOGIN_LOCKOUT_MINUTES = env_int("ZHANGZHI_LOGIN_LOCKOUT_MINUTES", 30)
if min(LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, LOGIN_LOCKOUT_MINUTES) < 1:
    raise ImproperlyConfigured("ZHANGZHI_LOGIN_FAILURES_PER_* and ZHANGZHI_LOGIN_LOCKOUT_MINUTES must be 1 or more")
AXES_HANDLER = "zhangzhi.org.accounts.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # this order: LockoutHandler pairs it with the limits
AXES_FAILURE_LIMIT = LOGIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_RESET_ON_SUCCESS = True  # the account's count only: LockoutHandler keeps the address's
AXES_CLIENT_IP_CALLABLE = "zhangzhi.lib.net.client_ip"
AXES_LOCKOUT_CALLABLE = "zhangzhi.org.accounts.lockout_response"
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # logins are in the one audit log (org.ChangeLog), kept and guarded there

# Sessions end after ZHANGZHI_SESSION_IDLE_MINUTES without a request (IdleSessionMiddleware), and the
# cookie and the stored session expire with them.
SESSION_IDLE_MINUTES = env_int("ZHANGZHI_SESSION_IDLE_MINUTES", 30)
if SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured("ZHANGZHI_SESSION_IDLE_MINUTES must be 1 or more")
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# A second factor (TOTP, django-otp) for anyone who enrols; staff and superusers must enrol when this is
# on (the default in production).
REQUIRE_2FA_FOR_ADMINS = env_bool("ZHANGZHI_REQUIRE_2FA_FOR_ADMINS", PRODUCTION)
OTP_TOTP_ISSUER = os.environ.get("ZHANGZHI_OTP_ISSUER", "长制 Zhangzhi")
OTP_TOTP_THROTTLE_FACTOR = 1  # after n wrong codes in a row, wait 2^(n-1) s before the next is checked
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a device's secret

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = LOCAL_TZ_NAME
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [("vendor", VAR_DIR / "vendor")] if (VAR_DIR / "vendor").exists() else []
# Uploads (photos, raw archives) go only through STORAGES["default"] (see zhangzhi.lib.storage): on
# several machines point it at an S3-compatible store (django-storages S3Storage: MinIO, OSS, COS).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"  # never served: files leave through views that check visibility first
# After that check, let the front server send the bytes: e.g. "/protected/" answers with
# X-Accel-Redirect: /protected/<storage name> (an nginx `internal` location aliased to MEDIA_ROOT).
FILES_ACCEL_REDIRECT = os.environ.get("ZHANGZHI_FILES_ACCEL_REDIRECT", "")
if FILES_ACCEL_REDIRECT and not (FILES_ACCEL_REDIRECT.startswith("/") and FILES_ACCEL_REDIRECT.endswith("/")):
    raise ImproperlyConfigured(f"ZHANGZHI_FILES_ACCEL_REDIRECT must be a path like /protected/, "
                               f"got {FILES_ACCEL_REDIRECT!r}")
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ZHANGZHI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)

# Map base layer, e.g. 天地图: "https://t{s}.tianditu.gov.cn/vec_w/wmts?...&tk=KEY". Empty = no tiles.
TILE_URL = os.environ.get("ZHANGZHI_TILE_URL", "")
TILE_ATTRIBUTION = os.environ.get("ZHANGZHI_TILE_ATTRIBUTION", "")
HOTLINE = os.environ.get("ZHANGZHI_HOTLINE", "12345")
API_TOKEN_DAYS = env_int("ZHANGZHI_API_TOKEN_DAYS", 30)

# 等保 level 3 keeps audit records at least six months; the database triggers that guard the log
# hold the same floor, so a shorter retention could not be applied anyway: refuse it at start-up.
AUDIT_MIN_RETENTION_DAYS = 180
AUDIT_RETENTION_DAYS = env_int("ZHANGZHI_AUDIT_RETENTION_DAYS", 365)
if AUDIT_RETENTION_DAYS < AUDIT_MIN_RETENTION_DAYS:
    raise ImproperlyConfigured(f"ZHANGZHI_AUDIT_RETENTION_DAYS must be at least {AUDIT_MIN_RETENTION_DAYS} "
                               f"(the audit log is kept at least 180 days), got {AUDIT_RETENTION_DAYS}")
# What signboards and the public roster print beside a chief: the office hotline only ("hotline"), or
# also the phone a chief chose to publish (Person.published_phone, "published"). Never `Person.phone`.
SIGNBOARD_PHONE = os.environ.get("ZHANGZHI_SIGNBOARD_PHONE", "hotline")
if SIGNBOARD_PHONE not in ("hotline", "published"):
    raise ImproperlyConfigured(f"ZHANGZHI_SIGNBOARD_PHONE must be hotline or published, got {SIGNBOARD_PHONE!r}")
# Revoked and expired API tokens are kept this long (listed as such), then `zhangzhi prune_tokens` deletes them.
API_TOKEN_KEEP_DAYS = env_int("ZHANGZHI_API_TOKEN_KEEP_DAYS", 30)

# -- behind a reverse proxy -------------------------------------------------------------------
# X-Forwarded-For is believed only from these addresses (IPs or CIDRs); see zhangzhi.lib.net.client_ip.
TRUSTED_PROXIES = env_list("ZHANGZHI_TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"ZHANGZHI_TRUSTED_PROXIES: {_proxy!r} is not an IP address or CIDR") from None
# e.g. https://hzz.example.gov.cn when the proxy serves another origin than Django sees
CSRF_TRUSTED_ORIGINS = env_list("ZHANGZHI_CSRF_TRUSTED_ORIGINS")
# e.g. HTTP_X_FORWARDED_PROTO when the proxy ends TLS and says so in that header (set it only then)
_ssl_header = os.environ.get("ZHANGZHI_SECURE_PROXY_SSL_HEADER", "")
if _ssl_header:
    if not _ssl_header.startswith("HTTP_"):
        raise ImproperlyConfigured("ZHANGZHI_SECURE_PROXY_SSL_HEADER must be a request.META name such as "
                                   f"HTTP_X_FORWARDED_PROTO, got {_ssl_header!r}")
    SECURE_PROXY_SSL_HEADER = (_ssl_header, "https")
USE_X_FORWARDED_HOST = env_bool("ZHANGZHI_USE_X_FORWARDED_HOST", False)

# -- HTTPS in production (`zhangzhi check --deploy` is clean with these defaults) -------------------
if PRODUCTION:
    SESSION_COOKIE_SECURE = env_bool("ZHANGZHI_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("ZHANGZHI_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("ZHANGZHI_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ZHANGZHI_HSTS_INCLUDE_SUBDOMAINS", True)
    # the header only allows a submission to the browsers' preload lists; set 0 if the domain must never be
    SECURE_HSTS_PRELOAD = env_bool("ZHANGZHI_HSTS_PRELOAD", True)
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZHANGZHI_LOG_LEVEL", "WARNING")},
}

"""Zhangzhi settings: one file, read from the environment, loud on a bad value.

Everything has a development default so `./run demo` works on a fresh machine; production
sets ZHANGZHI_PRODUCTION=1, which turns the defaults that are unsafe into errors.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

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
DATA_DIR = Path(os.environ.get("ZHANGZHI_DATA_DIR", BASE_DIR.parent / "shared" / "data")).resolve()

SECRET_KEY = os.environ.get("ZHANGZHI_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("ZHANGZHI_SECRET_KEY must be set in production")
    SECRET_KEY = "dev-only-not-secret-zhangzhi"

ALLOWED_HOSTS = [h for h in os.environ.get("ZHANGZHI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
SITE_URL = os.environ.get("ZHANGZHI_SITE_URL", "")  # absolute base for QR codes; request host when empty

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
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
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [("vendor", VAR_DIR / "vendor")] if (VAR_DIR / "vendor").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ZHANGZHI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)

# Map base layer, e.g. 天地图: "https://t{s}.tianditu.gov.cn/vec_w/wmts?...&tk=KEY". Empty = no tiles.
TILE_URL = os.environ.get("ZHANGZHI_TILE_URL", "")
TILE_ATTRIBUTION = os.environ.get("ZHANGZHI_TILE_ATTRIBUTION", "")
HOTLINE = os.environ.get("ZHANGZHI_HOTLINE", "12345")
API_TOKEN_DAYS = env_int("ZHANGZHI_API_TOKEN_DAYS", 30)

if not DEBUG and PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZHANGZHI_LOG_LEVEL", "WARNING")},
}

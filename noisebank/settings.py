"""Django settings for Noisebank, read from the environment.

Defaults give a working single-machine install on SQLite: clone, run, done. Production sets
NOISEBANK_SECRET_KEY, NOISEBANK_ALLOWED_HOSTS and DATABASE_URL (see deploy/.env.example).
"""

import contextlib
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from noisebank.lib.env import env_bool, env_int, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("NOISEBANK_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("NOISEBANK_DEBUG", False)

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "django-insecure"}


def _secret_key() -> str:
    key = env_str("NOISEBANK_SECRET_KEY").strip()
    if key:
        if not DEBUG and (key.lower() in PLACEHOLDER_SECRETS or len(key) < 32):
            raise ImproperlyConfigured(
                "NOISEBANK_SECRET_KEY is a placeholder or shorter than 32 characters; "
                "set a real secret (python3 -c 'import secrets; print(secrets.token_urlsafe(50))') "
                "or set NOISEBANK_DEBUG=1 for local development."
            )
        return key
    # No key given: keep one beside the data so sessions survive restarts of a local install.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [
    h.strip()
    for h in env_str("NOISEBANK_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("NOISEBANK_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "noisebank.accounts",
    "noisebank.catalog",
    "noisebank.ingest",
    "noisebank.exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "noisebank.accounts.middleware.BearerTokenMiddleware",
    "noisebank.accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "noisebank.urls"
ASGI_APPLICATION = "noisebank.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "noisebank.accounts.context_processors.role_flags",
            ],
        },
    },
]


SQLITE_OPTIONS = {
    # WAL lets readers (exports, the list) run while the worker writes; IMMEDIATE takes the
    # write lock at BEGIN so concurrent writers wait instead of failing.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def _databases() -> dict:
    url = env_str("DATABASE_URL")
    if not url and env_str("DB") == "postgres":
        url = "postgres://postgres@127.0.0.1:5432/noisebank"
    if url:
        db = dj_database_url.parse(url, conn_max_age=env_int("NOISEBANK_CONN_MAX_AGE", 0))
        db["CONN_HEALTH_CHECKS"] = True
        if db["ENGINE"].endswith("sqlite3"):
            db["OPTIONS"] = {**SQLITE_OPTIONS, **db.get("OPTIONS", {})}
        return {"default": db}
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "noisebank.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
            # A file, not Django's in-memory default: exports read through a connection of their
            # own, which must see the test data (and its snapshot rules) as in production.
            "TEST": {"NAME": str(DATA_DIR / "test-noisebank.sqlite3")},
        }
    }


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/recordings/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("NOISEBANK_STATIC_ROOT", str(DATA_DIR / "static")))
# WhiteNoise warns about a missing STATIC_ROOT even when serving from the finders.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the app's folders so a clone runs without collectstatic.
WHITENOISE_USE_FINDERS = True

MEDIA_ROOT = DATA_DIR / "media"
# Media is never served from a public URL: views check permission first (see catalog.views).
MEDIA_URL = "/media/"
EXPORT_ROOT = DATA_DIR / "exports"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

EMAIL_BACKEND = env_str("NOISEBANK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("NOISEBANK_FROM_EMAIL", "noisebank@localhost")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("NOISEBANK_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

NOISEBANK_EXPORT_TTL_HOURS = env_int("NOISEBANK_EXPORT_TTL_HOURS", 72)
NOISEBANK_MAX_UPLOAD_MB = env_int("NOISEBANK_MAX_UPLOAD_MB", 500)
NOISEBANK_BASE_URL = env_str("NOISEBANK_BASE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("NOISEBANK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

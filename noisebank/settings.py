"""Django settings for Noisebank, read from the environment.

Defaults give a working single-machine install on SQLite: clone, run, done. Production sets
NOISEBANK_SECRET_KEY, NOISEBANK_ALLOWED_HOSTS and DATABASE_URL (see deploy/.env.example).
"""

import contextlib
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from noisebank.lib.env import env_bool, env_int, env_str
from noisebank.lib.logs import logging_config
from noisebank.lib.zones import zone_or_none

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
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    # Swagger UI's scripts and styles from ninja's own static files: without it in
    # INSTALLED_APPS ninja loads them from a CDN, and the docs page is blank offline.
    "ninja",
    "axes",
    "noisebank.accounts",
    "noisebank.catalog",
    "noisebank.ingest",
    "noisebank.exports",
    "noisebank.curation",
    "noisebank.ops",
]

MIDDLEWARE = [
    "noisebank.ops.middleware.request_id_middleware",
    "noisebank.ops.middleware.replica_reads_middleware",
    "django.middleware.security.SecurityMiddleware",
    "noisebank.ingest.uploads.UploadSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "noisebank.accounts.middleware.BearerTokenMiddleware",
    "noisebank.accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: it answers a locked-out log-in (django-axes).
    "axes.middleware.AxesMiddleware",
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


def _parse_database_url(url: str) -> dict[str, Any]:
    db: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=env_int("NOISEBANK_CONN_MAX_AGE", 0))
    )
    db["CONN_HEALTH_CHECKS"] = True
    if db["ENGINE"].endswith("sqlite3"):
        db["OPTIONS"] = {**SQLITE_OPTIONS, **db.get("OPTIONS", {})}
    return db


def _databases() -> dict:
    url = env_str("DATABASE_URL")
    if not url and env_str("DB") == "postgres":
        url = "postgres://postgres@127.0.0.1:5432/noisebank"
    if url:
        databases = {"default": _parse_database_url(url)}
        replica_url = env_str("DATABASE_REPLICA_URL")
        if replica_url:
            # Catalogue reads and exports (noisebank.ops.replica); the server keeps it in sync.
            databases["replica"] = _parse_database_url(replica_url)
        return databases
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "noisebank.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
            # Closing a WAL database checkpoints it: 19 ms after every worker task when each
            # task closed its connection (bench/ingest.py). A local file needs no reconnecting.
            "CONN_MAX_AGE": None,
            # A file, not Django's in-memory default: exports read through a connection of their
            # own, which must see the test data (and its snapshot rules) as in production.
            "TEST": {"NAME": str(DATA_DIR / "test-noisebank.sqlite3")},
        }
    }


DATABASES = _databases()
DATABASE_ROUTERS = ["noisebank.ops.replica.ReplicaRouter"]
# After a POST, the browser reads from the primary this long (seconds), so it sees its change.
NOISEBANK_REPLICA_PIN_SECONDS = env_int("NOISEBANK_REPLICA_PIN_SECONDS", 10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"  # views.home: each role's own start page
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

MEDIA_ROOT = Path(env_str("NOISEBANK_MEDIA_ROOT", str(DATA_DIR / "media")))
# Media is never served from a public URL: views check permission first (noisebank.files).
MEDIA_URL = "/media/"
EXPORT_ROOT = Path(env_str("NOISEBANK_EXPORT_ROOT", str(DATA_DIR / "exports")))
# Behind nginx: it sends audio and export files from `internal` locations (deploy/nginx.conf).
NOISEBANK_X_ACCEL_REDIRECT = env_bool("NOISEBANK_X_ACCEL_REDIRECT", False)

NOISEBANK_STORAGE = env_str("NOISEBANK_STORAGE", "local")
NOISEBANK_S3_BUCKET = env_str("NOISEBANK_S3_BUCKET")


def _storages() -> dict:
    """Audio ("default") and finished exports ("exports"): local folders, or an S3 bucket."""
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    if NOISEBANK_STORAGE == "local":
        return {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},  # MEDIA_ROOT
            "exports": {"BACKEND": "noisebank.files.ExportFileStorage"},  # EXPORT_ROOT
            "staticfiles": static,
        }
    if NOISEBANK_STORAGE != "s3":
        raise ImproperlyConfigured(f"NOISEBANK_STORAGE={NOISEBANK_STORAGE!r}: use local or s3.")
    if not NOISEBANK_S3_BUCKET:
        raise ImproperlyConfigured("NOISEBANK_STORAGE=s3 needs NOISEBANK_S3_BUCKET.")
    # Credentials come the usual boto3 way: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or a role.
    s3 = {
        "bucket_name": NOISEBANK_S3_BUCKET,
        "endpoint_url": env_str("NOISEBANK_S3_ENDPOINT_URL") or None,
        "region_name": env_str("NOISEBANK_S3_REGION") or None,
        "addressing_style": env_str("NOISEBANK_S3_ADDRESSING_STYLE") or None,
        "signature_version": "s3v4",
        "default_acl": None,  # private objects: only presigned URLs reach them
        "querystring_auth": True,
        "querystring_expire": env_int("NOISEBANK_S3_URL_SECONDS", 300),
        "file_overwrite": False,
    }
    backend = "storages.backends.s3.S3Storage"
    return {
        "default": {"BACKEND": backend, "OPTIONS": {**s3, "location": "media"}},
        "exports": {"BACKEND": backend, "OPTIONS": {**s3, "location": "exports"}},
        "staticfiles": static,
    }


STORAGES = _storages()

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "exports"],
    }
}

# E-mail: printed to the console unless an SMTP server is named (NOISEBANK_EMAIL_HOST).
EMAIL_HOST = env_str("NOISEBANK_EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "NOISEBANK_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("NOISEBANK_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("NOISEBANK_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("NOISEBANK_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("NOISEBANK_EMAIL_STARTTLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("NOISEBANK_EMAIL_SSL", EMAIL_PORT == 465)
EMAIL_TIMEOUT = env_int("NOISEBANK_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("NOISEBANK_FROM_EMAIL", "noisebank@localhost")

# Self sign-up (noisebank.accounts.signup): open, invite (an administrator's invitation) or
# closed. Codes and links that verify an address last this long; invitations, this many days.
NOISEBANK_SIGNUP = env_str("NOISEBANK_SIGNUP", "closed").strip().lower()
if NOISEBANK_SIGNUP not in ("open", "invite", "closed"):
    raise ImproperlyConfigured(
        f"NOISEBANK_SIGNUP={NOISEBANK_SIGNUP!r}: use open, invite or closed."
    )
NOISEBANK_SIGNUP_CODE_MINUTES = env_int("NOISEBANK_SIGNUP_CODE_MINUTES", 30)
NOISEBANK_INVITATION_DAYS = env_int("NOISEBANK_INVITATION_DAYS", 7)
# A password reset link works once, for this long.
PASSWORD_RESET_TIMEOUT = env_int("NOISEBANK_PASSWORD_RESET_MINUTES", 120) * 60
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out log-in before any check
    "noisebank.accounts.backends.EmailOrUsernameBackend",
]
# Log-in throttling (django-axes): after this many failed log-ins for one account from one
# address, that pair is locked for a while (a lock per address alone would let one office lock
# out its colleagues; per account alone would let anyone lock out anyone). A success resets it.
AXES_FAILURE_LIMIT = env_int("NOISEBANK_LOGIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("NOISEBANK_LOGIN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "noisebank.accounts.throttling.locked_out"
AXES_VERBOSE = False
# Unlocking is a command (noisebank axes_reset_username USER), not a page of the admin.
AXES_ENABLE_ADMIN = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("NOISEBANK_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Security headers on every response. Behind TLS (NOISEBANK_SECURE_COOKIES=1) browsers are also
# told to use HTTPS only (HSTS) and plain HTTP is redirected; the proxy in front says which
# scheme the client used (nginx: X-Forwarded-Proto; uvicorn trusts NOISEBANK_FORWARDED_ALLOW_IPS).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 31_536_000 if SESSION_COOKIE_SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SESSION_COOKIE_SECURE
# Browsers' preload list is hard to leave again: the operator opts in. Without it, check
# --deploy's reminder (W021) is answered here, not ignored.
SECURE_HSTS_PRELOAD = SESSION_COOKIE_SECURE and env_bool("NOISEBANK_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes on the private port speak HTTP
# Scripts and styles only from this site: no inline script runs (pages load theirs from
# /static/); styles may be inline (Swagger UI sets some), images may be data: URIs (plots).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

NOISEBANK_EXPORT_TTL_HOURS = env_int("NOISEBANK_EXPORT_TTL_HOURS", 72)
NOISEBANK_MAX_UPLOAD_MB = env_int("NOISEBANK_MAX_UPLOAD_MB", 500)
# Recordings shorter or longer than this are refused at upload (seconds).
NOISEBANK_MIN_DURATION_S = 0.5
NOISEBANK_MAX_DURATION_S = env_int("NOISEBANK_MAX_DURATION_MIN", 1440) * 60
# A recording whose `processing` heartbeat (updated_at, moved every minute of measuring) is this
# old belongs to a worker that died: it is re-queued once.
NOISEBANK_PROCESSING_TIMEOUT_S = env_int("NOISEBANK_PROCESSING_TIMEOUT_MIN", 30) * 60
# The local time of sites whose region names no time zone (long-term indicators: Lday, Lnight).
NOISEBANK_TIME_ZONE = env_str("NOISEBANK_TIME_ZONE", "UTC")
if zone_or_none(NOISEBANK_TIME_ZONE) is None:
    raise ImproperlyConfigured(
        f"NOISEBANK_TIME_ZONE={NOISEBANK_TIME_ZONE!r} is not an IANA time zone (e.g. Africa/Accra)."
    )
# Unfinished chunked uploads are deleted after this many hours.
NOISEBANK_UPLOAD_TTL_HOURS = env_int("NOISEBANK_UPLOAD_TTL_HOURS", 24)
UPLOAD_ROOT = DATA_DIR / "uploads"

# Every uploaded file goes to a temporary file on disk through a handler that stops storing it
# as soon as it passes NOISEBANK_MAX_UPLOAD_MB; requests that announce a larger body are refused
# before it is read (noisebank.ingest.uploads: a middleware, and an ASGI guard since Django's
# ASGI handler reads the whole body before any middleware runs). 2.5 MB caps the non-file form
# fields, and is where an ASGI request body spills from memory to disk (0 would mean never).
FILE_UPLOAD_HANDLERS = ["noisebank.ingest.uploads.LimitedTemporaryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# A filter may list 1,000 noise_ids as 1,000 query parameters (catalog.filters.NOISE_ID_MAX),
# with the other filters beside them: Django's default (1,000 fields) would refuse that link.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2_000
FILE_UPLOAD_TEMP_DIR = str(UPLOAD_ROOT / "tmp")
with contextlib.suppress(OSError):
    Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_PERMISSIONS = 0o640
NOISEBANK_BASE_URL = env_str("NOISEBANK_BASE_URL", "http://127.0.0.1:8000")

# Operations (noisebank.ops): /metrics is off unless a token is set; /healthz warns below this.
NOISEBANK_METRICS_TOKEN = env_str("NOISEBANK_METRICS_TOKEN")
NOISEBANK_MIN_FREE_DISK_MB = env_int("NOISEBANK_MIN_FREE_DISK_MB", 1024)

try:
    LOGGING = logging_config(
        env_str("NOISEBANK_LOG_FORMAT", "plain"), env_str("NOISEBANK_LOG_LEVEL", "INFO")
    )
except ValueError as e:
    raise ImproperlyConfigured(str(e)) from None

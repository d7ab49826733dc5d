"""Settings for the Member Care Console, all from environment variables.

Every value has a safe development default. A value that cannot be used stops
start-up with ImproperlyConfigured naming the variable, so a typo in a
deployment never turns into a console that half works.
"""

import hashlib
import hmac
import ipaddress
import json
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "", environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(name, default).strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    if name not in environ:
        return default
    word = environ[name].strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {environ[name]!r}.")


def env_float(
    name: str, default: float, *, minimum: float = 0.0, environ: Mapping[str, str] = os.environ
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    if value <= minimum:
        raise ImproperlyConfigured(f"{name} must be greater than {minimum:g}, not {raw!r}.")
    return value


def env_int(
    name: str, default: int, *, minimum: int = 1, environ: Mapping[str, str] = os.environ
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {raw!r}.")
    return value


def env_choice(
    name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str] = os.environ
) -> str:
    value = environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def env_list(name: str, default: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    return [item.strip() for item in environ.get(name, default).split(",") if item.strip()]


def env_json_object(name: str, environ: Mapping[str, str] = os.environ) -> dict[str, int]:
    raw = environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc.msg}.") from None
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value.values()
    ):
        raise ImproperlyConfigured(
            f"{name} must map endpoint names to positive whole numbers, like "
            '{"POST /v2/customers": 100}.'
        )
    return value


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-member-care-development-only"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "customers",
]

MIDDLEWARE = [
    "customers.console.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "customers.console.middleware.HtmxMessagesMiddleware",
    # Last, as django-axes asks: it turns a lockout during sign-in into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "membercare.urls"
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "membercare.wsgi.application"
ASGI_APPLICATION = "membercare.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "customers.console.context_processors.console",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
_default_database_url = f"sqlite:///{VAR_DIR / 'membercare.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL") or _default_database_url, conn_max_age=60
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL cannot be used: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the task worker share the file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
# Addresses (or networks) of our own reverse proxies: X-Forwarded-For is believed only
# from them. Empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must list IP addresses or networks, not {_proxy!r}."
        ) from None

# Sign-in throttling (django-axes): failures are counted per username *and* address, so
# one person's typos or an attacker's guesses never lock out someone else signing in
# from the same address (behind a TLS proxy or a shop's NAT, everyone shares one).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "customers.console.addresses.axes_client_address"
AXES_USERNAME_CALLABLE = "customers.console.addresses.axes_username"
AXES_LOCKOUT_CALLABLE = "customers.console.forms.locked_out"
# Successful sign-ins are not logged by axes (AccessLog would grow without end).
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Production hardening: on whenever DEBUG is off, so `check --deploy` is clean.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
X_FRAME_OPTIONS = "DENY"
# A strict Content-Security-Policy (django-csp; Django 5.2 has none of its own):
# scripts and styles only from our own static files, no inline script or style, no
# eval (htmx runs with allowEval off, see base.html), nothing framed or posted elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- Capillary -----------------------------------------------------------
# An empty base URL means the embedded emulator, in-process.
CAPILLARY_BASE_URL = env_str("CAPILLARY_BASE_URL").rstrip("/")
if CAPILLARY_BASE_URL and not CAPILLARY_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"CAPILLARY_BASE_URL must start with https:// (or http://), not {CAPILLARY_BASE_URL!r}."
    )
CAPILLARY_AUTH = env_choice("CAPILLARY_AUTH", "basic", ("basic", "oauth"))
CAPILLARY_TILL_CODE = env_str("CAPILLARY_TILL_CODE", "membercare.till")
CAPILLARY_TILL_PASSWORD = env_str("CAPILLARY_TILL_PASSWORD", "membercare123")
CAPILLARY_CLIENT_KEY = env_str("CAPILLARY_CLIENT_KEY", "membercare-key")
CAPILLARY_CLIENT_SECRET = env_str("CAPILLARY_CLIENT_SECRET", "membercare-secret")
if CAPILLARY_BASE_URL:
    _needed = (
        ("CAPILLARY_TILL_CODE", "CAPILLARY_TILL_PASSWORD")
        if CAPILLARY_AUTH == "basic"
        else ("CAPILLARY_CLIENT_KEY", "CAPILLARY_CLIENT_SECRET")
    )
    for _name in _needed:
        if not os.environ.get(_name, "").strip():
            raise ImproperlyConfigured(
                f"{_name} must be set when CAPILLARY_BASE_URL points at a real cluster "
                f"with CAPILLARY_AUTH={CAPILLARY_AUTH}."
            )
CAPILLARY_SOURCE = env_str("CAPILLARY_SOURCE", "INSTORE").upper()
CAPILLARY_ACCOUNT_ID = env_str("CAPILLARY_ACCOUNT_ID")
CAPILLARY_CONNECT_TIMEOUT = env_float("CAPILLARY_CONNECT_TIMEOUT", 3.0)
CAPILLARY_READ_TIMEOUT = env_float("CAPILLARY_READ_TIMEOUT", 10.0)
CAPILLARY_RATE_LIMITS = env_json_object("CAPILLARY_RATE_LIMITS")
CAPILLARY_RATE_LIMIT_STATE = env_str(
    "CAPILLARY_RATE_LIMIT_STATE", str(VAR_DIR / "capillary-rate-limit.sqlite3")
)
# Where the shared quota lives. "auto": Redis when REDIS_URL is set, else PostgreSQL
# when the database is PostgreSQL (every host shares it), else the SQLite file above
# (one host). ":memory:" as the state keeps it in the process (tests).
REDIS_URL = env_str("REDIS_URL")
CAPILLARY_RATE_LIMIT_BACKEND = env_choice(
    "CAPILLARY_RATE_LIMIT_BACKEND", "auto", ("auto", "sqlite", "postgres", "redis", "memory")
)
if CAPILLARY_RATE_LIMIT_BACKEND == "auto":
    if REDIS_URL:
        CAPILLARY_RATE_LIMIT_BACKEND = "redis"
    elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        CAPILLARY_RATE_LIMIT_BACKEND = "postgres"
    elif CAPILLARY_RATE_LIMIT_STATE == ":memory:":
        CAPILLARY_RATE_LIMIT_BACKEND = "memory"
    else:
        CAPILLARY_RATE_LIMIT_BACKEND = "sqlite"
if CAPILLARY_RATE_LIMIT_BACKEND == "redis" and not REDIS_URL.startswith(
    ("redis://", "rediss://", "unix://")
):
    raise ImproperlyConfigured(
        "CAPILLARY_RATE_LIMIT_BACKEND=redis needs REDIS_URL "
        f"(redis://host:6379/0, rediss:// or unix://), not {REDIS_URL!r}."
    )
if (
    CAPILLARY_RATE_LIMIT_BACKEND == "postgres"
    and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
):
    raise ImproperlyConfigured(
        "CAPILLARY_RATE_LIMIT_BACKEND=postgres needs a PostgreSQL DATABASE_URL."
    )
# Capillary counts a request when it arrives, the limiter when it leaves: each
# grant holds its slot this much longer than the window, so a request that
# travels slower than the one a minute later cannot make one too many. A second:
# 250 ms was once too little on a loaded host (the two-host test saw 41 requests
# reach a 40-a-minute quota), and a second costs under 2% of the quota.
CAPILLARY_RATE_LIMIT_MARGIN_MS = env_int("CAPILLARY_RATE_LIMIT_MARGIN_MS", 1000, minimum=0)
CAPILLARY_EMULATOR_STATE = env_str(
    "CAPILLARY_EMULATOR_STATE", str(VAR_DIR / "capillary-emulator.sqlite3")
)
CAPILLARY_EMULATOR_ORG = env_str("CAPILLARY_EMULATOR_ORG")
if CAPILLARY_EMULATOR_ORG and not Path(CAPILLARY_EMULATOR_ORG).is_file():
    raise ImproperlyConfigured(
        f"CAPILLARY_EMULATOR_ORG names {CAPILLARY_EMULATOR_ORG!r}, which is not a file."
    )

# --- Change history ------------------------------------------------------
# Signs the audit hash chain, so someone with database access but not this key
# cannot re-forge it. Set it explicitly in production: the default derives from
# SECRET_KEY, and rotating that would leave the existing chain unverifiable.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY")
if not AUDIT_HMAC_KEY:
    AUDIT_HMAC_KEY = hmac.new(
        SECRET_KEY.encode(), b"membercare.audit-chain", hashlib.sha256
    ).hexdigest()
elif len(AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be at least 32 characters long.")
# Signed checkpoints of the chain (customers.history.checkpoints): the worker takes one
# every so many minutes, and when the history grows past a multiple of so many entries.
AUDIT_CHECKPOINT_EVERY_MINUTES = env_int("AUDIT_CHECKPOINT_EVERY_MINUTES", 15)
AUDIT_CHECKPOINT_EVERY_ENTRIES = env_int("AUDIT_CHECKPOINT_EVERY_ENTRIES", 10_000)

# Sources, status labels, programs, card series and custom fields for the pickers
# (no customer endpoint lists them): an org file in the emulator's format.
CAPILLARY_ORG_CATALOGUE = env_str("CAPILLARY_ORG_CATALOGUE")
if CAPILLARY_ORG_CATALOGUE and not Path(CAPILLARY_ORG_CATALOGUE).is_file():
    raise ImproperlyConfigured(
        f"CAPILLARY_ORG_CATALOGUE names {CAPILLARY_ORG_CATALOGUE!r}, which is not a file."
    )

IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 100)
# Days a finished import keeps its rows (the job and every row's audit entry stay).
IMPORT_ROWS_RETENTION_DAYS = env_int("IMPORT_ROWS_RETENTION_DAYS", 90)
# Bulk-upsert batches a worker keeps in flight: Capillary works on one while the
# worker audits and records another.
IMPORT_IN_FLIGHT_BATCHES = env_int("IMPORT_IN_FLIGHT_BATCHES", 2)
# Task-worker processes (on any host) that send one import's batches side by side:
# each queued task beyond the first joins the job while its workers report.
IMPORT_WORKERS_PER_JOB = env_int("IMPORT_WORKERS_PER_JOB", 1)

# Every line names its request and user; LOG_FORMAT=json makes each line a JSON object.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "customers.console.logs.RequestContextFilter"},
        "no_403": {"()": "customers.console.logs.DropForbidden"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s] %(message)s"
        },
        "json": {"()": "customers.console.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request"],
        }
    },
    # One line per Capillary call comes from customers.capillary; httpx's own is noise.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.request": {"filters": ["no_403"]},
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
    },
}
CSRF_FAILURE_VIEW = "customers.console.views.csrf_failure"

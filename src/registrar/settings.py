"""Django settings for Registrar, read from the environment."""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("REGISTRAR_DATA", Path.cwd() / "registrar-data"))

# The key anyone can read in this file: fine for tests and debugging, refused by `serve` and
# `worker` otherwise (registrar.core.security).
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = os.environ.get("REGISTRAR_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = os.environ.get("REGISTRAR_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("REGISTRAR_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "registrar.core",
    "registrar.directory",
    "registrar.catalogue",
    "registrar.learning",
    "registrar.journal",
    "registrar.notify",
    "registrar.jobs",
    "registrar.api",
    "registrar.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "registrar.portal.middleware.UserLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "registrar.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "registrar.wsgi.application"


DB_TIMEOUT = float(os.environ.get("REGISTRAR_DB_TIMEOUT", "30"))


def database_from_env() -> dict:
    """The default database: PostgreSQL from DATABASE_URL, else a SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        u = urlparse(url)
        if u.scheme not in ("postgres", "postgresql"):
            raise RuntimeError(f"DATABASE_URL: unsupported scheme {u.scheme!r}")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(u.path.lstrip("/")) or "registrar",
            "USER": unquote(u.username or ""),
            "PASSWORD": unquote(u.password or ""),
            "HOST": u.hostname or "",
            "PORT": str(u.port or ""),
            "CONN_MAX_AGE": 60,
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("REGISTRAR_DB", str(Path.cwd() / "registrar.sqlite3")),
        "OPTIONS": {
            # WAL lets readers work while an import writes; IMMEDIATE takes the write
            # lock at BEGIN so two writers queue instead of failing mid-transaction.
            # temp_store=FILE: a savepoint's journal in memory made each UPDATE inside one 15x
            # slower (docs/decisions.md), and sorts and staging tables stay out of the process.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768; PRAGMA temp_store=FILE;",
            "transaction_mode": "IMMEDIATE",
            # How long a writer waits for another's write lock before `database_busy`.
            "timeout": DB_TIMEOUT,
        },
    }


def jobs_database(default: dict) -> dict:
    """Where jobs, uploads and sessions live: a second SQLite file beside the main one, so that
    queueing a job or signing in never waits for a running import's write lock; on PostgreSQL
    the same database through its own connection, so progress is visible while an import's
    transaction is open."""
    if default["ENGINE"].endswith("sqlite3"):
        main = Path(default["NAME"])
        return {
            **default,
            "NAME": os.environ.get(
                "REGISTRAR_JOBS_DB", str(main.with_name(main.stem + "-jobs.sqlite3"))
            ),
        }
    return {**default, "TEST": {"MIRROR": "default"}}


DATABASES = {"default": database_from_env()}
DATABASES["jobs"] = jobs_database(DATABASES["default"])
DATABASE_ROUTERS = ["registrar.routers.JobsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "directory.User"

# The first hashes every new password; the others check hashes imported from other systems
# (users import, user_password_hash) and are upgraded to the first at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "registrar.directory.hashers.SHA512CryptPasswordHasher",
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("REGISTRAR_TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Uploaded files above this size are refused before they are read (0: no limit).
REGISTRAR_MAX_UPLOAD_BYTES = int(os.environ.get("REGISTRAR_MAX_UPLOAD_BYTES", str(2 << 30)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 << 20
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 << 20

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

EMAIL_HOST = os.environ.get("REGISTRAR_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("REGISTRAR_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("REGISTRAR_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("REGISTRAR_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("REGISTRAR_SMTP_TLS", "") == "1"
EMAIL_TIMEOUT = int(os.environ.get("REGISTRAR_SMTP_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("REGISTRAR_MAIL_FROM", "registrar@localhost")

# Bulk jobs: 0 means no row limit (the seeds' 5,000-row cap is not copied).
REGISTRAR_MAX_ROWS = int(os.environ.get("REGISTRAR_MAX_ROWS", "0"))
REGISTRAR_BATCH_SIZE = int(os.environ.get("REGISTRAR_BATCH_SIZE", "5000"))
# Rows of a batch in the columnar lane (bulk.columnar): vector work pays per call, not per row.
REGISTRAR_COLUMNAR_BATCH_SIZE = int(os.environ.get("REGISTRAR_COLUMNAR_BATCH_SIZE", "50000"))
# ...and at most this many cells: a wide file (users: 39 columns) takes smaller batches, so a
# batch's memory does not grow with the file's width.
REGISTRAR_COLUMNAR_BATCH_CELLS = int(os.environ.get("REGISTRAR_COLUMNAR_BATCH_CELLS", "500000"))
# 0 sends every row the row path (to compare the two, or to rule the lane out).
REGISTRAR_COLUMNAR = os.environ.get("REGISTRAR_COLUMNAR", "1") != "0"
# Argon2 settings for bulk-imported passwords; upgraded at first sign-in.
REGISTRAR_BULK_ARGON2 = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"registrar": {"handlers": ["console"], "level": "WARNING"}},
}

# --- jobs: supervision and retention (issue 10) ---
# A running job's worker writes a heartbeat every REGISTRAR_JOB_HEARTBEAT seconds; a job whose
# heartbeat is older than REGISTRAR_JOB_STALE seconds is failed by the reaper (worker dead).
REGISTRAR_JOB_HEARTBEAT = float(os.environ.get("REGISTRAR_JOB_HEARTBEAT", "5"))
REGISTRAR_JOB_STALE = float(os.environ.get("REGISTRAR_JOB_STALE", "60"))
# Uploads are deleted once imported, and all of them after this many hours.
REGISTRAR_UPLOAD_RETENTION_HOURS = float(os.environ.get("REGISTRAR_UPLOAD_RETENTION_HOURS", "24"))
# Results, rejects and log files of operations finished this many days ago are deleted (0: never).
REGISTRAR_OPERATION_FILE_RETENTION_DAYS = float(
    os.environ.get("REGISTRAR_OPERATION_FILE_RETENTION_DAYS", "90")
)
# How often a worker runs the purge, in seconds (0: only `registrar purge`).
REGISTRAR_PURGE_INTERVAL = float(os.environ.get("REGISTRAR_PURGE_INTERVAL", "3600"))

# --- spreadsheets (issue 10) ---
# Every spreadsheet is parsed in a child process (registrar.bulk.io.sheets) within these bounds;
# a file past one is refused with file_too_large naming it (0: no limit).
# An .xlsx or .ods is a zip: refuse one whose members would inflate past this many bytes.
REGISTRAR_MAX_UNZIPPED_BYTES = int(os.environ.get("REGISTRAR_MAX_UNZIPPED_BYTES", str(2 << 30)))
# Cells of the first sheet: declared (<dimension>), then counted while reading.
REGISTRAR_MAX_SHEET_CELLS = int(os.environ.get("REGISTRAR_MAX_SHEET_CELLS", "20000000"))
# Columns a row may reach (1,024 is column AMJ).
REGISTRAR_MAX_SHEET_COLUMNS = int(os.environ.get("REGISTRAR_MAX_SHEET_COLUMNS", "1024"))
# The reading child's address space (MB) and processor time (seconds).
REGISTRAR_SHEET_MEMORY_MB = int(os.environ.get("REGISTRAR_SHEET_MEMORY_MB", "1024"))
REGISTRAR_SHEET_CPU_SECONDS = int(os.environ.get("REGISTRAR_SHEET_CPU_SECONDS", "300"))

# --- accounts: sign-in, throttling, password links, HTTPS, secret key (issue 10) ---
# The installation's secret key: REGISTRAR_SECRET_KEY, else the file `registrar init` writes
# (DATA_DIR/secret-key, mode 0600), else the published development key that `serve` and
# `worker` refuse outside debug.
SECRET_KEY_FILE = Path(os.environ.get("REGISTRAR_SECRET_KEY_FILE", DATA_DIR / "secret-key"))
if not os.environ.get("REGISTRAR_SECRET_KEY"):
    try:
        SECRET_KEY = SECRET_KEY_FILE.read_text(encoding="utf-8").strip() or DEV_SECRET_KEY
    except OSError:
        SECRET_KEY = DEV_SECRET_KEY

# Links in mails (set-password, reset) start with this address.
REGISTRAR_BASE_URL = os.environ.get("REGISTRAR_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = ["{0.scheme}://{0.netloc}".format(urlparse(REGISTRAR_BASE_URL))]
# A set-password link (welcome or forgot-password mail) works this many hours, once.
PASSWORD_RESET_TIMEOUT = int(float(os.environ.get("REGISTRAR_PASSWORD_LINK_HOURS", "72")) * 3600)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(os.environ.get("REGISTRAR_PASSWORD_MIN_LENGTH", "10"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in goes through a backend that counts failures (registrar.core.throttle) in a database
# cache whose table lives in the jobs database (registrar.routers).
AUTHENTICATION_BACKENDS = ["registrar.portal.auth.ThrottledModelBackend"]
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "registrar_throttle",
        # Expired counters are culled first; only past this many live ones would Django cull live
        # ones (locks included) by key order, so it sits far above what real traffic holds.
        "OPTIONS": {"MAX_ENTRIES": 5_000_000},
    },
}
# Failures counted within `window` seconds; a key past its limit is refused for `lockout`
# seconds, even with the right password or token (0: no limit).
REGISTRAR_THROTTLE = {
    "window": float(os.environ.get("REGISTRAR_THROTTLE_WINDOW", "900")),
    "lockout": float(os.environ.get("REGISTRAR_THROTTLE_LOCKOUT", "900")),
    "signin_account": int(os.environ.get("REGISTRAR_SIGNIN_FAILURES_PER_ACCOUNT", "10")),
    "signin_address": int(os.environ.get("REGISTRAR_SIGNIN_FAILURES_PER_ADDRESS", "30")),
    "token_address": int(os.environ.get("REGISTRAR_TOKEN_FAILURES_PER_ADDRESS", "30")),
    "reset_address": int(os.environ.get("REGISTRAR_RESETS_PER_ADDRESS", "10")),
    "reset_email": int(os.environ.get("REGISTRAR_RESETS_PER_EMAIL", "3")),
}
# Behind one reverse proxy: trust its X-Forwarded-Proto (HTTPS) and the address it appends
# last to X-Forwarded-For (the client address that failures are counted by).
REGISTRAR_BEHIND_PROXY = os.environ.get("REGISTRAR_BEHIND_PROXY", "") == "1"


def https_settings(env) -> dict:
    """Django's settings for a deployment over HTTPS (REGISTRAR_HTTPS=1): secure session and
    CSRF cookies, HSTS, HTTP redirected to HTTPS; and the proxy's scheme header when trusted."""
    out: dict = {}
    if env.get("REGISTRAR_HTTPS", "") == "1":
        out |= {
            "SESSION_COOKIE_SECURE": True,
            "CSRF_COOKIE_SECURE": True,
            "SECURE_SSL_REDIRECT": env.get("REGISTRAR_SSL_REDIRECT", "1") == "1",
            "SECURE_HSTS_SECONDS": int(env.get("REGISTRAR_HSTS_SECONDS", "31536000")),
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": env.get("REGISTRAR_HSTS_SUBDOMAINS", "") == "1",
        }
    if env.get("REGISTRAR_BEHIND_PROXY", "") == "1":
        out["SECURE_PROXY_SSL_HEADER"] = ("HTTP_X_FORWARDED_PROTO", "https")
    return out


REGISTRAR_HTTPS = os.environ.get("REGISTRAR_HTTPS", "") == "1"
globals().update(https_settings(os.environ))

# --- notifications and calendar feed (issue 11) ---
# Every page's header shows the signed-in user's unread notification count (one query, only
# when a template shows it).
TEMPLATES[0]["OPTIONS"]["context_processors"].append("registrar.portal.context.notifications")
# A calendar feed carries the user's events that ended at most this many days ago, and every
# later one (0: every past event too).
REGISTRAR_CALENDAR_FEED_PAST_DAYS = int(os.environ.get("REGISTRAR_CALENDAR_FEED_PAST_DAYS", "365"))
# A feed's address is its secret (/calendar/<token>.ics): the development server's access log
# (django.server) and Django's log of 4xx/5xx answers (django.request) print paths, so both
# mask it. django.server is declared again as Django declares it, plus the filter (configuring
# a logger here replaces its handlers).
LOGGING.setdefault("filters", {})["redact_feed_tokens"] = {
    "()": "registrar.notify.feed_logging.RedactFeedTokens"
}
LOGGING.setdefault("formatters", {})["registrar.server"] = {
    "()": "django.utils.log.ServerFormatter",
    "format": "[{server_time}] {message}",
    "style": "{",
}
LOGGING["handlers"]["registrar.server"] = {
    "level": "INFO",
    "class": "logging.StreamHandler",
    "formatter": "registrar.server",
}
LOGGING["loggers"]["django.server"] = {
    "handlers": ["registrar.server"],
    "level": "INFO",
    "propagate": False,
    "filters": ["redact_feed_tokens"],
}
LOGGING["loggers"].setdefault("django.request", {}).setdefault("filters", []).append(
    "redact_feed_tokens"
)

# --- Mail delivery retries (helper "mail", registrar.notify.outbox) ---------------------------
# A mail that cannot be delivered (server down, 4xx reply) is tried again after these waits, in
# minutes (the last repeats), until it has had REGISTRAR_MAIL_MAX_ATTEMPTS tries; then it fails.
REGISTRAR_MAIL_MAX_ATTEMPTS = int(os.environ.get("REGISTRAR_MAIL_MAX_ATTEMPTS", "6"))
REGISTRAR_MAIL_RETRY_MINUTES = tuple(
    float(m) for m in os.environ.get("REGISTRAR_MAIL_RETRY_MINUTES", "1,5,30,120,480").split(",")
)

# Selections (issue 11): the largest `--ids @FILE` a selection reads.
REGISTRAR_MAX_IDS_BYTES = int(os.environ.get("REGISTRAR_MAX_IDS_BYTES", str(10 << 20)))

# --- Completion reports and the dashboard (helper "reports", issue 12 parts 2 and 3) ---------
INSTALLED_APPS += ["registrar.reports"]
# The dashboard's and the API's reports are kept until the data changes (registrar.reports.cache:
# the key holds the newest journal change); this bounds how long a write made outside the
# journal (raw SQL) can go unseen. 0: every request computes afresh.
REGISTRAR_REPORT_CACHE_SECONDS = int(os.environ.get("REGISTRAR_REPORT_CACHE_SECONDS", "300"))

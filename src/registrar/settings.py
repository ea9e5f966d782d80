"""Django settings for Registrar, read from the environment."""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("REGISTRAR_DATA", Path.cwd() / "registrar-data"))

SECRET_KEY = os.environ.get("REGISTRAR_SECRET_KEY", "dev-only-insecure-key-change-me")
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
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
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

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
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
# An .xlsx is a zip: refuse one that would inflate past this many bytes.
REGISTRAR_MAX_UNZIPPED_BYTES = int(os.environ.get("REGISTRAR_MAX_UNZIPPED_BYTES", str(4 << 30)))
# Argon2 settings for bulk-imported passwords; upgraded at first sign-in.
REGISTRAR_BULK_ARGON2 = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"registrar": {"handlers": ["console"], "level": "WARNING"}},
}

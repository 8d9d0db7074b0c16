"""Shelf settings: everything comes from environment variables, with safe local defaults.

Local default: SQLite file, local file storage and the task queue in the same
database, all under SHELF_DATA_DIR. At scale, DATABASE_URL points at PostgreSQL
and the storage/worker settings of later modules select their scale back ends.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SHELF_ENV = os.environ.get("SHELF_ENV", "development")
PRODUCTION = SHELF_ENV == "production"
DEBUG = env_bool("SHELF_DEBUG", False)

DATA_DIR = Path(os.environ.get("SHELF_DATA_DIR", BASE_DIR / "var")).resolve()


def _secret_key() -> str:
    """A production secret must be given; locally one is generated once and kept in the data dir."""
    key = os.environ.get("SHELF_SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise RuntimeError("SHELF_SECRET_KEY must be set when SHELF_ENV=production")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("SHELF_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("SHELF_CSRF_TRUSTED_ORIGINS")
SESSION_COOKIE_SECURE = env_bool("SHELF_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("SHELF_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the API docs page from its own static files, not a CDN the Content-Security-Policy refuses
    "shelf.audit",
    "shelf.storage",
    "shelf.accounts",
    "shelf.catalog",
    "shelf.images",
    "shelf.scanning",
    "shelf.compute",
    "shelf.products",
    "shelf.prereview",
    "shelf.notifications",
    "shelf.webhooks",
    "shelf.reviews",
    "shelf.orders",
    "shelf.billing",
    "shelf.storefront",
    "shelf.console",
    "shelf",
]

MIDDLEWARE = [
    # Outermost, so that every answer carries the policy, including the error shapes made just below.
    "shelf.security.ContentSecurityPolicyMiddleware",
    "shelf.api.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "shelf.text.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shelf.urls"
WSGI_APPLICATION = "shelf.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "shelf" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "shelf.console.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'shelf.sqlite3'}",
        conn_max_age=int(os.environ.get("SHELF_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker share the file: wait for locks instead of failing,
    # and take the write lock up front so concurrent transactions queue cleanly. Connections are kept like
    # PostgreSQL's: opening one reads the whole schema again (about 5 ms, more than a cached catalog answer).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("SHELF_DB_POOL", True):
    # Django's psycopg pool, one per process: a request borrows a connection and gives it back, so a web process
    # with N threads holds at most SHELF_DB_POOL_MAX connections. A pool replaces persistent connections (Django
    # refuses CONN_MAX_AGE with one); with CONN_HEALTH_CHECKS (above) Django has the pool check a connection before
    # lending it, so one PostgreSQL closed (a restart) is replaced, not handed to a request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("SHELF_DB_POOL_MIN", "1")),
        "max_size": int(os.environ.get("SHELF_DB_POOL_MAX", "10")),  # at least the web threads (SHELF_WEB_THREADS)
        "timeout": float(os.environ.get("SHELF_DB_POOL_TIMEOUT", "10")),  # waiting for a free connection
    }

# Redis (REDIS_URL) serves the cache, the sessions, the sign-in throttle and, with SHELF_TASKS_BACKEND=rq, the job
# queues; every key Shelf writes starts with SHELF_REDIS_PREFIX, so several Shelfs (or test runs) share one server.
REDIS_URL = os.environ.get("REDIS_URL", "")
SHELF_REDIS_PREFIX = os.environ.get("SHELF_REDIS_PREFIX", "shelf")
if REDIS_URL:
    # One cache for all processes. Cached catalog answers are keyed by the catalog's version either way.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": SHELF_REDIS_PREFIX,
        }
    }
    # Read from Redis, written through to the database: a Redis restart or eviction signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Each process its own memory: cached catalog answers (shelf.storefront.cache) are keyed by the catalog's
    # version, read from the database on every request, so no worker needs to hear of another's changes.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("SHELF_CACHE_ENTRIES", "5000"))},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["shelf.accounts.throttle.ThrottledModelBackend"]
# Password guessing: at most this many failures per username (or per address) within the window.
SHELF_LOGIN_MAX_FAILURES_PER_USER = int(os.environ.get("SHELF_LOGIN_MAX_FAILURES_PER_USER", "10"))
SHELF_LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("SHELF_LOGIN_MAX_FAILURES_PER_IP", "50"))
# The header a trusted reverse proxy puts the client's address in (e.g. X-Forwarded-For); unset, the
# connecting address counts. Never set it without such a proxy in front: clients can send any header.
SHELF_CLIENT_IP_HEADER = os.environ.get("SHELF_CLIENT_IP_HEADER", "")
SHELF_LOGIN_WINDOW_SECONDS = int(os.environ.get("SHELF_LOGIN_WINDOW_SECONDS", "900"))
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "storefront:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("SHELF_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "shelf" / "locale"]
TIME_ZONE = os.environ.get("SHELF_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it even before collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Background jobs: the database queue (django_tasks_db, `manage.py db_worker`) by default; SHELF_TASKS_BACKEND=rq puts
# them on RQ in Redis (REDIS_URL), worked by `manage.py rqworker default scans` processes on any machine
# (docs/deploy.md). Any other value is a django-tasks backend's import path.
TASK_QUEUES = ["default", "scans"]
_tasks_backend = os.environ.get("SHELF_TASKS_BACKEND", "db")
TASKS = {
    "default": {
        "BACKEND": {"db": "django_tasks_db.DatabaseBackend", "rq": "shelf.workers.RQBackend"}.get(
            _tasks_backend, _tasks_backend
        ),
        "QUEUES": TASK_QUEUES,
    }
}
if TASKS["default"]["BACKEND"] == "shelf.workers.RQBackend":
    if not REDIS_URL:
        raise RuntimeError("SHELF_TASKS_BACKEND=rq needs REDIS_URL")
    INSTALLED_APPS.append("django_rq")
    # A job may run this long (a scan of a large image, a region copy); RQ stops it after that.
    RQ_QUEUES = {
        name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": int(os.environ.get("SHELF_JOB_TIMEOUT", "3600"))}
        for name in TASK_QUEUES
    }
    RQ = {
        "JOB_CLASS": "django_tasks_rq.Job",  # runs a django-tasks task
        "QUEUE_CLASS": "shelf.workers.Queue",  # shelf/workers.py
        "WORKER_CLASS": "shelf.workers.Worker",
    }
# On RQ, a job whose worker died is run again by RQ (shelf/workers.py), after its lease ran out: the stale-row
# sweeps of housekeeping (images validating, scans or instance jobs running for too long) are the database queue's.
SHELF_JOBS_RERUN_BY_QUEUE = TASKS["default"]["BACKEND"] == "shelf.workers.RQBackend"
SHELF_WORKER_HEARTBEAT = int(os.environ.get("SHELF_WORKER_HEARTBEAT", "30"))
SHELF_WORKER_LEASE_GRACE = int(os.environ.get("SHELF_WORKER_LEASE_GRACE", "60"))
SHELF_WORKER_MAINTENANCE = int(os.environ.get("SHELF_WORKER_MAINTENANCE", "60"))

EMAIL_BACKEND = os.environ.get("SHELF_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("SHELF_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("SHELF_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("SHELF_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SHELF_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SHELF_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("SHELF_EMAIL_FROM", "shelf@localhost")
SHELF_PUBLIC_URL = os.environ.get("SHELF_PUBLIC_URL", "http://127.0.0.1:8000")  # links in emails

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SHELF_LOG_LEVEL", "INFO")},
}
# Object storage (docs/deploy.md, "Object storage"): local files under the data directory, or any S3-compatible
# service once SHELF_S3_BUCKET is set. SHELF_STORAGE names the class outright when neither default fits.
SHELF_S3_ENDPOINT = os.environ.get("SHELF_S3_ENDPOINT", "")  # empty: AWS itself
SHELF_S3_BUCKET = os.environ.get("SHELF_S3_BUCKET", "")
SHELF_S3_ACCESS_KEY = os.environ.get("SHELF_S3_ACCESS_KEY", "")
SHELF_S3_SECRET_KEY = os.environ.get("SHELF_S3_SECRET_KEY", "")
SHELF_S3_REGION = os.environ.get("SHELF_S3_REGION", "us-east-1")
SHELF_S3_PART_SIZE = int(os.environ.get("SHELF_S3_PART_SIZE", str(8 * 1024**2)))  # S3's minimum is 5 MiB
SHELF_S3_URL_EXPIRY = int(os.environ.get("SHELF_S3_URL_EXPIRY", "300"))  # seconds a presigned download URL lives
SHELF_STORAGE = os.environ.get("SHELF_STORAGE") or (
    "shelf.storage.s3.S3Storage" if SHELF_S3_BUCKET else "shelf.storage.local.LocalStorage"
)
if SHELF_STORAGE == "shelf.storage.s3.S3Storage":
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {}}
    AWS_STORAGE_BUCKET_NAME = SHELF_S3_BUCKET
    AWS_S3_ENDPOINT_URL = SHELF_S3_ENDPOINT or None
    AWS_S3_ACCESS_KEY_ID = SHELF_S3_ACCESS_KEY or None
    AWS_S3_SECRET_ACCESS_KEY = SHELF_S3_SECRET_KEY or None
    AWS_S3_REGION_NAME = SHELF_S3_REGION
    AWS_S3_ADDRESSING_STYLE = "path" if SHELF_S3_ENDPOINT else None  # what MinIO, Ceph and moto all speak
    AWS_S3_SIGNATURE_VERSION = "s3v4"
    AWS_QUERYSTRING_EXPIRE = SHELF_S3_URL_EXPIRY
    AWS_DEFAULT_ACL = None  # the bucket stays private: every read is a presigned URL or goes through Shelf

# Images: limits of the import pipeline.
SHELF_IMAGE_QUOTA_BYTES = int(os.environ.get("SHELF_IMAGE_QUOTA_BYTES", str(1024**4)))  # per organisation, 1 TiB
SHELF_IMAGE_MAX_VIRTUAL_SIZE = int(os.environ.get("SHELF_IMAGE_MAX_VIRTUAL_SIZE", str(2 * 1024**4)))  # 2 TiB
SHELF_UPLOAD_CHUNK_MAX = int(os.environ.get("SHELF_UPLOAD_CHUNK_MAX", str(64 * 1024**2)))  # one PUT, 64 MiB
SHELF_UPLOAD_EXPIRY_HOURS = int(os.environ.get("SHELF_UPLOAD_EXPIRY_HOURS", "168"))
# Base images (docs/adr/0007): the slug of the marketplace's own organisation, whose images operators may publish.
SHELF_BASE_IMAGE_ORGANIZATION = os.environ.get("SHELF_BASE_IMAGE_ORGANIZATION", "shelf")

# Compute: the back end instances run on (shelf.compute.backends), the host's memory budget for the local one
# (default half of RAM), how long a guest may take to print its first console line and to power off gracefully.
SHELF_COMPUTE_BACKEND = os.environ.get("SHELF_COMPUTE_BACKEND", "local")
SHELF_COMPUTE_MEMORY_MIB = int(
    os.environ.get("SHELF_COMPUTE_MEMORY_MIB", str(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**21))
)
SHELF_COMPUTE_BOOT_TIMEOUT = int(os.environ.get("SHELF_COMPUTE_BOOT_TIMEOUT", "300"))
SHELF_COMPUTE_STOP_TIMEOUT = int(os.environ.get("SHELF_COMPUTE_STOP_TIMEOUT", "30"))
SHELF_COMPUTE_ACCEL = os.environ.get("SHELF_COMPUTE_ACCEL", "auto")  # auto (canary boot), kvm or tcg
SHELF_COMPUTE_LIBVIRT_URI = os.environ.get("SHELF_COMPUTE_LIBVIRT_URI", "qemu:///system")  # the libvirt back end
# Build servers (docs/compute.md): live ones per organisation, and the largest size a provider may choose.
SHELF_BUILD_SERVERS_PER_ORGANIZATION = int(os.environ.get("SHELF_BUILD_SERVERS_PER_ORGANIZATION", "2"))
SHELF_BUILD_SERVER_MAX_MEMORY_MIB = int(os.environ.get("SHELF_BUILD_SERVER_MAX_MEMORY_MIB", "2048"))
SHELF_BUILD_SERVER_MAX_VCPUS = int(os.environ.get("SHELF_BUILD_SERVER_MAX_VCPUS", "2"))
SHELF_BUILD_SERVER_MAX_DISK_GIB = int(os.environ.get("SHELF_BUILD_SERVER_MAX_DISK_GIB", "40"))
# Boot each image once (throwaway seed) after its scan passes, before it may be listed; seconds to wait for it.
SHELF_BOOT_CHECK = os.environ.get("SHELF_BOOT_CHECK", "1") == "1"
SHELF_BOOT_CHECK_TIMEOUT = int(os.environ.get("SHELF_BOOT_CHECK_TIMEOUT", "180"))
SHELF_BOOT_CHECK_MEMORY_MIB = int(os.environ.get("SHELF_BOOT_CHECK_MEMORY_MIB", "512"))

# Multipart uploads (product pictures and documents): one cap, enforced while streaming.
SHELF_MULTIPART_FILE_MAX = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = ["shelf.uploads.LimitedUploadHandler"]

# Scans: each runs in a separate scanner process with these limits.
SHELF_SCAN_MEMORY_LIMIT = int(os.environ.get("SHELF_SCAN_MEMORY_LIMIT", str(2 * 1024**3)))
SHELF_SCAN_TIMEOUT = int(os.environ.get("SHELF_SCAN_TIMEOUT", "900"))
# OSV archives to fetch on a schedule (production), e.g. OSV's Debian/all.zip; comma-separated.
SHELF_VULNDB_URLS = env_list("SHELF_VULNDB_URLS")
SHELF_VULNDB_REFRESH_HOURS = int(os.environ.get("SHELF_VULNDB_REFRESH_HOURS", "24"))
SHELF_VULNDB_MAX_BYTES = int(os.environ.get("SHELF_VULNDB_MAX_BYTES", str(2 * 1024**3)))

# Webhooks: only for development and tests, allow http:// to this machine and private target addresses.
SHELF_WEBHOOK_ALLOW_HTTP = env_bool("SHELF_WEBHOOK_ALLOW_HTTP", False)

# Billing (docs/billing.md): metered hours rounded per second (Tencent) or per started hour (AWS); the server part
# refunded when a prepaid instance is terminated early: unused whole months at the monthly price, or none.
SHELF_BILLING_USAGE_ROUNDING = os.environ.get("SHELF_BILLING_USAGE_ROUNDING", "second")  # second | hour
SHELF_BILLING_TERMINATE_REFUND = os.environ.get("SHELF_BILLING_TERMINATE_REFUND", "unused_months")  # | none

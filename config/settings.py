"""Django settings, filled from secrets.json and the environment (see config/secrets.py).

With no secrets.json the app runs on its embedded default: DEBUG on, SQLite and local media/.
Database keys switch it to PostgreSQL, a bucket switches media to S3.
"""

from pathlib import Path

from config.secrets import Secrets

BASE_DIR = Path(__file__).resolve().parent.parent
SECRETS = Secrets.load(BASE_DIR / "secrets.json")

DEBUG = SECRETS.get_bool("DEBUG", not SECRETS.from_file)
SECRET_KEY = SECRETS.secret_key(DEBUG)
ALLOWED_HOSTS = SECRETS.get_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = SECRETS.get_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.apps.SiteConfig",
    "members",
    "posts",
    "moderation",
    "activity",
    "search",
    "ops",
    "members.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",
    "config.middleware.NulRefusingMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "config.limits.RequestBodyLimitMiddleware",
    "config.errors.ErrorPageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.caching.PersonalPageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "members.throttle.ThrottleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.decode_slots.DecoderBusyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": SECRETS.database(BASE_DIR)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: it compiles any query whose estimated cost passes jit_above_cost, and the
    # feed's one query with a branch per kind of reader (posts/selectors.py) is estimated at
    # millions while it runs in a few milliseconds; JIT took 260 ms of each (bench/readers).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"-c jit=off {_options.get('options', '')}".strip()
# Sessions, rate-limit counters and the cache are shared by every app server: in Redis when
# REDIS_URL names one (sessions are then cached_db: read from Redis, always written to the
# database first, so none is lost with it), else in the database. See the README's "Redis".
CACHES = SECRETS.caches()
SESSION_ENGINE = SECRETS.session_engine()
# Rendered feed cards and grids (posts/cards.py), in each process's memory, whatever holds the
# shared cache. Their keys name everything they show that can change, so an entry is never
# stale, only unused: no worker needs to hear of another's writes. A card is about 4 KB: 3,000
# of them are 12 MB per worker at most.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "OPTIONS": {"MAX_ENTRIES": 3000},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = ["members.backends.UsernameOrEmailBackend"]
LOGIN_URL = "members:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "members:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Email (config/mail.py sends it): the console by default, so a newcomer sees reset links in
# the bin/run terminal; SES, SMTP or a file from secrets.json. Names as Django's own.
globals().update(SECRETS.email())
SITE_NAME = SECRETS.get_str("SITE_NAME", "Instagram")
# Password reset links work once and for an hour (Django's default is three days).
PASSWORD_RESET_TIMEOUT = SECRETS.get_int("PASSWORD_RESET_TIMEOUT", 3600)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

# Photos are processed in memory (posts/images.py caps them at 20 MB); anything larger is
# streamed to a temporary file by Django rather than held in RAM.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_HANDLERS = [
    "config.uploads.MemoryFileUploadHandler",
    "config.uploads.TemporaryFileUploadHandler",
]
# Whole request bodies (config/limits.py; deploy/nginx-instagram.conf matches): 1 MB, but
# 200 MB where photos are uploaded, a post holding up to ten photos of 20 MB each.
REQUEST_BODY_MAX_BYTES = 1_048_576
UPLOAD_BODY_MAX_BYTES = 209_715_200
UPLOAD_URL_NAMES = ["posts:new", "members:edit"]

STORAGES = SECRETS.storages()

# HTTPS: on by default outside DEBUG; SECURE_PROXY_SSL_HEADER trusts a load balancer's header.
SECURE_PROXY_SSL_HEADER = SECRETS.proxy_ssl_header()
SECURE_SSL_REDIRECT = SECRETS.get_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = SECRETS.get_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECRETS.get_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = SECRETS.get_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = SECRETS.get_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SECRETS.get_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# Pages send the CSRF token in their forms, so no script needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
SECURE_CONTENT_TYPE_OPTIONS = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Preload is a one-way submission to browsers' lists, for the operator to opt into.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# How many proxies (load balancer, nginx) append to X-Forwarded-For in front of the app: the
# client's address is the one the farthest of them saw (config/ratelimit.py).
TRUSTED_PROXY_COUNT = SECRETS.get_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# Sign-up attempts (not only successes) allowed per client address per hour.
SIGNUP_LIMIT_PER_HOUR = SECRETS.get_int("SIGNUP_LIMIT_PER_HOUR", 10, minimum=1)
# Abuse limits per member, far above what a person does by hand (config.ratelimit.per_member).
COMMENT_LIMIT_PER_MINUTE = SECRETS.get_int("COMMENT_LIMIT_PER_MINUTE", 20, minimum=1)
FOLLOW_LIMIT_PER_HOUR = SECRETS.get_int("FOLLOW_LIMIT_PER_HOUR", 200, minimum=1)
REPORT_LIMIT_PER_DAY = SECRETS.get_int("REPORT_LIMIT_PER_DAY", 50, minimum=1)

# Large photo decodes at once on this host, across all its workers (config/decode_slots.py).
# One slot keeps five workers and a 50-megapixel decode within a 1 GiB server (README,
# Performance); a host with more memory can take one more slot per 300 MB or so.
DECODE_SLOTS = SECRETS.get_int("DECODE_SLOTS", 1, minimum=1)
# Decodes smaller than this (a 12 MP JPEG, decoded at 3 MP) need no slot.
DECODE_SLOT_MIN_PIXELS = SECRETS.get_int("DECODE_SLOT_MIN_PIXELS", 4_000_000, minimum=0)
# Decodes at least this large run in a short-lived process of their own (posts/isolated.py),
# so no worker grows by them: 16 MP and more, which only PNG, GIF, HEIC and WebP reach.
DECODE_ISOLATE_MIN_PIXELS = SECRETS.get_int("DECODE_ISOLATE_MIN_PIXELS", 16_000_000, minimum=0)
# How long a photo waits for a slot before the answer is a 429 "busy, sending again". None by
# default: a request thread that waits is one a page cannot have (README, Performance).
DECODE_WAIT_SECONDS = SECRETS.get_int("DECODE_WAIT_SECONDS", 0, minimum=0)
DECODE_RETRY_AFTER_SECONDS = SECRETS.get_int("DECODE_RETRY_AFTER_SECONDS", 3, minimum=1)
# Where the slot files live; every worker of a host must see the same folder.
DECODE_SLOT_DIR = SECRETS.get_str("DECODE_SLOT_DIR", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}

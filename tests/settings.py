"""The project's settings, as production reads them, pointed at the test services.

A developer's own secrets.json is never read by the tests: they use tests/secrets.test.json,
PostgreSQL from TEST_DATABASE_URL (bin/test finds or starts one) and the moto S3 server that
tests/conftest.py starts.
"""

import os
import tempfile
from pathlib import Path

os.environ["DJANGO_SECRETS_FILE"] = str(Path(__file__).with_name("secrets.test.json"))
os.environ["DATABASE_URL"] = os.environ.get(
    "TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)

from config.settings import *  # noqa: F403

# One test database per run, so that runs side by side (two checkouts, CI) never collide.
DATABASES["default"]["TEST"] = {"NAME": f"test_instagram_{os.getpid()}"}  # noqa: F405

# Hashing passwords at full strength costs ~0.3 s each; the tests create hundreds of users.
# Server processes started by tests use production's hashers: factories.server_user() makes
# users whose password hash they can check.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# The in-process tests serve static files straight from static/, without collectstatic; the
# server processes that tests start run collectstatic and use production's manifest storage.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# Decode slots of this run's own, so that test runs side by side never wait for each other's
# photos (servers that tests start use production's default, a folder of the temporary one).
DECODE_SLOT_DIR = tempfile.mkdtemp(prefix=f"test-decode-slots-{os.getpid()}-")

"""Test settings: fast hashing, the emulator in memory, tasks run immediately."""

import os

os.environ.setdefault("DEBUG", "true")

from membercare.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CAPILLARY_BASE_URL = ""
CAPILLARY_EMULATOR_STATE = ":memory:"
CAPILLARY_RATE_LIMIT_STATE = ":memory:"
# Each test process keeps its own quota, even on PostgreSQL or with REDIS_URL set.
CAPILLARY_RATE_LIMIT_BACKEND = "memory"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Batches sent from pool threads would not see a test's uncommitted rows.
IMPORT_IN_FLIGHT_BATCHES = 1
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Serve static files from the source folders, as runserver does, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

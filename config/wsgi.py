"""WSGI entry point for gunicorn: ``gunicorn config.wsgi``.

A configuration mistake is reported in one line on stderr (DJANGO_TRACEBACK=1 shows the
traceback), and the worker exits with status 4, which gunicorn's master takes for "App failed
to load" (``Arbiter.APP_LOAD_ERROR``): it stops, rather than starting workers that fail the
same way again and again.
"""

import os

from django.core.wsgi import get_wsgi_application

from config.secrets import errors_in_one_line

APP_LOAD_ERROR = 4

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
with errors_in_one_line(exit_status=APP_LOAD_ERROR):
    application = get_wsgi_application()

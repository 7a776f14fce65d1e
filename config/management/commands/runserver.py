"""runserver that says once, at start, when it runs on the embedded default.

The notice used to be a system check, so every manage.py command printed it. Only the process
the developer started prints it: the autoreloader's child, which restarts on every code change,
does not (Django marks it with DJANGO_AUTORELOAD_ENV).
"""

import os

from django.utils import autoreload
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as WhiteNoiseRunserver,
)

from config.apps import embedded_default_notice


class Command(WhiteNoiseRunserver):
    def run(self, **options) -> None:
        if os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) != "true":
            notice = embedded_default_notice()
            if notice:
                self.stdout.write(notice)
                # This process then only watches its child: a buffered line would never show.
                self.stdout.flush()
        super().run(**options)

#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

A configuration mistake is reported in one line (see config/secrets.py); ``--traceback`` or
DJANGO_TRACEBACK=1 shows the traceback instead.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.secrets import errors_in_one_line

    with errors_in_one_line(traceback="--traceback" in sys.argv):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

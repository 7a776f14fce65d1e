"""gunicorn settings: ``gunicorn -c deploy/gunicorn.conf.py``, as deploy.sh and the unit run it.

On a host this file is read through the ``current`` symlink, and ``chdir`` names that symlink
rather than the release behind it: on HUP gunicorn re-reads this file, changes into ``current``
again and forks new workers there, so they import the release deploy.sh has just switched to.
Host-specific values come from the environment (``shared/host.env`` on a deployed host).
"""

import multiprocessing
import os

# The project directory as named, not resolved (abspath keeps symlinks): <dir>/current.
chdir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
wsgi_app = "config.wsgi"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers answer with "Connection: close", so a graceful reload never leaves a client
# holding a kept-alive connection to a worker that is going away.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Photos are processed during the request (posts/images.py): up to ten of 20 MB each.
timeout = 120
# Requests in flight get this long to finish when workers are replaced or stopped.
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# Only workers import the app, never the master, so each HUP loads the code afresh.
preload_app = False
# No control socket in ~/.gunicorn: two gunicorns on one host would fight over it.
control_socket_disable = True

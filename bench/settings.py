"""Production's settings (config/settings.py, filled from the environment the bench sets) plus
a trivial view, so the feed can be compared with the cheapest page the same server serves."""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urlconf"
# The bench collects static files into a folder of its own, not the checkout's staticfiles/.
STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]

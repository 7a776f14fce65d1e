"""Rows the whole site shares, whatever app uses them."""

from django.db import models


class RateCounter(models.Model):
    """How many times one thing (a scope and a key) happened in one window of time.

    Written only by ``config.ratelimit``, with one atomic upsert per event, so every app server
    counts the same events (with REDIS_URL the counts live in Redis, and here only while Redis
    does not answer). The key is stored as its SHA-256, so any text can be a key; ``label``
    is a short readable version of it, for the admin.
    """

    scope = models.CharField(max_length=50)
    digest = models.CharField(max_length=64)
    label = models.CharField(max_length=100)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "digest", "window_start"], name="ratecounter_one_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.label}: {self.count}"

"""SESSION_ENGINE when sessions live in the database alone: Django's, its read a prepared
statement (config/prepared.py). Every page of a member reads its session first, and Django
builds that query anew each time (with Redis, cached_db reads the cache instead)."""

from datetime import datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db.models import QuerySet
from django.utils import timezone

from config import prepared


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """The session, if it exists and has not expired; as Django's, which forgets the key
        otherwise."""
        found = prepared.run("session", _session, self.session_key, timezone.now())
        if found:
            return found[0]
        self._session_key = None
        return None


def _session(session_key: str, now: datetime) -> QuerySet[Session]:
    return Session.objects.filter(session_key=session_key, expire_date__gt=now)

"""Log in with a username or an email address, either in any case; every password check is
throttled (members/throttle.py)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from members import throttle
from members.models import Block


class UsernameOrEmailBackend(ModelBackend):
    """ModelBackend that also accepts the email address in the username field, and counts
    every password it checks against the log-in throttle, wherever the check comes from (the
    site's log-in, the admin's, the old password when changing it)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        User = get_user_model()
        # PostgreSQL text cannot hold NUL, so no member's name or email has one.
        user = None if "\x00" in username else User.objects.by_login(username).first()
        if user is None:
            account = throttle.unknown_account(username)
        else:
            account = throttle.member_account(user.pk)
        matched = throttle.check(
            request, scope="password", account=account, verify=lambda: _matches(user, password)
        )
        if matched and self.user_can_authenticate(user):
            return user
        if matched and user.suspension_reason and request is not None:
            # The right password of a suspended member: the log-in form tells them why
            # (members.forms.suspension), and only then, so a wrong password reveals nothing.
            request.suspended = user
        return None

    def get_user(self, user_id):
        """The logged-in member of each request, with ``in_blocks``: whether they block anyone
        or anyone blocks them. Pages then look up whose mentions not to link only for those
        few (posts.templatetags.posts.linked), in the query that loads the member anyway."""
        users = get_user_model()._default_manager.annotate(
            in_blocks=Exists(Block.objects.involving(OuterRef("pk")))
        )
        user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


def _matches(user, password: str) -> bool:
    if user is None:
        # Hash anyway, so response time does not tell which logins exist.
        get_user_model()().set_password(password)
        return False
    return user.check_password(password)

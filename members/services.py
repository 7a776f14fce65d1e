"""Writes that touch members, their photos, their follows, their addresses and passwords."""

import functools
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from activity import services as activity
from config import ratelimit
from config.after_response import after_response
from config.mail import mail_send
from config.media import objects_rolled_back, rendition_store
from members import totp
from members.models import (
    EMAIL_TAKEN,
    USERNAME_TAKEN,
    Block,
    Follow,
    FollowRequest,
    User,
    folded,
)
from posts.images import Rendition


def _unique_clash(exc: IntegrityError) -> ValidationError | None:
    """The form's "already exists" error for a username or email taken meanwhile by a
    simultaneous sign-up (which the form's own check could not see), or None."""
    # The unique constraints' names (members_user_email_ci_unique, members_user_username_…)
    # say which field clashed; PostgreSQL reports the name, SQLite puts it in the message.
    diag = getattr(exc.__cause__, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or str(exc)
    for field, message in (("email", EMAIL_TAKEN), ("username", USERNAME_TAKEN)):
        if field in constraint:
            return ValidationError({field: message})
    return None


def profile_update(*, user: User, photo: Rendition | None, remove_photo: bool) -> User:
    """Save ``user``'s edited fields, and their new (or removed) profile photo. A private
    account made public approves every pending follow request at once.

    The new photo is written first and removed again if the row cannot be saved. The photo the
    row held until now, whichever request stored it, is deleted after the commit (config.media).
    """
    with objects_rolled_back() as written:
        if photo is not None:
            rendition_store(field_file=user.avatar, rendition=photo, written=written)
        elif remove_photo:
            user.avatar = ""
        with transaction.atomic():
            # The row's lock orders this against a follow of the account deciding, from the
            # old setting, to make a request: that request is approved here, or never made.
            User.objects.select_for_update().filter(pk=user.pk).exists()
            user.save()
            if not user.is_private:
                _follow_requests_approve_all(target=user)
    return user


def _follow_requests_approve_all(*, target: User) -> None:
    """Every pending request to ``target`` becomes a follow: one INSERT … SELECT, then the
    requests go. The caller holds ``target``'s row lock."""
    follow, request = Follow._meta.db_table, FollowRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {follow} (follower_id, following_id, created) "  # noqa: S608 - table names only
            f"SELECT requester_id, target_id, %s FROM {request} WHERE target_id = %s "
            "ON CONFLICT DO NOTHING",
            [timezone.now(), target.pk],
        )
    FollowRequest.objects.filter(target=target).delete()
    activity.follow_requests_all_withdrawn(target=target)


def _locked(member: User) -> User:
    """``member``'s row, locked until the transaction ends, as it is now."""
    return User.objects.select_for_update().get(pk=member.pk)


def follow_create(*, follower: User, following: User) -> bool:
    """``follower`` follows ``following``, or, if that account is private, asks to: True if
    they now follow. Doing it again changes nothing. ValueError if either blocks the other."""
    if follower.pk == following.pk:
        raise ValueError("You can't follow yourself.")
    with transaction.atomic():
        target = _locked(following)
        if Block.objects.between(follower, target).exists():
            raise ValueError("You can't follow this account.")
        if Follow.objects.filter(follower=follower, following=target).exists():
            return True
        if target.is_private:
            _, asked = FollowRequest.objects.get_or_create(requester=follower, target=target)
            if asked:
                activity.follow_request_notify(requester=follower, target=target)
            return False
        Follow.objects.create(follower=follower, following=target)
        activity.follow_notify(follower=follower, following=target)
    return True


def follow_delete(*, follower: User, following: User) -> None:
    """``follower`` stops following ``following``; unfollowing again changes nothing."""
    with transaction.atomic():
        Follow.objects.filter(follower=follower, following=following).delete()
        activity.follow_withdraw(follower=follower, following=following)


def follow_request_create(*, requester: User, target: User) -> bool:
    """``requester`` asks to follow ``target``: follow_create, which asks a private account
    and follows a public one at once. True if they now follow."""
    return follow_create(follower=requester, following=target)


def follow_request_cancel(*, requester: User, target: User) -> None:
    """``requester`` takes back their request; cancelling again changes nothing."""
    with transaction.atomic():
        FollowRequest.objects.filter(requester=requester, target=target).delete()
        activity.follow_request_withdraw(requester=requester, target=target)


def follow_request_approve(*, target: User, requester: User) -> bool:
    """``target`` lets ``requester`` follow them; False if there was no such request (it was
    cancelled or answered meanwhile)."""
    with transaction.atomic():
        _locked(target)
        deleted, _ = FollowRequest.objects.filter(requester=requester, target=target).delete()
        if deleted:
            Follow.objects.get_or_create(follower=requester, following=target)
            activity.follow_request_approved_notify(requester=requester, target=target)
    return bool(deleted)


def follow_request_decline(*, target: User, requester: User) -> bool:
    """``target`` turns ``requester`` down, without telling them; False if there was no
    such request."""
    with transaction.atomic():
        deleted, _ = FollowRequest.objects.filter(requester=requester, target=target).delete()
        activity.follow_request_withdraw(requester=requester, target=target)
    return bool(deleted)


def follower_remove(*, user: User, follower: User) -> None:
    """``user`` removes ``follower`` from their followers, who loses access to a private
    account's posts with their next request."""
    follow_delete(follower=follower, following=user)


def block_create(*, blocker: User, blocked: User) -> None:
    """``blocker`` blocks ``blocked``: follows and pending requests between them go, both
    ways, and neither sees or reaches the other (members.models.member_visibility)."""
    if blocker.pk == blocked.pk:
        raise ValueError("You can't block yourself.")
    with transaction.atomic():
        # Both rows locked (in one order, so two blocks cannot deadlock): a follow or a
        # request made meanwhile either side (follow_create locks its target) waits for this.
        pair = User.objects.select_for_update().filter(pk__in=[blocker.pk, blocked.pk])
        list(pair.order_by("pk"))
        Block.objects.bulk_create([Block(blocker=blocker, blocked=blocked)], ignore_conflicts=True)
        both_ways = Q(follower=blocker, following=blocked) | Q(follower=blocked, following=blocker)
        Follow.objects.filter(both_ways).delete()
        FollowRequest.objects.filter(
            Q(requester=blocker, target=blocked) | Q(requester=blocked, target=blocker)
        ).delete()
        activity.between_withdraw(one=blocker, other=blocked)


def block_delete(*, blocker: User, blocked: User) -> None:
    """``blocker`` unblocks ``blocked``; what the block removed stays removed."""
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


# Email addresses: confirmation, change, and sign-up without telling who is registered.

CONFIRM_SALT = "members.email-confirm"
CONFIRM_MAX_AGE = timedelta(days=3)
RESEND_LIMIT = 3
RESEND_WINDOW = timedelta(minutes=15)
# "Someone tried to use your address" mails per owner; more tries are answered as usual, unsent.
TAKEN_NOTICE_LIMIT = 3
TAKEN_NOTICE_WINDOW = timedelta(hours=1)


def _link(site: str, name: str, **kwargs: str) -> str:
    return site + reverse(name, kwargs=kwargs)


def email_confirm_link(*, user: User, address: str, site: str) -> str:
    """A signed link that confirms ``address`` for ``user``: their current address (which it
    verifies) or the one they asked to change to (which it puts in place)."""
    token = signing.dumps({"user": user.pk, "email": address}, salt=CONFIRM_SALT)
    return _link(site, "members:email_confirm", token=token)


def _confirm_send(*, user: User, address: str, site: str, changing: bool) -> None:
    mail_send(
        to=address,
        template="confirm",
        context={
            "user": user,
            "link": email_confirm_link(user=user, address=address, site=site),
            "days": CONFIRM_MAX_AGE.days,
            "changing": changing,
        },
    )


def _address_taken(*, owner: User, site: str, changing: bool) -> None:
    """Tell the owner of an address that someone tried to use it; the one who tried is told
    nothing more than if the address were free. A few times an hour, so that nobody can use
    the form to flood an inbox."""
    owner_key = str(owner.pk)
    if not ratelimit.hit(
        "address-taken", owner_key, limit=TAKEN_NOTICE_LIMIT, window=TAKEN_NOTICE_WINDOW
    ).allowed:
        return
    mail_send(
        to=owner.email,
        template="address_taken",
        context={
            "user": owner,
            "changing": changing,
            "login_link": _link(site, "members:login"),
            "reset_link": _link(site, "members:password_reset"),
        },
    )


def member_sign_up(*, user: User, site: str) -> None:
    """Save the new member ``user`` and mail them a confirmation link. If the address belongs to
    someone already, save nothing and mail its owner instead. If the mail cannot be sent,
    nothing is saved (MailNotSent); a username taken meanwhile is a ValidationError."""
    owner = User.objects.with_email(user.email).first()
    if owner is None:
        try:
            with transaction.atomic():
                user.save()
                _confirm_send(user=user, address=user.email, site=site, changing=False)
            return
        except IntegrityError as exc:
            # Someone signed up with the same address, or the same username, at the same moment:
            # the address's owner is told as above; a username taken is the form's error.
            owner = User.objects.with_email(user.email).first()
            if owner is None:
                raise _unique_clash(exc) or exc from exc
    _address_taken(owner=owner, site=site, changing=False)


def email_verification_resend(*, user: User, site: str) -> None:
    """Mail ``user`` a new confirmation link for their address, a few times per quarter hour."""
    if user.email_verified:
        return
    hit = ratelimit.hit("email-resend", str(user.pk), limit=RESEND_LIMIT, window=RESEND_WINDOW)
    if not hit.allowed:
        raise ratelimit.Throttled(
            f"We have sent several links already. Wait {hit.minutes} minutes, and check your "
            f"spam folder.",
            hit.retry_after,
        )
    _confirm_send(user=user, address=user.email, site=site, changing=False)


def email_change_request(*, user: User, address: str, site: str) -> None:
    """Ask to move ``user`` to ``address``: a link goes to the new address (or, if it belongs to
    another member, a notice to them), a notice to the old one. Nothing changes until the link
    is followed; if a mail cannot be sent, nothing is recorded (MailNotSent)."""
    address = folded(address)
    if address == user.email:
        raise ValueError("That is already your email address.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(pending_email=address)
        owner = User.objects.with_email(address).exclude(pk=user.pk).first()
        if owner is None:
            _confirm_send(user=user, address=address, site=site, changing=True)
        else:
            _address_taken(owner=owner, site=site, changing=True)
        mail_send(
            to=user.email,
            template="email_changing",
            context={
                "user": user,
                "new_address": address,
                "reset_link": _link(site, "members:password_reset"),
            },
        )
    user.pending_email = address


def email_confirm(*, token: str) -> User:
    """Follow a confirmation link: verify the member's address, or put the address they asked
    for in place of the old one. ValueError says why a link no longer works."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        raise ValueError(
            "This link is not valid, or it is older than "
            f"{CONFIRM_MAX_AGE.days} days. Ask for a new one in your settings."
        ) from None
    address = data["email"]
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data["user"], is_active=True).first()
        if user is not None and user.email == address:
            if not user.email_verified:
                user.email_verified = True
                user.save(update_fields=["email_verified"])
            return user
        if user is None or user.pending_email != address:
            raise ValueError("This link is no longer valid: the address was changed since.")
        if User.objects.with_email(address).exclude(pk=user.pk).exists():
            raise ValueError("That address belongs to another account now.")
        user.email, user.pending_email, user.email_verified = address, "", True
        user.save(update_fields=["email", "pending_email", "email_verified"])
    return user


# Passwords and sessions.

RESET_ADDRESS_LIMIT = 10
RESET_ACCOUNT_LIMIT = 3
RESET_WINDOW = timedelta(minutes=15)


def password_reset_request(*, login: str, client: str, site: str) -> None:
    """Mail a one-time reset link to the account ``login`` names (username or email), if there
    is one, once the response is sent. Requests are limited per client address (Throttled) and
    per account (silently, so the answer never tells whether the account exists)."""
    hit = ratelimit.hit("reset-address", client, limit=RESET_ADDRESS_LIMIT, window=RESET_WINDOW)
    if not hit.allowed:
        raise ratelimit.Throttled(
            f"Too many reset requests from your network. Wait {hit.minutes} minutes and try again.",
            hit.retry_after,
        )
    user = User.objects.by_login(login).filter(is_active=True).first()
    known = user is not None and user.has_usable_password()
    # An unknown login is counted too, so that either answer takes the same steps.
    account = str(user.pk) if known else f"unknown:{login}"
    counted = ratelimit.hit(
        "reset-account", account, limit=RESET_ACCOUNT_LIMIT, window=RESET_WINDOW
    )
    if not (known and counted.allowed):
        return
    link = _link(
        site,
        "members:password_reset_confirm",
        uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
        token=default_token_generator.make_token(user),
    )
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    # After the response, or the time the mail takes would tell that the account exists. A
    # failure is logged (config.mail) and not shown: an unknown account could not show one.
    after_response(
        functools.partial(
            mail_send,
            to=user.email,
            template="password_reset",
            context={"user": user, "link": link, "minutes": minutes},
        )
    )


def sessions_end_others(*, user: User) -> None:
    """End every session of ``user``: the caller keeps its own with update_session_auth_hash."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])


# Two-factor log-in.


def two_factor_enable(*, user: User, secret: str, step: int) -> list[str]:
    """Turn two-factor log-in on for ``user`` with ``secret``, whose code of ``step`` they
    entered (so that code cannot be entered again); return the ten backup codes, to be shown
    once: only their hashes (and first characters) are kept."""
    codes, stored = totp.new_backup_codes()
    user.two_factor_secret, user.two_factor_last_step = secret, step
    user.two_factor_backup_codes = stored
    user.save(
        update_fields=["two_factor_secret", "two_factor_last_step", "two_factor_backup_codes"]
    )
    return codes


def two_factor_disable(*, user: User) -> None:
    user.two_factor_secret, user.two_factor_last_step, user.two_factor_backup_codes = "", 0, []
    user.save(
        update_fields=["two_factor_secret", "two_factor_last_step", "two_factor_backup_codes"]
    )


def two_factor_code_use(*, user: User, code: str) -> bool:
    """Whether ``code`` is a current TOTP code of ``user``'s or one of their unused backup codes,
    using it up either way: a TOTP code's step (and every step before it) is refused from now
    on, a backup code is forgotten. Two requests with one code cannot both succeed: each claims
    it with a conditional UPDATE (TOTP) or under the row's lock (backup codes)."""
    step = totp.matching_step(user.two_factor_secret, code, after=user.two_factor_last_step)
    if step is not None:
        claimed = User.objects.filter(pk=user.pk, two_factor_last_step__lt=step).update(
            two_factor_last_step=step
        )
        return claimed == 1
    with transaction.atomic():
        locked = User.objects.select_for_update().only("two_factor_backup_codes").get(pk=user.pk)
        stored = locked.two_factor_backup_codes
        index = totp.backup_code_index(stored, code)
        if index is None:
            return False
        del stored[index]
        User.objects.filter(pk=user.pk).update(two_factor_backup_codes=stored)
    user.two_factor_backup_codes = stored
    return True


# Leaving.


def member_delete(*, user: User) -> None:
    """Delete ``user`` and every row of theirs: the cascade takes their posts (and everyone's
    comments and likes on them), their comments, likes and follows both ways. Their objects
    (profile photo, every rendition) are deleted after the commit by config.media, and their
    username is free at once."""
    with transaction.atomic():
        activity.member_withdraw(member=user)
        user.delete()

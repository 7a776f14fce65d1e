"""Two-factor codes: TOTP (RFC 6238, by pyotp) and single-use backup codes. Pure functions, no
ORM: members/services.py stores what they return and records which step was used."""

import secrets
import time

import pyotp
import segno
from django.contrib.auth.hashers import check_password, make_password
from django.utils.safestring import SafeString, mark_safe

ISSUER = "Instagram"
DRIFT_STEPS = 1  # a code of the step before or after now counts too: phones' clocks drift
BACKUP_CODES = 10
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
BACKUP_LENGTH = 10
HINT_LENGTH = 2


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str) -> str:
    """The otpauth:// URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> SafeString:
    """The QR code of ``uri`` as an inline <svg> element, made here (no outside service).
    Safe to put in a page as it is: segno writes only paths and our constant title."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, light="#fff", title="QR code for your authenticator"
    )
    return mark_safe(svg)  # noqa: S308


def normalised(code: str) -> str:
    """A code as typed, without the spaces and dashes people add, in lowercase."""
    return "".join(code.split()).replace("-", "").lower()


def matching_step(secret: str, code: str, *, after: int, now: float | None = None) -> int | None:
    """The time-step, later than ``after``, whose TOTP code is ``code``; None if there is none.
    A step at or before ``after`` was used already: its code cannot be replayed."""
    code = normalised(code)
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > after and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_backup_codes() -> tuple[list[str], list[dict[str, str]]]:
    """Ten backup codes to show once, and what to store of each: its hash, and its first
    HINT_LENGTH characters, so that a code typed is hashed against one stored code, not ten
    (each check costs a password hash, about 0.3 s). The hint leaves 40 bits to guess."""
    codes = [
        "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_LENGTH))
        for _ in range(BACKUP_CODES)
    ]
    stored = [{"hint": code[:HINT_LENGTH], "hash": make_password(code)} for code in codes]
    return [f"{code[:5]}-{code[5:]}" for code in codes], stored


def backup_code_index(stored: list[dict[str, str]], code: str) -> int | None:
    """Which of the ``stored`` backup codes ``code`` is, or None. Only text shaped like a
    backup code is hashed, so a mistyped TOTP code costs no hashing."""
    code = normalised(code)
    if len(code) != BACKUP_LENGTH or not set(code) <= set(BACKUP_ALPHABET):
        return None
    for index, entry in enumerate(stored):
        if entry["hint"] == code[:HINT_LENGTH] and check_password(code, entry["hash"]):
            return index
    return None

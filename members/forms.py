"""Validate and normalise what people type into the members pages."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UsernameField
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from members import services, throttle, totp
from members.models import (
    LOGIN_MAX_LENGTH,
    RESERVED_USERNAMES,
    USERNAME_TAKEN,
    User,
    folded,
)
from posts.forms import photo_process
from posts.images import Rendition, avatar_rendition


class LowercaseUsernameField(UsernameField):
    """Usernames are lowercase, as on Instagram: "Alice" signs up as "alice"."""

    def to_python(self, value):
        return folded(super().to_python(value))


def _clean_username(form: forms.ModelForm) -> str:
    username = form.cleaned_data["username"]
    if username in RESERVED_USERNAMES:
        raise ValidationError("That username is reserved. Please choose another.")
    others = User.objects.named(username).exclude(pk=form.instance.pk)
    if others.exists():
        raise ValidationError(USERNAME_TAKEN)
    return username


class SignupForm(BaseUserCreationForm):
    """Email, full name, username and password, checked by Django's password validators.

    A registered email address is not an error here: the page must not tell who has an
    account (members.services.member_sign_up mails the address's owner instead)."""

    class Meta:
        model = User
        fields = ("email", "full_name", "username")
        field_classes = {"username": LowercaseUsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["username"].widget.attrs.update(autocapitalize="none", autocomplete="username")
        self.fields["email"].widget.attrs.update(autocomplete="email")

    def clean_username(self) -> str:
        return _clean_username(self)

    def clean_email(self) -> str:
        return address_folded(self.cleaned_data["email"])

    def _get_validation_exclusions(self) -> set[str]:
        # Skips the model's case-insensitive unique constraint on the address, too.
        return super()._get_validation_exclusions() | {"email"}


def _refused_or(request, error: ValidationError) -> ValidationError:
    """The throttle's refusal, if it refused this request's password check, else ``error``."""
    refused = throttle.refusal(request)
    return ValidationError(refused.message, code="throttled") if refused else error


def suspension(request) -> ValidationError | None:
    """Why the member whose right password this request gave is suspended, if they are (the
    authentication backend notes it)."""
    suspended = getattr(request, "suspended", None)
    if suspended is None:
        return None
    return ValidationError(
        "Your account was suspended: %(reason)s",
        code="suspended",
        params={"reason": suspended.suspension_reason},
    )


def address_folded(email: str) -> str:
    """``email`` as it is stored, checked again once folded: lowercasing can lengthen it past
    its column or make it malformed ("İ" becomes "i" and a combining dot)."""
    email = folded(email)
    User._meta.get_field("email").run_validators(email)
    return email


def password_checked(
    request: HttpRequest, user: User, password: str, incorrect: ValidationError
) -> str:
    """``password`` if it is ``user``'s, checked by the authentication backend so that the guess
    counts against the log-in throttle; else ``incorrect`` (or the throttle's refusal)."""
    checked = authenticate(request, username=user.username, password=password)
    if checked is None or checked.pk != user.pk:
        raise _refused_or(request, incorrect)
    return password


class ThrottleMessageMixin:
    """For log-in forms: say so when the throttle, not the password, refused the log-in, or
    when the right password is a suspended member's."""

    def get_invalid_login_error(self) -> ValidationError:
        return suspension(self.request) or _refused_or(
            self.request, super().get_invalid_login_error()
        )


class LoginForm(ThrottleMessageMixin, AuthenticationForm):
    """Django's login form, labelled for a username or an email address."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Username or email"
        self.fields["username"].max_length = LOGIN_MAX_LENGTH
        self.fields["username"].widget.attrs.pop("maxlength", None)
        self.error_messages["invalid_login"] = (
            "That username or email and password don't match an account. Check them and try again."
        )


class AdminLoginForm(ThrottleMessageMixin, AdminAuthenticationForm):
    """The admin's log-in form, which says when the throttle refused."""


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, with the old password checked by the authentication backend, so that
    guesses count against the log-in throttle."""

    def __init__(self, user, *args, request: HttpRequest, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        incorrect = ValidationError(
            self.error_messages["password_incorrect"], code="password_incorrect"
        )
        return password_checked(self.request, self.user, old_password, incorrect)


class AdminPasswordChangeForm(PasswordChangeForm):
    """The admin's password change form (Django's marks required fields), throttled."""

    required_css_class = "required"


class PasswordResetForm(forms.Form):
    """Whom to send a reset link: an account named by its username or its email address."""

    login = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "username"}),
    )


class EmailChangeForm(forms.Form):
    """A new address, and the password, so that an open session alone cannot take the account."""

    email = forms.EmailField(
        label="New email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, request: HttpRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    def clean_email(self) -> str:
        return address_folded(self.cleaned_data["email"])

    def clean_password(self) -> str:
        incorrect = ValidationError("That is not your password.")
        return password_checked(self.request, self.user, self.cleaned_data["password"], incorrect)


class ProfileForm(forms.ModelForm):
    """Edit what others see on the profile; a new photo is processed before anything is saved."""

    photo = forms.FileField(
        label="Profile photo",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )
    remove_photo = forms.BooleanField(label="Remove current photo", required=False)
    # "example.com" means https://example.com, as it will by default in Django 6.
    website = forms.URLField(max_length=200, required=False, assume_scheme="https")

    class Meta:
        model = User
        fields = ("full_name", "username", "website", "bio", "is_private")
        field_classes = {"username": LowercaseUsernameField}
        widgets = {"bio": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Nothing to remove: the choice would only puzzle, and do nothing.
        if not self.instance.avatar:
            del self.fields["remove_photo"]

    def clean_username(self) -> str:
        return _clean_username(self)

    def clean_photo(self) -> Rendition | None:
        upload = self.cleaned_data.get("photo")
        return photo_process(upload, avatar_rendition) if upload else None


# Two-factor codes, checked through the throttle like passwords.

CODE_WRONG = "That code is not right, or it was used already."


def _code_field() -> forms.CharField:
    return forms.CharField(
        label="Code from your app, or a backup code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "none"}
        ),
    )


def code_checked(request: HttpRequest, user: User, verify) -> None:
    """Pass if ``verify()`` (which checks a code of ``user``'s) does, counted against the
    two-factor throttle; else raise the form's error, or the throttle's refusal."""
    try:
        matched = throttle.check(
            request,
            scope="two-factor",
            account=throttle.member_account(user.pk),
            verify=verify,
            attempts="code entries",
        )
    except throttle.Throttled as refused:
        raise ValidationError(refused.message, code="throttled") from None
    if not matched:
        raise ValidationError(CODE_WRONG, code="code_wrong")


class TwoFactorCodeForm(forms.Form):
    """A code of ``user``'s (from the app, or a backup code), used up when it is accepted."""

    code = _code_field()

    def __init__(self, *args, user: User, request: HttpRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    def clean(self):
        cleaned = super().clean()
        # Only once everything else is right, so a form refused for another reason uses no code.
        if not self.errors and self.user.two_factor_on:
            code = cleaned["code"]
            code_checked(
                self.request,
                self.user,
                lambda: services.two_factor_code_use(user=self.user, code=code),
            )
        return cleaned


class TwoFactorEnableForm(forms.Form):
    """The first code from the app, which proves it holds ``secret``."""

    code = forms.CharField(
        label="Code from your app",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, user: User, secret: str, request: HttpRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.secret, self.request = user, secret, request
        self.step = None

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]

        def verify() -> bool:
            self.step = totp.matching_step(self.secret, code, after=0)
            return self.step is not None

        code_checked(self.request, self.user, verify)
        return code


class PasswordAndCodeForm(TwoFactorCodeForm):
    """The password, and a code when two-factor log-in is on: for turning it off, and for
    deleting the account."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["password", "code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.user.two_factor_on:
            del self.fields["code"]

    def clean_password(self) -> str:
        incorrect = ValidationError("That is not your password.")
        return password_checked(self.request, self.user, self.cleaned_data["password"], incorrect)

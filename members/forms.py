"""Validate and normalise what people type into the members pages."""

from datetime import timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UsernameField
from django.core.exceptions import ValidationError

from members import limits, throttle
from members.models import RESERVED_USERNAMES, User
from posts.forms import photo_process
from posts.images import Rendition, avatar_rendition

# Password checks outside the log-in page: at most CHECK_LIMIT per account in CHECK_WINDOW.
CHECK_LIMIT = 10
CHECK_WINDOW = timedelta(minutes=15)


class LowercaseUsernameField(UsernameField):
    """Usernames are lowercase, as on Instagram: "Alice" signs up as "alice"."""

    def to_python(self, value):
        return super().to_python(value).lower()


def _clean_username(form: forms.ModelForm) -> str:
    username = form.cleaned_data["username"]
    if username in RESERVED_USERNAMES:
        raise ValidationError("That username is reserved. Please choose another.")
    others = User.objects.named(username).exclude(pk=form.instance.pk)
    if others.exists():
        raise ValidationError("A user with that username already exists.")
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
        return self.cleaned_data["email"].strip().lower()

    def _get_validation_exclusions(self) -> set[str]:
        # Skips the model's case-insensitive unique constraint on the address, too.
        return super()._get_validation_exclusions() | {"email"}


class LoginForm(AuthenticationForm):
    """Django's login form, labelled for a username or an email address, and throttled."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Username or email"
        self.fields["username"].max_length = 254
        self.fields["username"].widget.attrs.pop("maxlength", None)
        self.error_messages["invalid_login"] = (
            "That username or email and password don't match an account. Check them and try again."
        )

    def clean(self):
        account = throttle.account_key(self.cleaned_data.get("username") or "")
        address = throttle.client_address(self.request)
        refusal = throttle.login_blocked(account=account, address=address)
        if refusal:
            raise ValidationError(refusal, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if exc.code == "invalid_login":
                throttle.login_failed(account=account, address=address)
            raise
        throttle.login_succeeded(account=account)
        return cleaned


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

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not limits.hit(
            "password-check", str(self.user.pk), limit=CHECK_LIMIT, window=CHECK_WINDOW
        ):
            minutes = int(CHECK_WINDOW.total_seconds() // 60)
            raise ValidationError(f"Too many tries. Wait {minutes} minutes and try again.")
        if not self.user.check_password(password):
            raise ValidationError("That is not your password.")
        return password


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
        fields = ("full_name", "username", "website", "bio")
        field_classes = {"username": LowercaseUsernameField}
        widgets = {"bio": forms.Textarea(attrs={"rows": 3})}

    def clean_username(self) -> str:
        return _clean_username(self)

    def clean_photo(self) -> Rendition | None:
        upload = self.cleaned_data.get("photo")
        return photo_process(upload, avatar_rendition) if upload else None

"""Validate and normalise what people type into the members pages."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UsernameField
from django.core.exceptions import ValidationError

from members import throttle
from members.models import LOGIN_MAX_LENGTH, RESERVED_USERNAMES, User, folded
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
        raise ValidationError("A user with that username already exists.")
    return username


def _clean_email(form: forms.ModelForm) -> str:
    email = folded(form.cleaned_data["email"])
    if User.objects.with_email(email).exclude(pk=form.instance.pk).exists():
        raise ValidationError("An account with that email address already exists.")
    return email


class SignupForm(BaseUserCreationForm):
    """Email, full name, username and password, checked by Django's password validators."""

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
        return _clean_email(self)


class LoginForm(AuthenticationForm):
    """Django's login form, labelled for a username or an email address, and throttled."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Username or email"
        self.fields["username"].max_length = LOGIN_MAX_LENGTH
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
        fields = ("full_name", "username", "email", "website", "bio")
        field_classes = {"username": LowercaseUsernameField}
        widgets = {"bio": forms.Textarea(attrs={"rows": 3})}

    def clean_username(self) -> str:
        return _clean_username(self)

    def clean_email(self) -> str:
        return _clean_email(self)

    def clean_photo(self) -> Rendition | None:
        upload = self.cleaned_data.get("photo")
        return photo_process(upload, avatar_rendition) if upload else None

"""Validate what members and moderators send: a report, and an action on the queue."""

from django import forms
from django.core.exceptions import ValidationError

from moderation.models import KINDS, REPORT_TEXT_MAX_LENGTH, Reason

ACTIONS = ("dismiss", "hide", "delete", "suspend", "restore")
REASON_MAX_LENGTH = 1000


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why are you reporting this?", choices=Reason.choices, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label="Tell us more",
        required=False,
        max_length=REPORT_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == Reason.OTHER and not cleaned.get("text", "").strip():
            self.add_error("text", "Tell us what is wrong with it.")
        return cleaned


class ActionForm(forms.Form):
    """A moderator's action on one target of the queue."""

    kind = forms.ChoiceField(choices=[(kind, kind) for kind in KINDS])
    target = forms.IntegerField(min_value=1)
    action = forms.ChoiceField(choices=[(action, action) for action in ACTIONS])
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH)
    # Sent by the confirmation page: a delete is asked about first, since it cannot be undone.
    confirmed = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        action, kind = cleaned.get("action"), cleaned.get("kind")
        if action in ("hide", "delete") and kind == "account":
            raise ValidationError("An account is suspended, not hidden or deleted.")
        if action == "suspend" and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Say why: the member reads it when they try to log in.")
        return cleaned

"""The moderation queue and the audit log, in the admin.

The queue is the Report changelist, replaced by a page of open reports grouped by what they
name, with a form per group for the actions; a delete asks for confirmation first. Each action
needs its own permission (see the Moderators group, migration 0001), so a moderator needs no
permission on users or posts."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from members.models import User
from moderation import selectors, services
from moderation.forms import ActionForm
from moderation.models import AuditEntry, Report
from posts.models import Comment, Post

MODELS: dict[str, type[models.Model]] = {"post": Post, "comment": Comment, "account": User}
# The permission each action needs, by the kind of target it is taken on.
PERMISSIONS = {
    "dismiss": "moderation.change_report",
    "hide": "moderation.hide_content",
    "delete": "moderation.delete_content",
    "suspend": "moderation.suspend_member",
}


def permission_for(action: str, kind: str) -> str:
    if action == "restore":
        return PERMISSIONS["suspend" if kind == "account" else "hide"]
    return PERMISSIONS[action]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Reports are written by members and closed by actions, never edited one by one."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_act"
        act = self.admin_site.admin_view(require_POST(self.act_view))
        return [path("act/", act, name=name), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        user = request.user
        context = {
            **self.admin_site.each_context(request),
            "title": "Moderation queue",
            "opts": self.opts,
            "cases": selectors.report_queue(),
            "acted": selectors.moderation_acted_on(),
            "act_url": reverse(f"{self.admin_site.name}:moderation_report_act"),
            "can": {
                action: user.has_perm(permission) for action, permission in PERMISSIONS.items()
            },
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/moderation/queue.html", context)

    def act_view(self, request: HttpRequest) -> HttpResponse:
        """One action on one target, for a moderator with that action's permission."""
        back = reverse(f"{self.admin_site.name}:moderation_report_changelist")
        form = ActionForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(error for errors in form.errors.values() for error in errors)
            self.message_user(request, errors, messages.ERROR)
            return HttpResponseRedirect(back)
        kind, action = form.cleaned_data["kind"], form.cleaned_data["action"]
        if not request.user.has_perm(permission_for(action, kind)):
            raise PermissionDenied
        target = get_object_or_404(MODELS[kind], pk=form.cleaned_data["target"])
        if action == "delete" and not form.cleaned_data["confirmed"]:
            return self._delete_confirmation(request, kind, target, form.cleaned_data["reason"])
        try:
            entry = self._act(request.user, action, target, form.cleaned_data["reason"])
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"{entry.get_action_display()} {entry.target_label}.")
        return HttpResponseRedirect(back)

    def _delete_confirmation(
        self, request: HttpRequest, kind: str, target: models.Model, reason: str
    ) -> HttpResponse:
        """The page that asks before a delete, as the admin's delete_selected does: what goes
        with the target, and a button that sends the same action again, confirmed."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Are you sure?",
            "opts": self.opts,
            "kind": kind,
            "target": target,
            "reason": reason,
            "counts": selectors.deletion_counts(target),
            "act_url": request.path,
            "queue_url": reverse(f"{self.admin_site.name}:moderation_report_changelist"),
        }
        return TemplateResponse(request, "admin/moderation/delete_confirmation.html", context)

    def _act(self, moderator: User, action: str, target: models.Model, reason: str) -> AuditEntry:
        if action == "dismiss":
            return services.reports_dismiss(moderator=moderator, target=target, reason=reason)
        if action == "hide":
            return services.content_hide(moderator=moderator, target=target, reason=reason)
        if action == "delete":
            return services.content_delete(moderator=moderator, target=target, reason=reason)
        if action == "suspend":
            if isinstance(target, User):
                return services.member_suspend(moderator=moderator, member=target, reason=reason)
            return services.member_suspend(
                moderator=moderator, member=target.author, reason=reason, reported=target
            )
        if isinstance(target, User):
            return services.member_reactivate(moderator=moderator, member=target, reason=reason)
        return services.content_restore(moderator=moderator, target=target, reason=reason)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only, for everyone, superusers included: the log of what moderators did."""

    list_display = ("created", "moderator_name", "action", "target_label", "reason", "reports")
    list_filter = ("action", "target_kind")
    search_fields = ("moderator_name", "target_label", "reason")
    date_hierarchy = "created"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

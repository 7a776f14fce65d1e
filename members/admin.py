from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.utils.html import format_html

from activity import services as activity
from members import services
from members.models import Block, Follow, FollowRequest, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the profile fields and the photo shown, not uploaded raw."""

    list_display = ("avatar_thumbnail", "username", "email", "full_name", "is_staff", "date_joined")
    list_display_links = ("avatar_thumbnail", "username")
    search_fields = ("username", "email", "full_name")
    readonly_fields = ("avatar_preview", "two_factor", "last_login", "date_joined")
    actions = ["two_factor_turn_off"]
    # As the profile form does: "example.com" typed by a moderator becomes an https link.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("full_name", "email", "website", "bio", "avatar_preview")}),
        ("Email", {"fields": ("email_verified", "pending_email")}),
        ("Two-factor log-in", {"fields": ("two_factor",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change):
        """Unticking Active takes what the member did off everyone's activity badge, as a
        moderator's suspension does (their content is then hidden from all)."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            activity.suspended_withdraw(member=obj)

    @admin.display(description="Photo")
    def avatar_thumbnail(self, user: User) -> str:
        if not user.avatar:
            return "—"
        return format_html('<img src="{}" width="32" height="32" alt="">', user.avatar.url)

    @admin.display(description="Profile photo")
    def avatar_preview(self, user: User) -> str:
        if not user.avatar:
            return "No photo"
        return format_html('<img src="{}" width="160" height="160" alt="">', user.avatar.url)

    @admin.display(description="Two-factor log-in")
    def two_factor(self, user: User) -> str:
        if not user.two_factor_on:
            return "Off"
        return f"On, {len(user.two_factor_backup_codes)} backup codes left"

    @admin.action(description="Turn off two-factor log-in (a member who lost their phone)")
    def two_factor_turn_off(self, request, queryset) -> None:
        """For a member who lost both their phone and their backup codes, once staff know
        it is them: they log in with the password alone and can turn it on again."""
        members = list(queryset)
        for member in members:
            services.two_factor_disable(user=member)
        self.message_user(
            request, f"Two-factor log-in is off for {len(members)} members.", messages.SUCCESS
        )


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "following", "created")
    search_fields = ("follower__username", "following__username")
    raw_id_fields = ("follower", "following")
    date_hierarchy = "created"


class _ReadOnlyAdmin(admin.ModelAdmin):
    """A list to look things up in: members make and withdraw these rows themselves, through
    the services that keep their activity entries in step, never staff by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FollowRequest)
class FollowRequestAdmin(_ReadOnlyAdmin):
    list_display = ("requester", "target", "created")
    list_select_related = ("requester", "target")
    search_fields = ("requester__username", "target__username")
    date_hierarchy = "created"


@admin.register(Block)
class BlockAdmin(_ReadOnlyAdmin):
    list_display = ("blocker", "blocked", "created")
    list_select_related = ("blocker", "blocked")
    search_fields = ("blocker__username", "blocked__username")
    date_hierarchy = "created"

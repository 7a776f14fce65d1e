from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.html import format_html

from members.models import Follow, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the profile fields and the photo shown, not uploaded raw."""

    list_display = ("avatar_thumbnail", "username", "email", "full_name", "is_staff", "date_joined")
    list_display_links = ("avatar_thumbnail", "username")
    search_fields = ("username", "email", "full_name")
    readonly_fields = ("avatar_preview", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("full_name", "email", "website", "bio", "avatar_preview")}),
        ("Email", {"fields": ("email_verified", "pending_email")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )

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


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "following", "created")
    search_fields = ("follower__username", "following__username")
    raw_id_fields = ("follower", "following")
    date_hierarchy = "created"

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.contrib.auth.signals import user_logged_in


class MembersConfig(AppConfig):
    default = True
    name = "members"
    verbose_name = "Members"

    def ready(self) -> None:
        from members.throttle import remember_device

        user_logged_in.connect(remember_device, dispatch_uid="members.remember_device")


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin on the site's own AdminSite, whose password checks are throttled.
    Installed by name (settings.INSTALLED_APPS), so not this module's default."""

    default = False
    default_site = "members.sites.AdminSite"

"""The admin site: Django's, with every password it checks going through the log-in throttle."""

from django.contrib import admin
from django.urls import reverse

from members.forms import AdminLoginForm, AdminPasswordChangeForm


class AdminSite(admin.AdminSite):
    """Log-in and password change whose forms check passwords through the authentication
    backend, and say when the throttle refused."""

    login_form = AdminLoginForm

    def password_change(self, request, extra_context=None):
        # Django's own view hard-codes a form that checks the old password itself.
        from members.views import PasswordChangeView

        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=AdminPasswordChangeForm,
            template_name=self.password_change_template or "registration/password_change_form.html",
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

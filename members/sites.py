"""The admin site: Django's, with every password it checks going through the log-in throttle,
and its log-in asking for a two-factor code as the site's does."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from members.forms import AdminLoginForm, AdminPasswordChangeForm


class AdminSite(admin.AdminSite):
    """Log-in and password change whose forms check passwords through the authentication
    backend, and say when the throttle refused."""

    login_form = AdminLoginForm

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        """Django's admin log-in, run by the site's TwoFactorLoginView: Django's own view
        hard-codes auth's LoginView, which would log a member with two-factor on straight in."""
        from members.views.account import TwoFactorLoginView

        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        request.current_app = self.name
        return TwoFactorLoginView.as_view(
            extra_context={**context, **(extra_context or {})},
            authentication_form=self.login_form,
            template_name=self.login_template or "admin/login.html",
        )(request)

    def password_change(self, request, extra_context=None):
        # Django's own view hard-codes a form that checks the old password itself.
        from members.views.account import PasswordChangeView

        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=AdminPasswordChangeForm,
            template_name=self.password_change_template or "registration/password_change_form.html",
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

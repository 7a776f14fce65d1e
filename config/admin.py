from django.contrib import admin

from config.models import RateCounter


@admin.register(RateCounter)
class RateCounterAdmin(admin.ModelAdmin):
    """Recent counts of rate-limited events (log-in failures, sign-ups), for spotting abuse;
    deleting a row lifts its share of a limit."""

    list_display = ("scope", "label", "count", "window_start")
    list_filter = ("scope",)
    search_fields = ("label",)
    readonly_fields = ("scope", "label", "digest", "count", "window_start", "expires")
    date_hierarchy = "window_start"

    def has_add_permission(self, request) -> bool:
        return False

from django.urls import path

from activity import views

app_name = "activity"
urlpatterns = [
    path("accounts/activity/", views.activity, name="activity"),
]

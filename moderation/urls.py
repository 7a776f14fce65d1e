from django.urls import path

from moderation import views

app_name = "moderation"
urlpatterns = [
    path("p/<str:code>/report/", views.report_post, name="report_post"),
    path(
        "p/<str:code>/comments/<int:comment_id>/report/",
        views.report_comment,
        name="report_comment",
    ),
    path("<str:username>/report/", views.report_account, name="report_account"),
]

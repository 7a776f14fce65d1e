from django.urls import path

from posts import views

app_name = "posts"
urlpatterns = [
    path("", views.feed, name="feed"),
    path("posts/new/", views.post_new, name="new"),
    path("p/<str:code>/", views.detail, name="detail"),
    path("p/<str:code>/edit/", views.edit, name="edit"),
    path("p/<str:code>/delete/", views.delete, name="delete"),
    path("p/<str:code>/like/", views.like, name="like"),
    path("p/<str:code>/likes/", views.likes, name="likes"),
    path("p/<str:code>/save/", views.save, name="save"),
    path("p/<str:code>/comments/", views.comment, name="comment"),
    path(
        "p/<str:code>/comments/<int:comment_id>/delete/",
        views.comment_delete,
        name="comment_delete",
    ),
    path("explore/", views.explore, name="explore"),
    path("explore/tags/<str:name>/", views.tag, name="tag"),
    path("<str:username>/saved/", views.saved, name="saved"),
]

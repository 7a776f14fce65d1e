from django.urls import path

from members import views

app_name = "members"
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/edit/", views.profile_edit, name="edit"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password"),
    # Profiles last: /<username>/ would otherwise shadow every other one-segment URL.
    path("<str:username>/", views.profile, name="profile"),
    path("<str:username>/followers/", views.followers, name="followers"),
    path("<str:username>/following/", views.following, name="following"),
    path("<str:username>/follow/", views.follow, name="follow"),
    path("<str:username>/unfollow/", views.unfollow, name="unfollow"),
]

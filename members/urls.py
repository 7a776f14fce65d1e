from django.urls import path

from members import views

app_name = "members"
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/done/", views.signup_done, name="signup_done"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/login/code/", views.login_code, name="login_code"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/edit/", views.profile_edit, name="edit"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password"),
    path("accounts/password/reset/", views.password_reset, name="password_reset"),
    path("accounts/password/reset/sent/", views.password_reset_sent, name="password_reset_sent"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/settings/", views.account_settings, name="settings"),
    path("accounts/email/", views.email_change, name="email_change"),
    path("accounts/email/resend/", views.email_verify_resend, name="email_resend"),
    path("accounts/email/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("accounts/two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/off/", views.two_factor_disable, name="two_factor_disable"),
    path("accounts/download/", views.account_download, name="download"),
    path("accounts/delete/", views.account_delete, name="delete"),
    path(
        "accounts/requests/<str:username>/approve/",
        views.follow_request_approve,
        name="follow_request_approve",
    ),
    path(
        "accounts/requests/<str:username>/decline/",
        views.follow_request_decline,
        name="follow_request_decline",
    ),
    path(
        "accounts/followers/<str:username>/remove/", views.follower_remove, name="follower_remove"
    ),
    path("accounts/sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    # Profiles last: /<username>/ would otherwise shadow every other one-segment URL.
    path("<str:username>/", views.profile, name="profile"),
    path("<str:username>/followers/", views.followers, name="followers"),
    path("<str:username>/following/", views.following, name="following"),
    path("<str:username>/follow/", views.follow, name="follow"),
    path("<str:username>/unfollow/", views.unfollow, name="unfollow"),
    path("<str:username>/follow/cancel/", views.follow_request_cancel, name="follow_cancel"),
    path("<str:username>/block/", views.block, name="block"),
    path("<str:username>/unblock/", views.unblock, name="unblock"),
]

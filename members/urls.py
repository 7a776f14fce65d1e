from django.urls import path

from members.views import account, profile, relations, settings

app_name = "members"
urlpatterns = [
    path("accounts/signup/", account.signup, name="signup"),
    path("accounts/signup/done/", account.signup_done, name="signup_done"),
    path("accounts/login/", account.LoginView.as_view(), name="login"),
    path("accounts/login/code/", account.login_code, name="login_code"),
    path("accounts/logout/", account.LogoutView.as_view(), name="logout"),
    path("accounts/edit/", profile.profile_edit, name="edit"),
    path("accounts/password/", account.PasswordChangeView.as_view(), name="password"),
    path("accounts/password/reset/", account.password_reset, name="password_reset"),
    path("accounts/password/reset/sent/", account.password_reset_sent, name="password_reset_sent"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        account.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/settings/", settings.account_settings, name="settings"),
    path("accounts/email/", settings.email_change, name="email_change"),
    path("accounts/email/resend/", settings.email_verify_resend, name="email_resend"),
    path("accounts/email/confirm/<str:token>/", settings.email_confirm, name="email_confirm"),
    path("accounts/two-factor/", settings.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/off/", settings.two_factor_disable, name="two_factor_disable"),
    path("accounts/download/", settings.account_download, name="download"),
    path("accounts/delete/", settings.account_delete, name="delete"),
    path(
        "accounts/requests/<str:username>/approve/",
        relations.follow_request_approve,
        name="follow_request_approve",
    ),
    path(
        "accounts/requests/<str:username>/decline/",
        relations.follow_request_decline,
        name="follow_request_decline",
    ),
    path(
        "accounts/followers/<str:username>/remove/",
        relations.follower_remove,
        name="follower_remove",
    ),
    path("accounts/sessions/end-others/", settings.sessions_end_others, name="sessions_end_others"),
    # Profiles last: /<username>/ would otherwise shadow every other one-segment URL.
    path("<str:username>/", profile.profile, name="profile"),
    path("<str:username>/followers/", profile.followers, name="followers"),
    path("<str:username>/following/", profile.following, name="following"),
    path("<str:username>/follow/", relations.follow, name="follow"),
    path("<str:username>/unfollow/", relations.unfollow, name="unfollow"),
    path("<str:username>/follow/cancel/", relations.follow_request_cancel, name="follow_cancel"),
    path("<str:username>/block/", relations.block, name="block"),
    path("<str:username>/unblock/", relations.unblock, name="unblock"),
]
